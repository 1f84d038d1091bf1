"""The real ``ideabot run`` does not let slow or many connections hold it: 408 and 503."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.doubles.slack_api import SlackEvents, SlackWebApiDouble
from tests.e2e.bot_process import BotProcess
from tests.e2e.conftest import BotFactory
from tests.helpers.slack_staff import slack_settings

# Small, so the test is quick; long enough for the other requests to be served meanwhile.
DEADLINE_SECONDS = 3
# Bounds on waiting for an answer: well past the deadline, and never for ever.
ANSWER_WITHIN_SECONDS = DEADLINE_SECONDS + 7


class StalledRequest:
    """A POST whose headers and half its body are sent, and then nothing more."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def send(cls, bot: BotProcess, *, chunked: bool = False) -> StalledRequest:
        reader, writer = await asyncio.open_connection("127.0.0.1", bot.port)
        half = b'{"type": "event_callback", "event": {"text": "Wobblecorn'
        length = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: 4096"
        body = f"{len(half):x}\r\n".encode() + half + b"\r\n" if chunked else half
        writer.write(
            b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n" + length + b"\r\n\r\n" + body
        )
        await writer.drain()
        return cls(reader, writer)

    async def answer(self) -> bytes:
        """Everything the server sends until it closes the connection."""
        try:
            return await asyncio.wait_for(self.reader.read(), ANSWER_WITHIN_SECONDS)
        finally:
            self.writer.close()


async def start(bot_factory: BotFactory, slack_api: SlackWebApiDouble, **extra: str) -> BotProcess:
    bot = bot_factory(
        **slack_settings(slack_api), HTTP_BODY_TIMEOUT_SECONDS=str(DEADLINE_SECONDS), **extra
    )
    await bot.start()
    return bot


async def test_a_stalled_body_gets_408_within_the_deadline_while_others_are_served(
    bot_factory: BotFactory, slack_api: SlackWebApiDouble
) -> None:
    bot = await start(bot_factory, slack_api)
    started = time.monotonic()
    stalled = [await StalledRequest.send(bot), await StalledRequest.send(bot, chunked=True)]
    async with httpx.AsyncClient(base_url=bot.url, timeout=5) as client:
        assert (await client.get("/healthz")).status_code == 200
        unsigned = await client.post("/slack/events", content=b"{}")
        assert unsigned.status_code == 401
    signed = await SlackEvents(url=f"{bot.url}/slack/events").post(
        '{"type": "url_verification", "challenge": "c"}', content_type="application/json"
    )
    assert signed.status_code == 200
    served_meanwhile = time.monotonic() - started
    assert served_meanwhile < DEADLINE_SECONDS, "the others were not served before the deadline"
    for request in stalled:
        answer = await request.answer()  # the server closed the connection after it
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b"connection: close" in answer.lower()
    assert time.monotonic() - started < ANSWER_WITHIN_SECONDS
    log = bot.log()
    assert log.count("its body did not arrive within 3.0 s") == 2
    assert "Wobblecorn" not in log
    assert "Traceback" not in log


async def test_over_the_connection_limit_the_server_answers_503_and_recovers(
    bot_factory: BotFactory, slack_api: SlackWebApiDouble
) -> None:
    bot = await start(bot_factory, slack_api, HTTP_MAX_CONNECTIONS="3")
    stalled = [await StalledRequest.send(bot), await StalledRequest.send(bot)]
    async with httpx.AsyncClient(base_url=bot.url, timeout=5) as client:
        # uvicorn counts the new connection too: two held and this one make three.
        assert (await client.get("/healthz")).status_code == 503
    for request in stalled:
        assert (await request.answer()).startswith(b"HTTP/1.1 408 ")
    async with httpx.AsyncClient(base_url=bot.url, timeout=5) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200
