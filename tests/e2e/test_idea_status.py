"""Statuses end to end: staff change them from Slack or the command line; linked customers hear."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import text

from storage.database import create_engine, create_sessions
from storage.types import utc_now
from tests.doubles.slack_api import STAFF_CHANNEL, SlackPerson, SlackWebApiDouble
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import ANNE, BotFactory
from tests.helpers.idea_status import ideabot_cli, link_followers
from tests.helpers.slack_staff import (
    events_to,
    finish_flow_on_telegram,
    slack_settings,
    start_bot,
    wait_for_card,
)


async def test_staff_move_an_idea_and_every_linked_customer_hears(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
) -> None:
    bot = await start_bot(bot_factory, slack_api)
    kari = Customer(user_id=701, first_name="Kari")
    await finish_flow_on_telegram(telegram_api, kari)
    card = await wait_for_card(slack_api)
    siri = slack_api.add(SlackPerson("U0SIRI", "Siri", locale="nb-NO"))
    await link_followers(
        sqlite_url,
        1,
        [
            {
                "platform": "slack",
                "platform_user_id": siri.user_id,
                "chat_id": siri.dm_channel,
                "display_name": "Siri",
                "language": "nb",
            }
        ],
    )
    slack = events_to(bot)

    assert (await slack.choose(ANNE, card, "1:planned")).status_code == 200
    planned = (await telegram_api.wait_for_messages(kari, 7))[-1]
    assert planned.text.startswith("Good news: your idea “A dark mode for the app")
    assert planned.text.endswith(
        "(Type /unsubscribe if you would rather not get news about ideas.)"
    )
    await slack_api.wait_until(lambda: len(slack_api.posts_in(siri.dm_channel)) == 1)
    assert slack_api.posts_in(siri.dm_channel)[0].text.startswith("Gode nyheter: ideen din")
    await slack_api.wait_until(lambda: any("status: Planned" in str(u) for u in slack_api.updates))
    await slack_api.wait_until(
        lambda: any(
            post.text == "Anne Staff set the status to Planned; 2 customer(s) will be told."
            for post in slack_api.posts_in(STAFF_CHANNEL, thread_ts=card.ts)
        )
    )

    answer = await slack.command(
        ANNE, "status 1 done Shipped today!", command="/ideas", channel=STAFF_CHANNEL
    )
    assert answer.text == "Idea #1 → Done: its thread will show the change."
    done = (await telegram_api.wait_for_messages(kari, 8))[-1]
    assert done.text.startswith("Your idea “A dark mode for the app")
    assert "\n\nShipped today!\n\n" in done.text

    wrong = await slack.command(ANNE, "status 1 someday", command="/ideas", channel=STAFF_CHANNEL)
    assert "is not a status" in wrong.text

    printed = await ideabot_cli(
        sqlite_url, "ideas", "status", "1", "in progress", "-m", "Back on the bench", "--by", "Ops"
    )
    assert printed.strip() == "idea #1 is now in progress; 2 customer(s) will be told"
    again = (await telegram_api.wait_for_messages(kari, 9))[-1]
    assert again.text.startswith("We have started working on your idea")

    tagged = await slack.command(ANNE, "tag 1 UI mobile", command="/ideas", channel=STAFF_CHANNEL)
    assert tagged.text == "Tags for idea #1: its thread will show them."
    await slack_api.wait_until(lambda: "#mobile #ui" in str(slack_api.updates[-1]["blocks"]))
    found = await slack.command(ANNE, "search dark", command="/ideas", channel=STAFF_CHANNEL)
    link = f"https://slack.com/archives/{STAFF_CHANNEL}/p{card.ts.replace('.', '')}"
    assert found.text.startswith("#1 [In progress] A dark mode for the app")
    assert found.text.endswith(f"· 2 asked #mobile #ui · <{link}|thread>")
    listed = await ideabot_cli(
        sqlite_url, "ideas", "list", "--tag", "ui", "--status", "in progress"
    )
    assert listed.startswith("#1 ")
    assert "2 linked" in listed
    exported = json.loads(await ideabot_cli(sqlite_url, "ideas", "export", "--format", "json"))
    assert [change["to"] for change in exported[0]["status_history"]] == [
        "planned",
        "done",
        "in_progress",
    ]
    assert exported[0]["votes"] == 1


async def test_news_to_many_customers_keeps_within_the_limit_and_lets_live_chats_through(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, sqlite_url: str
) -> None:
    followers = 400
    telegram_api.global_limit_per_second = 120
    bot = bot_factory(TELEGRAM_GLOBAL_RATE_PER_SECOND="100")
    await bot.start()
    kari = Customer(user_id=702, first_name="Kari")
    await finish_flow_on_telegram(telegram_api, kari)
    await link_followers(
        sqlite_url,
        1,
        [
            {
                "platform": "telegram",
                "platform_user_id": str(900_000 + number),
                "chat_id": str(900_000 + number),
                "display_name": f"Follower {number}",
                "language": "nb" if number % 2 else "en",
            }
            for number in range(followers)
        ],
    )
    sent_before = len(telegram_api.sent)
    await ideabot_cli(sqlite_url, "ideas", "status", "1", "planned")
    await telegram_api.wait_until(lambda: len(telegram_api.sent) >= sent_before + 30)
    newcomer = Customer(user_id=703, first_name="Nina")
    await telegram_api.send_text(newcomer, "/start")
    (welcome,) = await telegram_api.wait_for_messages(newcomer, 1)
    await telegram_api.wait_until(
        lambda: len(telegram_api.sent) >= sent_before + followers + 2, timeout=60
    )
    news = telegram_api.sent[sent_before:]
    assert telegram_api.refused_for_flooding == 0
    assert len({message.chat_id for message in news}) == followers + 2  # + Kari + Nina
    # The live conversation did not wait for the news to go out.
    assert news.index(welcome) < len(news) - 100


async def run_sql(database_url: str, statement: str, **values: object) -> None:
    engine = create_engine(database_url)
    try:
        async with create_sessions(engine)() as session, session.begin():
            await session.execute(text(statement), values)
    finally:
        await engine.dispose()


async def test_the_digest_comes_on_schedule_and_on_request(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
) -> None:
    # Daily at midnight UTC, and the last digest was long ago: today's is due at once.
    await ideabot_cli(sqlite_url, "migrate")
    await run_sql(
        sqlite_url,
        "insert into scheduled_run (job, period, ran_at) values ('digest', '2026-01-01', :at)",
        at=utc_now() - timedelta(days=300),
    )
    bot = bot_factory(
        **slack_settings(slack_api),
        DIGEST_FREQUENCY="daily",
        DIGEST_HOUR="0",
        REMINDER_SWEEP_SECONDS="0.2",
        # 36 ms: by the time staff ask, the customer handed over has waited longer than that.
        WAITING_ALERT_HOURS="0.00001",
    )
    await bot.start()

    def digests() -> list[str]:
        return [
            post.text
            for post in slack_api.posts_in(STAFF_CHANNEL)
            if post.thread_ts is None and post.text.startswith("*Ideas digest")
        ]

    await slack_api.wait_until(lambda: len(digests()) == 1)
    assert "*New ideas: 0*" in digests()[0]

    kari = Customer(user_id=704, first_name="Kari")
    await finish_flow_on_telegram(telegram_api, kari)
    await wait_for_card(slack_api)
    answer = await events_to(bot).command(ANNE, "digest", command="/ideas", channel=STAFF_CHANNEL)
    assert answer.text == "The digest is on its way to this channel."
    await slack_api.wait_until(lambda: len(digests()) == 2)
    assert "• #1 A dark mode for the app" in digests()[1]
    assert "*Waiting for a reply: 1*" in digests()[1]


async def test_a_customer_with_the_same_idea_is_asked_and_joins_it(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory
) -> None:
    bot = bot_factory()
    await bot.start()
    kari = Customer(user_id=705, first_name="Kari")
    await finish_flow_on_telegram(telegram_api, kari)
    ola = Customer(user_id=706, first_name="Ola", language_code="nb")
    await telegram_api.send_text(ola, "/start")
    await telegram_api.wait_for_messages(ola, 1)
    await telegram_api.send_text(ola, "Mørk modus i appen, skjermen er for lys om kvelden")
    await telegram_api.wait_for_messages(ola, 2)
    await telegram_api.send_text(ola, "Øynene mine blir slitne når jeg leser i senga om kvelden")
    frequency = (await telegram_api.wait_for_messages(ola, 3))[-1]
    await telegram_api.press(ola, frequency, "Hver dag")
    importance = (await telegram_api.wait_for_messages(ola, 4))[-1]
    await telegram_api.press(ola, importance, "5")
    contact = (await telegram_api.wait_for_messages(ola, 5))[-1]
    await telegram_api.press(ola, contact, "Nei")
    asked = (await telegram_api.wait_for_messages(ola, 6))[-1]
    assert asked.text == (
        "Takk! Noen har allerede foreslått noe lignende: «A dark mode for the app, because the "
        "white screen hurts at night». Er ideen din den samme?"
    )
    await telegram_api.press(ola, asked, "Ja, den samme")
    joined = (await telegram_api.wait_for_messages(ola, 7))[-1]
    assert joined.text.startswith("Tusen takk! Jeg har lagt til stemmen og svarene dine")

    printed = await ideabot_cli(bot.environment["DATABASE_URL"], "ideas", "status", "1", "done")
    assert printed.strip() == "idea #1 is now done; 2 customer(s) will be told"
    done = (await telegram_api.wait_for_messages(ola, 8))[-1]
    assert done.text.startswith("Ideen din «A dark mode for the app")
    assert (await telegram_api.wait_for_messages(kari, 7))[-1].text.startswith("Your idea")
