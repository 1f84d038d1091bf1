"""Reminders on an in-memory store: what a sweep decides, with no database behind it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.flows.engine import Answer, FlowState, advance, begin
from handlers.flows.loader import LoadedFlow
from handlers.flows.schema import FlowDefinition, FlowReminder
from handlers.ideas.reminders import Reminders, SweepResult
from handlers.messages import ConversationKey, OutgoingMessage
from handlers.ports import ConversationStatus
from tests.helpers.dialogue import CountingSignal
from tests.helpers.memory_reminders import FixedFlows, MemoryReminderStore

HOUR = timedelta(hours=1)
START = datetime(2026, 3, 2, 9, tzinfo=UTC)
ANNE = ConversationKey("telegram", "41", "41")
BO = ConversationKey("telegram", "42", "42")
IDEA = "A dark mode for the mobile app, please, for the evening"


def idea_flow(shipped_flows: list[LoadedFlow]) -> FlowDefinition:
    (flow,) = [loaded.definition for loaded in shipped_flows if loaded.definition.id == "idea"]
    return flow


def halfway(flow: FlowDefinition) -> FlowState:
    return advance(flow, begin(flow, "en").state, Answer(text=IDEA), "en").state


def sent(store: MemoryReminderStore) -> list[tuple[ConversationKey, str]]:
    return [
        (key, action.text)
        for key, action in store.state.outbox
        if isinstance(action, OutgoingMessage)
    ]


async def test_one_reminder_per_stall_in_the_customers_language_with_the_question_again(
    shipped_flows: list[LoadedFlow],
) -> None:
    flow = idea_flow(shipped_flows)
    store = MemoryReminderStore(START)
    store.start_conversation(key=BO, language="nb", flow=flow, flow_state=halfway(flow))
    signal = CountingSignal()
    reminders = Reminders(store=store, flows=FixedFlows(flow), outbox_signal=signal)

    assert await reminders.sweep(START + 23 * HOUR) == SweepResult()
    assert await reminders.sweep(START + 25 * HOUR) == SweepResult(reminded=1)
    assert await reminders.sweep(START + 30 * HOUR) == SweepResult()

    ((to, nudge),) = sent(store)
    assert to == BO
    assert nudge.startswith("Hei igjen! Du holdt på å fortelle oss om en idé.")
    assert nudge.endswith("Hvilket problem ville det løst for deg?")
    assert signal.wakes == 1


async def test_answers_left_long_enough_become_a_draft_and_the_conversation_is_put_away(
    shipped_flows: list[LoadedFlow],
) -> None:
    flow = idea_flow(shipped_flows)
    store = MemoryReminderStore(START)
    conversation_id = store.start_conversation(
        key=ANNE, language="en", flow=flow, flow_state=halfway(flow)
    )
    reminders = Reminders(store=store, flows=FixedFlows(flow), outbox_signal=CountingSignal())

    assert await reminders.sweep(START + 73 * HOUR) == SweepResult(put_away=1)

    (draft,) = store.state.ideas
    assert (draft.status, draft.draft.title, draft.conversation_id) == (
        "draft",
        IDEA,
        conversation_id,
    )
    assert store.state.conversations[conversation_id].status is ConversationStatus.ABANDONED
    assert sent(store) == []
    assert await reminders.sweep(START + 100 * HOUR) == SweepResult()


async def test_one_sweep_reminds_one_customer_and_puts_away_another_without_a_draft(
    shipped_flows: list[LoadedFlow],
) -> None:
    flow = idea_flow(shipped_flows)
    store = MemoryReminderStore(START)
    store.start_conversation(key=ANNE, language="en", flow=flow, flow_state=begin(flow, "en").state)
    store.state.now = START + 50 * HOUR
    store.start_conversation(key=BO, language="en", flow=flow, flow_state=halfway(flow))
    signal = CountingSignal()
    reminders = Reminders(store=store, flows=FixedFlows(flow), outbox_signal=signal)

    assert await reminders.sweep(START + 80 * HOUR) == SweepResult(reminded=1, put_away=1)

    assert store.state.ideas == []
    assert [key for key, _ in sent(store)] == [BO]
    assert signal.wakes == 1


async def test_a_flow_with_reminders_off_leaves_its_conversations_alone(
    shipped_flows: list[LoadedFlow],
) -> None:
    flow = idea_flow(shipped_flows).model_copy(update={"reminder": FlowReminder(enabled=False)})
    store = MemoryReminderStore(START)
    conversation_id = store.start_conversation(
        key=ANNE, language="en", flow=flow, flow_state=halfway(flow)
    )
    reminders = Reminders(store=store, flows=FixedFlows(flow), outbox_signal=CountingSignal())

    assert await reminders.sweep(START + 500 * HOUR) == SweepResult()

    assert store.state.conversations[conversation_id].status is ConversationStatus.ACTIVE
    assert (sent(store), store.state.ideas) == ([], [])
