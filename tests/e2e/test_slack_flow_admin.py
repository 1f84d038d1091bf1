"""The real ``ideabot run``: an admin changes the flow from a Slack DM, Telegram follows."""

from __future__ import annotations

from pathlib import Path

from tests.doubles.slack_api import Posted, SlackEvents, SlackPerson, SlackWebApiDouble
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.bot_process import BotProcess
from tests.e2e.conftest import BotFactory
from tests.helpers.cli import ideabot
from tests.helpers.flow_uploads import (
    NEW_QUESTION,
    OLD_QUESTION,
    file_with_three_mistakes,
    fixed_file,
)
from tests.helpers.slack_staff import events_to, slack_settings
from tests.waiting import eventually

ADA = SlackPerson("U0ADA", "Ada Admin")
IDEA = "A dark mode for the mobile app, please, for the evening"


class AdminDm:
    """Ada's direct message with the app: what she sends and what she is answered."""

    def __init__(self, slack_api: SlackWebApiDouble, events: SlackEvents) -> None:
        self.slack_api = slack_api
        self.events = events
        self.files = 0

    def answers(self) -> list[Posted]:
        return self.slack_api.posts_in(ADA.dm_channel)

    async def answer(self, count: int) -> Posted:
        await self.slack_api.wait_until(lambda: len(self.answers()) >= count)
        return self.answers()[count - 1]

    async def upload(self, name: str, text: str) -> Posted:
        self.files += 1
        before = len(self.answers())
        file = self.slack_api.file_event_fields(
            f"F0E2E{self.files}", name, text.encode(), "application/x-yaml"
        )
        response, _ = await self.events.direct_message(ADA, "", subtype="file_share", files=[file])
        assert response.status_code == 200
        return await self.answer(before + 1)

    async def click(self, post: Posted, label: str) -> Posted:
        before = len(self.answers())
        assert (await self.events.click(ADA, post, label)).status_code == 200
        return await self.answer(before + 1)


async def second_question(
    telegram_api: TelegramBotApiDouble, customer: Customer, before: int
) -> str:
    await telegram_api.send_text(customer, IDEA)
    return (await telegram_api.wait_for_messages(customer, before + 1))[-1].text


async def test_an_admin_fixes_an_upload_publishes_it_and_new_customers_get_the_new_question(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    slack_api.add(ADA)
    bot: BotProcess = bot_factory(
        **slack_settings(slack_api), SLACK_ADMIN_USERS=ADA.user_id, FLOW_REFRESH_SECONDS="1"
    )
    await bot.start()
    dm = AdminDm(slack_api, events_to(bot))
    early = Customer(user_id=901, first_name="Early")
    await telegram_api.send_text(early, "/start")
    await telegram_api.wait_for_messages(early, 1)

    broken, lines = file_with_three_mistakes()
    problems = await dm.upload("idea.yaml", broken)
    assert problems.text.startswith("idea.yaml has 3 problems; nothing was stored:")
    assert [int(line.split(":", 1)[0]) for line in problems.text.splitlines()[1:]] == lines

    drafted = await dm.upload("idea.yaml", fixed_file())
    assert "Draft 1 of flow 'idea' is stored (against live version 1)" in drafted.text
    confirm = await dm.click(drafted, "Publish")
    published = await dm.click(confirm, "Yes, publish draft 1")
    assert "version 2 is live (was 1)" in published.text

    async def serving_version_2() -> bool:
        return "flow 'idea' is live at version 2 now" in bot.log()

    await eventually(serving_version_2, timeout=5.0, what="the process serving version 2")
    late = Customer(user_id=902, first_name="Late")
    await telegram_api.send_text(late, "/start")
    await telegram_api.wait_for_messages(late, 1)
    assert NEW_QUESTION in await second_question(telegram_api, late, 1)
    # Who started before the publish finishes the version they started.
    assert OLD_QUESTION in await second_question(telegram_api, early, 1)

    history = ideabot("flows", "history", "idea", cwd=tmp_path, DATABASE_URL=sqlite_url)
    assert history.returncode == 0, history.stderr
    trail = [line.split()[2:] for line in history.stdout.splitlines()]
    assert trail[-2:] == [
        ["draft", "1", "→", "-", "slack:U0ADA", "draft", "1", "from", "idea.yaml"],
        ["publish", "1", "→", "2", "slack:U0ADA", "draft", "1", "from", "idea.yaml"],
    ]
