"""Issue 13, the real ``ideabot run``: staff preview, start and measure a campaign in Slack."""

from __future__ import annotations

from tests.doubles.slack_api import SlackPerson, SlackWebApiDouble
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import ANNE, BotFactory
from tests.e2e.test_slack_flow_stats import assert_real_png, uploads_to
from tests.helpers.slack_staff import events_to, slack_settings

KARI = Customer(user_id=961, first_name="Kari")
OLA = Customer(user_id=962, first_name="Ola", language_code="nb")
# A colleague who is not in the staff channel.
PER = SlackPerson("U0PER", "Per Outside")
INVITATION = "Got a minute? Tell us one idea."


async def test_staff_preview_start_with_the_button_and_see_the_chart_others_are_refused(
    telegram_api: TelegramBotApiDouble, slack_api: SlackWebApiDouble, bot_factory: BotFactory
) -> None:
    slack_api.add(ANNE)
    slack_api.add(PER)
    bot = bot_factory(
        **slack_settings(slack_api),
        CAMPAIGN_TICK_SECONDS="0.2",
        CAMPAIGN_QUIET_FROM="0",
        CAMPAIGN_QUIET_UNTIL="0",
    )
    await bot.start()
    events = events_to(bot)
    # Customers who talked before and are in no conversation now (one handed to staff would be).
    for customer in (KARI, OLA):
        await telegram_api.send_text(customer, "/start")
        await telegram_api.wait_for_messages(customer, 1)
        await telegram_api.send_text(customer, "/cancel")
        await telegram_api.wait_for_messages(customer, 2)
    received = {KARI.chat_id: 2, OLA.chat_id: 2}

    def answers() -> list[str]:
        return [post.text for post in slack_api.posts_in(ANNE.dm_channel)]

    async def typed(words: str) -> str:
        before = len(answers())
        assert (await events.command(ANNE, words)).status_code == 200
        await slack_api.wait_until(lambda: len(answers()) > before)
        return answers()[before]

    created = await typed(
        "campaigns create spring --flow idea --text en=Got a minute? Tell us one idea. "
        "--text nb=Har du et minutt?"
    )
    assert "is stored as a draft; nothing is sent yet" in created
    preview = await typed("campaigns preview spring")
    assert "Would invite 2 customer(s) now: en 1, nb 1" in preview
    assert "Nothing was sent: this is a preview." in preview
    await typed("campaigns start spring")
    confirm = slack_api.posts_in(ANNE.dm_channel)[-1]
    assert confirm.button_labels == ["Yes, start inviting", "Cancel"]
    assert {chat: len(telegram_api.sent_by_chat[chat]) for chat in received} == received

    assert (await events.click(ANNE, confirm, "Yes, start inviting")).status_code == 200
    await slack_api.wait_until(lambda: len(answers()) == 4)
    assert answers()[3].startswith("“spring” started: 2 customer(s) to invite.")
    invitation = (await telegram_api.wait_for_messages(KARI, 3))[-1]
    assert invitation.text == INVITATION
    norwegian = (await telegram_api.wait_for_messages(OLA, 3))[-1]
    assert norwegian.text == "Har du et minutt?"
    await telegram_api.press(KARI, invitation, "Start")
    await telegram_api.wait_for_messages(KARI, 4)

    assert (await events.command(ANNE, "campaigns stats spring")).status_code == 200
    await slack_api.wait_until(lambda: len(uploads_to(slack_api, ANNE.dm_channel)) == 1)
    (chart,) = uploads_to(slack_api, ANNE.dm_channel)
    assert chart["filename"] == "campaign-spring.png"
    assert_real_png(chart["data"])
    figures = chart["initial_comment"].strip("`").splitlines()
    # Running, or done once a tick found nobody left to invite.
    assert figures[0].startswith("campaign “spring” (")
    assert figures[0].endswith("), flow idea")
    rows = {line.split()[0]: line.split()[1:] for line in figures[2:]}
    # invited, delivered, started, finished, ideas, opted out
    assert rows["en"][:3] == ["1", "1", "1"]
    assert rows["nb"][:3] == ["1", "1", "0"]

    # Someone not on the team hears one sentence, and nothing of the campaign.
    assert (await events.command(PER, "campaigns stats spring")).status_code == 200
    await slack_api.wait_until(lambda: len(slack_api.posts_in(PER.dm_channel)) == 1)
    (refused,) = slack_api.posts_in(PER.dm_channel)
    assert refused.text == "Only the team can use /ideabot campaigns."
    assert uploads_to(slack_api, PER.dm_channel) == []
    assert telegram_api.refused_for_flooding == 0
