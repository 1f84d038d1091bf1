"""A Telegram deep link (``/start <flow>``) starts that flow in a real ``ideabot run``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import SHIPPED_FLOWS
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import BotFactory
from tests.helpers.cli import ideabot

DEFAULT_QUESTION = "What would you like us to improve or create?"
CAMPAIGN_QUESTION = "Which feature should our spring release bring?"


async def test_a_start_link_opens_its_flow_and_an_unknown_one_the_default(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, tmp_path: Path
) -> None:
    campaign = tmp_path / "spring_2026.yaml"
    shipped = (SHIPPED_FLOWS / "idea.yaml").read_text(encoding="utf-8")
    campaign.write_text(
        shipped.replace("id: idea\n", "id: spring_2026\n").replace(
            DEFAULT_QUESTION, CAMPAIGN_QUESTION
        )
    )
    pushed = await asyncio.to_thread(ideabot, "flows", "push", str(campaign), cwd=tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    bot = bot_factory()
    await bot.start()

    kari = Customer(user_id=901)
    # What Telegram sends for t.me/<bot>?start=spring_2026: /start marked as a bot command.
    sent = await telegram_api.send_text(kari, "/start spring_2026")
    assert sent["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    (welcome,) = await telegram_api.wait_for_messages(kari, 1)
    assert welcome.text.startswith("Hi! We build our product")
    assert welcome.text.endswith(CAMPAIGN_QUESTION)

    ola = Customer(user_id=902)
    await telegram_api.send_text(ola, "/start nosuch")
    (fallback,) = await telegram_api.wait_for_messages(ola, 1)
    assert fallback.text.startswith(
        "I don't recognise the link you followed, so we'll go on with the usual questions."
    )
    assert fallback.text.endswith(DEFAULT_QUESTION)


async def test_two_labelled_links_count_their_conversations_apart(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, tmp_path: Path
) -> None:
    campaign = tmp_path / "spring_2026.yaml"
    shipped = (SHIPPED_FLOWS / "idea.yaml").read_text(encoding="utf-8")
    campaign.write_text(
        shipped.replace("id: idea\n", "id: spring_2026\n").replace(
            DEFAULT_QUESTION, CAMPAIGN_QUESTION
        )
    )
    pushed = await asyncio.to_thread(ideabot, "flows", "push", str(campaign), cwd=tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    telegram = {
        "TELEGRAM_BOT_TOKEN": telegram_api.token,
        "TELEGRAM_API_BASE_URL": telegram_api.base_url,
    }
    payloads = []
    for source in ("poster", "receipt"):
        made = await asyncio.to_thread(
            ideabot, "flows", "link", "spring_2026", "--source", source,
            "--out", str(tmp_path / f"{source}.png"), cwd=tmp_path, **telegram,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        url = made.stdout.strip()
        assert url == f"https://t.me/ideabot_test_bot?start=spring_2026-{source}"
        payloads.append(url.partition("?start=")[2])
    bot = bot_factory()
    await bot.start()

    # What Telegram sends when each customer opens their link and presses Start.
    for user_id, payload in zip((911, 912), payloads, strict=True):
        customer = Customer(user_id=user_id)
        await telegram_api.send_text(customer, f"/start {payload}")
        (welcome,) = await telegram_api.wait_for_messages(customer, 1)
        assert welcome.text.endswith(CAMPAIGN_QUESTION)

    counted = await asyncio.to_thread(ideabot, "flows", "links", "spring_2026", cwd=tmp_path)
    assert counted.returncode == 0, counted.stderr
    assert counted.stdout.splitlines() == [
        "link                 started finished  ideas",
        "spring_2026-poster         1        0      0",
        "spring_2026-receipt        1        0      0",
    ]
