"""An admin tries a draft in their DM: the customer's questions and buttons, and nothing counts."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.dialogue.trial import (
    OLDER_TRIAL,
    STOP,
    TRIAL_IDLE_LIMIT,
    TRIAL_OVER,
    TRIALS_KEPT,
    FlowTrials,
    TrialStart,
    parse_publish_payload,
    trial_payload,
)
from handlers.flows.loader import LoadedFlow, parse_flow
from handlers.flows.versions import FlowAction, FlowDraft
from handlers.ideas.reminders import Reminders, SweepResult
from handlers.messages import ConversationKey, IncomingMessage
from storage.dialogue.store import SqlDialogueStore
from storage.flows.catalog import SqlFlowCatalog
from storage.flows.library import SqlFlowLibrary
from storage.flows.stats import SqlFlowStats
from storage.idea_queries import export_ideas
from storage.outbox.deliveries import SendMessage, stored
from storage.outbox.store import OutboxItem, SqlOutboxStore
from storage.tables import (
    ConversationRow,
    FlowTrialRow,
    IdeaFollowerRow,
    OutboxRow,
    StaffThreadRow,
    table_of,
)
from storage.types import utc_now
from tests.helpers.dialogue import CountingSignal, finish_default_flow, make_customer, texts
from tests.helpers.flow_uploads import NEW_QUESTION, OLD_QUESTION, fixed_file

Sessions = async_sessionmaker[AsyncSession]
ADA = ConversationKey(platform="slack", chat_id="D0ADA", user_id="U0ADA")
IDEA = "A dark mode for the mobile app, please, for the evening"
PROBLEM = "My eyes hurt when I read in bed at night"


@dataclass
class Admin:
    """Ada in her DM: starts trials, answers, and reads what the outbox has for her."""

    sessions: Sessions
    trials: FlowTrials
    # Event ids are unique across processes, as Slack's are.
    process: str = "one"
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    received: list[OutboxItem] = field(default_factory=list)

    async def try_draft(self, draft: FlowDraft, *, external_id: str = "") -> list[dict[str, Any]]:
        await self.trials.start(
            TrialStart(
                external_id=external_id or f"{self.process}-try-{next(self.ids)}",
                key=ADA,
                draft=draft,
                seen_live=1,
                language_code="en-US",
            )
        )
        return await self.replies()

    async def say(self, text: str = "", **extra: Any) -> list[dict[str, Any]]:
        taken = await self.take(text, **extra)
        assert taken, "no trial took it"
        return await self.replies()

    async def take(self, text: str = "", **extra: Any) -> bool:
        number = next(self.ids)
        message = IncomingMessage(
            key=ADA,
            external_id=str(extra.pop("external_id", f"{self.process}-{number}")),
            text=text,
            **extra,
        )
        return await self.trials.take(message)

    async def press(self, label: str) -> list[dict[str, Any]]:
        """Press the button ``label`` on the newest message that has it."""
        for item in reversed(self.received):
            if isinstance(item.delivery, SendMessage):
                for button in item.delivery.buttons:
                    if button.label == label:
                        return await self.say(
                            button_payload=button.payload,
                            button_message_id=str(item.id),
                            button_message_text=item.delivery.text,
                        )
        raise AssertionError(f"no button {label!r}")

    async def replies(self) -> list[dict[str, Any]]:
        outbox = SqlOutboxStore(self.sessions)
        found: list[dict[str, Any]] = []
        while items := await outbox.claim_due(platforms=["slack"], limit=100, lease_seconds=30):
            for item in items:
                await outbox.mark_sent(item, platform_message_id=str(item.id))
                self.received.append(item)
                found.append(stored(item.delivery))
        return found


async def draft_of_fixed_flow(sessions: Sessions, flows: list[LoadedFlow]) -> FlowDraft:
    library = SqlFlowLibrary(sessions)
    await library.import_files(flows, actor="file")
    return await library.draft(parse_flow(fixed_file(), source="idea.yaml"), actor="slack:U0ADA")


def admin(sessions: Sessions, process: str = "one") -> Admin:
    """Ada with a trial desk of her own, as a freshly started process would have."""
    trials = FlowTrials(
        store=SqlDialogueStore(sessions), outbox_signal=CountingSignal(), message_limits={}
    )
    return Admin(sessions=sessions, trials=trials, process=process)


async def trying(sessions: Sessions, flows: list[LoadedFlow]) -> tuple[Admin, FlowDraft]:
    """Ada in a trial of the fixed draft (just started), and that draft."""
    draft = await draft_of_fixed_flow(sessions, flows)
    ada = admin(sessions)
    await ada.try_draft(draft)
    return ada, draft


async def walk_to_the_end(ada: Admin) -> list[dict[str, Any]]:
    """From the first question: a text, a text, then three buttons, as a customer would."""
    await ada.say(IDEA)
    await ada.say(PROBLEM)
    await ada.press("Every day")
    await ada.press("5")
    return await ada.press("No")


async def count(sessions: Sessions, table: Any) -> int:
    async with sessions() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def test_a_trial_asks_the_drafts_questions_with_buttons_and_shows_what_it_would_record(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    draft = await draft_of_fixed_flow(sessions, shipped_flows)
    ada = admin(sessions)
    opening = texts(await ada.try_draft(draft))
    assert opening[0] == (
        "Trying draft 1 of *idea* — nothing you answer is recorded. "
        "Type /ideabot cancel (or press Stop) to stop."
    )
    assert opening[1].endswith("What would you like us to improve or create?")
    assert texts(await ada.say(IDEA)) == [NEW_QUESTION]  # the draft's wording, not the live one
    frequency = await ada.say(PROBLEM)
    assert [button["label"] for button in frequency[0]["buttons"]][:2] == [
        "Every day",
        "Every week",
    ]
    pressed = await ada.press("Every day")
    # The pressed question loses its buttons and shows the choice, as a customer's does.
    assert pressed[0]["action"] == "mark_buttons_used"
    assert pressed[0]["text"].endswith("✔ Every day")
    await ada.press("5")
    end = await ada.press("No")
    *_, summary = end
    assert summary["text"].startswith("Thank you! Your idea is recorded.")
    assert "Trial of draft 1 of *idea* done; nothing was recorded." in summary["text"]
    assert f"would have recorded this idea: *{IDEA}*" in summary["text"]
    assert f"• {NEW_QUESTION} → {PROBLEM}" in summary["text"]
    assert "• How often do you run into this? → Every day" in summary["text"]
    assert "Then the flow hands the conversation to staff." in summary["text"]
    (publish,) = summary["buttons"]
    assert publish["label"] == "Publish"
    assert parse_publish_payload(publish["payload"]) == ("idea", 1, 1)
    # Over: her next words are not the trial's any more.
    assert not await ada.take("hello?")


async def test_nothing_of_a_trial_counts_anywhere(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    customer = await make_customer(sessions, shipped_flows)
    await finish_default_flow(customer)  # one real idea, so a trial could be linked to it
    draft = await draft_of_fixed_flow(sessions, shipped_flows)
    stats = SqlFlowStats(sessions)
    funnel_before = await stats.flow_funnel("idea", version=1)
    ideas_before = await export_ideas(sessions)

    ada = admin(sessions)
    await ada.try_draft(draft)
    end = texts(await walk_to_the_end(ada))
    assert not any("same" in line.casefold() for line in end), "a trial was asked about a match"
    await ada.try_draft(draft)
    await ada.say(IDEA)  # a second trial, left halfway

    assert await export_ideas(sessions) == ideas_before
    assert await count(sessions, ConversationRow) == 1
    assert await count(sessions, IdeaFollowerRow) == 1
    assert await count(sessions, StaffThreadRow) == 0
    assert await stats.flow_funnel("idea", version=1) == funnel_before
    async with sessions() as session:
        found = await session.execute(select(table_of(OutboxRow).c.destination))
        destinations = set(found.scalars())
    assert destinations == {"telegram:42", "slack:D0ADA"}
    sweeper = Reminders(
        store=SqlDialogueStore(sessions),
        flows=await SqlFlowCatalog.load(sessions=sessions, default_flow_id="idea"),
        outbox_signal=CountingSignal(),
    )
    assert await sweeper.sweep(utc_now() + timedelta(days=30)) == SweepResult()


async def test_a_trial_goes_on_after_a_restart_from_its_snapshot_though_the_draft_is_gone(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    draft = await draft_of_fixed_flow(sessions, shipped_flows)
    first = admin(sessions, "first")
    await first.try_draft(draft)
    await first.say(IDEA)
    library = SqlFlowLibrary(sessions)
    await library.discard_draft(flow_id="idea", draft_id=draft.draft_id, actor="cli:kari")
    # Another process (or this one restarted) takes the next answer from the database.
    again = admin(sessions, "restarted")
    assert texts(await again.say(PROBLEM))[0] == "How often do you run into this?"
    await again.say("1")
    await again.say("5")
    assert "done; nothing was recorded" in texts(await again.say("no"))[-1]
    assert (await library.stored(flow_id="idea")).definition.steps[1].question["en"] == (
        OLD_QUESTION
    )


async def test_stop_ends_the_trial_and_its_old_buttons_say_so(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    ada, _ = await trying(sessions, shipped_flows)
    await ada.say(IDEA)
    await ada.say(PROBLEM)
    assert texts(await ada.press("Stop")) == ["Trial stopped; nothing was recorded."]
    assert not await ada.take(IDEA)
    assert texts(await ada.press("Every day")) == [TRIAL_OVER]
    assert texts(await ada.say(button_payload=trial_payload(1, STOP))) == [TRIAL_OVER]


async def test_cancel_skip_and_restart_work_in_a_trial_as_for_customers(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    ada, _ = await trying(sessions, shipped_flows)
    assert texts(await ada.say("/skip"))[0].startswith("This question")  # not optional
    await ada.say(IDEA)
    restarted = texts(await ada.say("/restart"))
    assert restarted[-1].endswith("What would you like us to improve or create?")
    assert texts(await ada.say("/human"))[0].startswith("In a trial, /ideabot skip,")
    assert texts(await ada.say("/cancel")) == ["Trial stopped; nothing was recorded."]


async def test_a_trial_is_started_once_per_click_and_a_new_one_replaces_the_old(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    draft = await draft_of_fixed_flow(sessions, shipped_flows)
    ada = admin(sessions)
    assert len(await ada.try_draft(draft, external_id="action:1")) == 2
    assert await ada.try_draft(draft, external_id="action:1") == []  # Slack sent it again
    await ada.say(IDEA)
    await ada.try_draft(draft, external_id="action:2")
    # The new trial starts at the first question; the old one is over.
    assert texts(await ada.say(IDEA)) == [NEW_QUESTION]
    # A try is no change of the flow: the audit trail and the catalog's stamp stay as they were.
    history = await SqlFlowLibrary(sessions).history(flow_id="idea")
    assert [change.action for change in history] == [FlowAction.IMPORT, FlowAction.DRAFT]


async def age_trials(sessions: Sessions, *, by: timedelta) -> None:
    """Every trial as if last touched ``by`` ago."""
    async with sessions() as session, session.begin():
        trial = table_of(FlowTrialRow)
        await session.execute(update(trial).values(updated_at=utc_now() - by))


async def active_trials(sessions: Sessions) -> int:
    trial = table_of(FlowTrialRow)
    async with sessions() as session:
        query = select(func.count()).select_from(trial).where(trial.c.status == "active")
        return int((await session.execute(query)).scalar_one())


async def test_two_processes_starting_trials_at_once_leave_one_running(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    draft = await draft_of_fixed_flow(sessions, shipped_flows)
    for round_ in range(5):
        one, two = admin(sessions, process=f"a{round_}"), admin(sessions, process=f"b{round_}")
        await asyncio.gather(one.try_draft(draft), two.try_draft(draft))
        assert await active_trials(sessions) == 1, f"round {round_}"


async def test_stop_on_an_older_trials_message_leaves_the_newer_trial_running(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    ada, draft = await trying(sessions, shipped_flows)
    first_opening = ada.received[0]
    await ada.say(IDEA)
    await ada.say(PROBLEM)
    first_frequency = ada.received[-1]
    await ada.try_draft(draft)
    await ada.say(IDEA)
    await ada.say(PROBLEM)  # the newer trial asks the same question, with the same buttons
    for item, label in ((first_opening, "Stop"), (first_frequency, "Every day")):
        assert isinstance(item.delivery, SendMessage)
        pressed = next(button for button in item.delivery.buttons if button.label == label)
        older = await ada.say(
            button_payload=pressed.payload,
            button_message_id=str(item.id),
            button_message_text=item.delivery.text,
        )
        assert texts(older) == [f"{OLDER_TRIAL}\n\nHow often do you run into this?"], label
    assert texts(await ada.press("Every day"))[0].startswith("How important")


async def test_a_trial_idle_for_a_day_is_over(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    ada, draft = await trying(sessions, shipped_flows)
    await ada.say(IDEA)
    await age_trials(sessions, by=TRIAL_IDLE_LIMIT - timedelta(minutes=1))
    assert await ada.take(PROBLEM), "a trial quiet for less than a day ended"
    await age_trials(sessions, by=TRIAL_IDLE_LIMIT + timedelta(minutes=1))
    assert not await ada.take("where are the ideas?")
    await ada.try_draft(draft)  # a new trial replaces the idle one
    assert await active_trials(sessions) == 1


async def test_trials_untouched_for_thirty_days_are_deleted_once_a_day(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    ada, draft = await trying(sessions, shipped_flows)
    await ada.say("/cancel")
    await ada.try_draft(draft)
    noon = datetime.combine(utc_now().date(), time(12), tzinfo=UTC)
    assert await ada.trials.sweep(noon + TRIALS_KEPT - timedelta(days=1)) == 0
    assert await count(sessions, FlowTrialRow) == 2
    later = noon + TRIALS_KEPT + timedelta(days=1)
    assert await ada.trials.sweep(later) == 2
    await ada.try_draft(draft)
    # The day's sweep has run: another process (or a later tick that day) does nothing more.
    assert await admin(sessions, process="two").trials.sweep(later + timedelta(hours=6)) == 0
    assert await count(sessions, FlowTrialRow) == 1
