"""The real ``ideabot run``: an admin changes, tries and publishes a flow in a Slack DM."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.doubles.slack_api import (
    STAFF_CHANNEL,
    Posted,
    SlackEvents,
    SlackPerson,
    SlackWebApiDouble,
)
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

    async def say(self, text: str) -> Posted:
        before = len(self.answers())
        response, _ = await self.events.direct_message(ADA, text)
        assert response.status_code == 200
        return await self.answer(before + 1)

    async def first_after(self, count: int, wanted: Callable[[Posted], bool]) -> Posted:
        """The first answer after the ``count`` first ones that is ``wanted``."""
        await self.slack_api.wait_until(lambda: any(map(wanted, self.answers()[count:])))
        return next(post for post in self.answers()[count:] if wanted(post))


async def try_the_draft(
    dm: AdminDm, drafted: Posted, *, mid_trial: Callable[[], Awaitable[None]]
) -> Posted:
    """Ada walks the draft in her DM as a customer would: words, then buttons; its end."""
    before = len(dm.answers())
    opening = await dm.click(drafted, "Try")
    assert opening.text.startswith("Trying draft 1 of *idea* — nothing you answer is recorded.")
    # Then the welcome and the first question, as a new customer gets them.
    assert (await dm.answer(before + 2)).text.endswith("improve or create?")
    assert (await dm.say(IDEA)).text == NEW_QUESTION
    await mid_trial()
    # A post sent just before the kill may not have been recorded as sent, so it comes
    # again after the restart (at least once, as every send): wait for the next question.
    after_restart = len(dm.answers())
    await dm.say("My eyes hurt when I read in bed at night")
    frequency = await dm.first_after(after_restart, lambda post: "Every day" in post.button_labels)
    importance = await dm.click(frequency, "Every day")
    contact = await dm.click(importance, "5")
    return await dm.click(contact, "No")


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

    def funnel() -> str:
        stats = ideabot("flows", "stats", "idea", cwd=tmp_path, DATABASE_URL=sqlite_url)
        assert stats.returncode == 0, stats.stderr
        return stats.stdout

    async def killed_and_restarted() -> None:
        bot.kill_hard()
        await bot.wait_exit()
        await bot.start()

    funnel_before = funnel()
    end = await try_the_draft(dm, drafted, mid_trial=killed_and_restarted)
    assert "Trial of draft 1 of *idea* done; nothing was recorded." in end.text
    assert f"would have recorded this idea: *{IDEA}*" in end.text
    # Nothing of the trial counts: no idea, nothing for staff, the funnel as it was.
    ideas = ideabot("ideas", "export", "--format", "json", cwd=tmp_path, DATABASE_URL=sqlite_url)
    assert json.loads(ideas.stdout) == []
    assert slack_api.posts_in(STAFF_CHANNEL) == []
    assert funnel() == funnel_before

    confirm = await dm.click(end, "Publish")
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
    # The trial is no change of the flow, so the audit trail does not show it.
    assert trail[-2:] == [
        ["draft", "1", "→", "-", "slack:U0ADA", "draft", "1", "from", "idea.yaml"],
        ["publish", "1", "→", "2", "slack:U0ADA", "draft", "1", "from", "idea.yaml"],
    ]
