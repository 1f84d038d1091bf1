"""The real ``ideabot run`` refuses bad requests early, and keeps them out of its logs."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests.doubles.slack_api import SlackPerson, SlackWebApiDouble
from tests.e2e.bot_process import BotProcess
from tests.e2e.conftest import BotFactory
from tests.helpers.slack_staff import events_to, start_bot
from tests.helpers.telegram_webhook import SECRET

HUGE = 64 * 1024 * 1024
LIMIT = 2 * 1024 * 1024
# Memory the process may gain while refusing a 64 MB body: far less than the body itself.
RSS_SLACK_KB = 30 * 1024
KARI = SlackPerson("U0KARI", "Kari Kunde")


def rss_kb(bot: BotProcess) -> int:
    assert bot.process is not None
    status = Path(f"/proc/{bot.process.pid}/status").read_text()
    (line,) = [line for line in status.splitlines() if line.startswith("VmRSS:")]
    return int(line.split()[1])


def log_lines(bot: BotProcess) -> list[str]:
    return bot.log().splitlines()


async def post(url: str, content: bytes, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=content, headers=headers, timeout=30)


async def test_a_huge_unsigned_body_is_refused_before_it_is_read(
    bot_factory: BotFactory, slack_api: SlackWebApiDouble
) -> None:
    bot = await start_bot(bot_factory, slack_api)
    url = f"{bot.url}/slack/events"
    await post(url, b"{}")  # one small request first, so the idle figure includes serving one
    idle = rss_kb(bot)
    started = time.monotonic()
    declared = await post(url, b"x" * HUGE, **{"content-type": "application/json"})
    assert declared.status_code == 413
    assert time.monotonic() - started < 10

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(HUGE // (1024 * 1024)):
            yield b"y" * (1024 * 1024)

    async with httpx.AsyncClient() as client:  # no Content-Length: counted as it streams
        streamed = await client.post(url, content=chunks(), timeout=30)
    assert streamed.status_code == 413
    assert rss_kb(bot) - idle < RSS_SLACK_KB
    # Just under the limit is read, and then refused for want of a signature.
    assert (await post(url, b" " * (LIMIT - 1))).status_code == 401
    assert (await post(f"{bot.url}/healthz", b"")).status_code == 405  # still serving


async def test_unsigned_requests_of_any_shape_get_401_and_one_clean_log_line(
    bot_factory: BotFactory, slack_api: SlackWebApiDouble
) -> None:
    bot = await start_bot(bot_factory, slack_api)
    url = f"{bot.url}/slack/events"
    forged = "2030-01-01 00:00:00,000 INFO bot.app: forged line, an admin logged in"
    bodies = [
        (b'{"type": "event_callback", "event": ', "application/json"),
        (b"", "application/json"),
        (b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        (f'{{"x": 1}}\n{forged}\n'.encode(), "application/json"),
        (b"\xff\xfe not utf-8", "application/json"),
    ]
    for body, content_type in bodies:
        response = await post(url, body, **{"content-type": content_type})
        assert (response.status_code, response.json()) == (401, {"error": "invalid request"})
    bad_signature = await post(
        url,
        b'{"type": "event_callback"}',
        **{"x-slack-request-timestamp": str(int(time.time())), "x-slack-signature": "v0=00"},
    )
    assert bad_signature.status_code == 401
    not_a_number = await post(
        url, b"{}", **{"x-slack-request-timestamp": "soon", "x-slack-signature": "v0=00"}
    )
    assert not_a_number.status_code == 401

    lines = log_lines(bot)
    assert not any("forged line" in line for line in lines)
    assert not any("Traceback" in line or " ERROR " in line for line in lines), bot.log()
    refused = [line for line in lines if "refused a Slack request" in line]
    assert len(refused) == len(bodies) + 2
    assert sum("it is not signed" in line for line in refused) == len(bodies)


async def test_a_stale_signed_event_is_refused_without_its_words_in_the_log(
    bot_factory: BotFactory, slack_api: SlackWebApiDouble
) -> None:
    bot = await start_bot(bot_factory, slack_api)
    slack_api.add(KARI)
    events = events_to(bot)
    secret_word = "Wobblecorn"
    envelope = events.envelope(
        {
            "type": "message",
            "channel": KARI.dm_channel,
            "channel_type": "im",
            "user": KARI.user_id,
            "team": KARI.team_id,
            "text": f"My idea: {secret_word} for everyone",
            "ts": events.next_ts(),
        }
    )
    stale = await events.post(
        json.dumps(envelope), content_type="application/json", timestamp=int(time.time()) - 600
    )
    assert stale.status_code == 401
    # The same event, fresh, is Slack's: it is taken.
    fresh = await events.post(json.dumps(envelope), content_type="application/json")
    assert fresh.status_code == 200
    await slack_api.wait_until(lambda: bool(slack_api.posts_in(KARI.dm_channel)))
    assert secret_word not in bot.log()
    assert "its timestamp is more than five minutes off" in bot.log()


async def test_telegram_webhook_refuses_oversized_bodies_and_non_updates(
    bot_factory: BotFactory,
) -> None:
    bot = bot_factory(TELEGRAM_WEBHOOK_SECRET=SECRET)
    url = f"{bot.url}/telegram/webhook"
    bot.environment["TELEGRAM_WEBHOOK_URL"] = url
    await bot.start()
    signed = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    big = await post(url, b"[" + b"1," * LIMIT + b"1]", **signed)
    assert big.status_code == 413
    wrong = await post(url, b"{}", **{"X-Telegram-Bot-Api-Secret-Token": "not-the-secret-at-all"})
    assert wrong.status_code == 403
    for junk in ['"Wobblecorn"', '{"update_id": "Wobblecorn"}']:
        assert (await post(url, junk.encode(), **signed)).status_code == 400
    # An update PTB cannot read is put aside (dead letters) and confirmed, not sent for ever.
    unreadable = await post(url, b'{"update_id": 5, "message": "Wobblecorn"}', **signed)
    assert unreadable.status_code == 200
    assert "Wobblecorn" not in bot.log()
    assert "Traceback" not in bot.log()


# Far deeper than any real update or event, far under the body limit.
DEEP = 50_000


async def test_a_deeply_nested_webhook_body_gets_400_without_a_traceback(
    bot_factory: BotFactory,
) -> None:
    bot = bot_factory(TELEGRAM_WEBHOOK_SECRET=SECRET)
    url = f"{bot.url}/telegram/webhook"
    bot.environment["TELEGRAM_WEBHOOK_URL"] = url
    await bot.start()
    signed = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    for deep in [
        b"[" * DEEP + b"]" * DEEP,
        b'{"update_id": 7, "message": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}",
        b'{"update_id": 8, "message": ' + b"[" * 900 + b"]" * 900 + b"}",
    ]:
        assert (await post(url, deep, **signed)).status_code == 400
    assert (await post(f"{bot.url}/healthz", b"")).status_code == 405  # still serving
    assert "Traceback" not in bot.log()
    assert " ERROR " not in bot.log()


async def test_a_deeply_nested_signed_slack_body_gets_400_without_a_traceback(
    bot_factory: BotFactory, slack_api: SlackWebApiDouble
) -> None:
    bot = await start_bot(bot_factory, slack_api)
    events = events_to(bot)
    nested = '{"type": "event_callback", "event": ' + "[" * DEEP + "]" * DEEP + "}"
    payload = "[" * 900 + "]" * 900
    for body, content_type in [
        (nested, "application/json"),
        ("[" * DEEP + "]" * DEEP, "application/json"),
        (f"payload={'%5B' * DEEP}{'%5D' * DEEP}", "application/x-www-form-urlencoded"),
        (
            f'payload={{"type": "block_actions", "x": {payload}}}',
            "application/x-www-form-urlencoded",
        ),
    ]:
        response = await events.post(body, content_type=content_type)
        assert response.status_code == 400, body[:40]
    assert "Traceback" not in bot.log(), bot.log()
    assert " ERROR " not in bot.log()
    # A normal event is still taken.
    slack_api.add(KARI)
    response, _ = await events.event(
        {
            "type": "message",
            "channel": KARI.dm_channel,
            "channel_type": "im",
            "user": KARI.user_id,
            "team": KARI.team_id,
            "text": "hello",
            "ts": events.next_ts(),
        }
    )
    assert response.status_code == 200
