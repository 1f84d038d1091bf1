"""The small interfaces the core talks through; storage and the platforms implement them."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from handlers.campaigns.audience import Audience
from handlers.campaigns.campaign import (
    AudienceSize,
    Campaign,
    CampaignClash,
    CampaignFigures,
    CampaignState,
    NewCampaign,
    Respect,
)
from handlers.flows.engine import FlowState, IdeaDraft
from handlers.flows.loader import LoadedFlow
from handlers.flows.schema import FlowDefinition
from handlers.flows.versions import FlowChange, FlowDraft, FlowSummary, Published, StoredFlow
from handlers.ideas.status import IdeaFollower, IdeaSummary, MergeRecord, StatusChange
from handlers.messages import Attachment, ConversationKey, OutboundAction, OutgoingMessage
from handlers.staff.room import CardCandidate, RoomAction, StaffAction, StaffCard, StaffRoom

# How long after an event a platform may send it again: Telegram keeps an update for 24 hours
# at most, and Slack retries within minutes.
REDELIVERY_WINDOW = timedelta(days=1)


class ConversationStatus(StrEnum):
    """Whether a conversation is under way or over, and how it ended."""

    ACTIVE = "active"
    # Handed to staff: the customer's messages go to the staff thread, staff replies back.
    WITH_STAFF = "with_staff"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    CLOSED = "closed"
    # Stopped halfway and left; the answers were kept as a draft idea.
    ABANDONED = "abandoned"


class Direction(StrEnum):
    """Which way a transcript message went."""

    INBOUND = "in"
    OUTBOUND = "out"
    # A staff member's reply, relayed to the customer.
    STAFF = "staff"
    # A staff member's internal note: never sent to the customer.
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class VersionCompletion:
    """How many conversations of a flow version started in a period, and how many finished."""

    flow_id: str
    version: int
    started: int
    finished: int


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """A customer as the dialogue needs to know them."""

    id: int
    language: str
    has_history: bool


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """One run of a flow with one customer; ``id`` is None until it is first saved."""

    id: int | None
    customer_id: int
    flow_id: str
    flow_version: int
    status: ConversationStatus
    state: FlowState
    # The campaign whose invitation the customer answered by starting it; None: not invited.
    campaign_id: int | None = None
    # The start link's payload (flow and source label) it began from; None: not from a link.
    start_link: str | None = None


class TrialStatus(StrEnum):
    """Whether an admin's trial of a draft is under way or over, and how it ended."""

    ACTIVE = "active"
    FINISHED = "finished"
    # The admin pressed Stop or typed /cancel.
    STOPPED = "stopped"
    # The admin started another trial while this one ran.
    REPLACED = "replaced"


@dataclass(frozen=True, slots=True)
class TrialRecord:
    """An admin walking a draft in their direct message; ``id`` is None until first saved.

    The draft's definition is a snapshot taken at the start: the trial goes on with it even if
    the draft is published, replaced or thrown away meanwhile.
    """

    id: int | None
    key: ConversationKey
    flow_id: str
    draft_id: int
    # The live version when the trial started, for the Publish button at its end (0: none).
    seen_live: int
    language: str
    definition: FlowDefinition
    status: TrialStatus
    state: FlowState


@dataclass(frozen=True, slots=True)
class StaffThreadRecord:
    """A conversation's staff thread with what the staff side needs to act on it."""

    conversation_id: int
    conversation_status: ConversationStatus
    customer: ConversationKey
    customer_id: int
    customer_language: str
    card: StaffCard


@dataclass(frozen=True, slots=True)
class StalledConversation:
    """A conversation under way in which the customer has gone quiet."""

    conversation: ConversationRecord
    customer: ConversationKey
    language: str
    last_activity: datetime
    reminded: bool


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    """One message of a conversation's transcript, either way."""

    conversation_id: int | None
    customer_id: int
    direction: Direction
    text: str
    platform_message_id: str = ""
    answered: str | None = None
    attachments: tuple[Attachment, ...] = ()
    edited: bool = False
    author: str = ""


class Inbox(Protocol):
    """Remembers which platform events arrived, so a redelivery is handled once."""

    async def claim_inbound(self, *, platform: str, external_id: str, earlier_id: str = "") -> bool:
        """Record that this platform event arrived; False if it was handled before.

        ``earlier_id`` is the id an older ideabot kept the event under: a row of it received
        within ``REDELIVERY_WINDOW`` is this event; an older one may be another that got the id.
        """
        ...


class Customers(Protocol):
    """The customers and what they chose: language, news about ideas."""

    async def customer_for(
        self, *, key: ConversationKey, display_name: str, language: str
    ) -> CustomerProfile:
        """The customer behind ``key``, created on first contact and locked for this turn."""
        ...

    async def customer_exists(self, *, key: ConversationKey) -> bool:
        """Whether ``key`` names a customer already, without creating one."""
        ...

    async def set_customer_language(self, *, customer_id: int, language: str) -> None:
        """Remember the language a customer chose."""
        ...

    async def set_wants_updates(self, *, customer_id: int, wants_updates: bool) -> None:
        """Remember whether the customer wants news about ideas."""
        ...


class InvitationAnswers(Protocol):
    """What a customer's invitation taps and /invitations need: its flow, their choice."""

    async def campaign_flow(self, *, campaign_id: int) -> str | None:
        """The flow the campaign opens; None if there is no such campaign."""
        ...

    async def stop_invitations(self, *, customer_id: int, campaign_id: int) -> None:
        """Invite the customer no more, and count the opt-out for the campaign."""
        ...

    async def wants_invitations(self, *, customer_id: int) -> bool:
        """Whether campaigns may invite the customer (they did not opt out, or came back)."""
        ...

    async def set_wants_invitations(self, *, customer_id: int, wants: bool) -> None:
        """Remember whether campaigns may invite the customer, chosen by /invitations."""
        ...


class PrivacyRequests(Protocol):
    """What a customer already asked of their data from their chat, as the outbox holds it."""

    async def data_export_within(self, *, key: ConversationKey, within: timedelta) -> bool:
        """True if a file of the customer's data was queued for this chat in the last ``within``."""
        ...

    async def erasure_waiting(self, *, key: ConversationKey) -> bool:
        """True if this chat's erasure is queued and has not been carried out yet."""
        ...


class Conversations(Protocol):
    """The customer's conversation with the flow, kept between turns."""

    async def open_conversation(self, *, customer_id: int) -> ConversationRecord | None:
        """The customer's active conversation, if there is one."""
        ...

    async def save_conversation(self, conversation: ConversationRecord) -> int:
        """Insert or update a conversation and return its id."""
        ...


class StalledConversations(Protocol):
    """Conversations the customer left quiet, and the reminder they got."""

    async def lock_stalled(
        self, *, conversation_id: int, idle_since: datetime
    ) -> StalledConversation | None:
        """The conversation if still under way, quiet and not held by another process, locked."""
        ...

    async def mark_reminded(self, *, conversation_id: int, at: datetime) -> None:
        """Remember that the customer was reminded (once per stall)."""
        ...


class Transcript(Protocol):
    """Every message of a conversation, either way, and what it answered."""

    async def record_message(self, entry: TranscriptEntry) -> None:
        """Add a message to the transcript."""
        ...

    async def answered_by(self, *, conversation_id: int, platform_message_id: str) -> str | None:
        """Which answer (step id) a customer's earlier message gave, if any."""
        ...

    async def is_relayed_reply(self, *, conversation_id: int, message_ref: str) -> bool:
        """True if this staff message was relayed to the customer."""
        ...


class IdeaIntake(Protocol):
    """Ideas as customers give them: recorded, or joined to one like it."""

    async def record_idea(
        self,
        *,
        customer_id: int,
        conversation_id: int,
        language: str,
        draft: IdeaDraft,
        status: str = "new",
    ) -> int:
        """Store a recorded idea (a draft, for answers left halfway) and return its id."""
        ...

    async def similar_idea(self, *, text: str, at_least: float) -> tuple[int, str] | None:
        """The open idea most like ``text`` (its id and title), if one scores ``at_least``."""
        ...

    async def join_idea(
        self,
        *,
        idea_id: int,
        customer_id: int,
        conversation_id: int,
        language: str,
        draft: IdeaDraft,
    ) -> None:
        """The customer's idea is ``idea_id``: link them to it, keep their answers beside it."""
        ...

    async def not_the_same(
        self, *, idea_id: int, customer_id: int, conversation_id: int, text: str
    ) -> None:
        """The customer said their idea (``text``) is not ``idea_id``: keep that decision."""
        ...


class SimilarCandidates(Protocol):
    """The open ideas staff are shown as possibly the same as a recorded one."""

    async def similar_candidates(
        self, *, idea_id: int, text: str, limit: int = 5
    ) -> tuple[CardCandidate, ...]:
        """Up to ``limit`` open ideas most like ``text``, best first, ``idea_id`` left out."""
        ...


class IdeaChanges(Protocol):
    """Ideas as staff move them: status, tags, merges, and who follows them."""

    async def idea_for_update(self, *, idea_id: int) -> IdeaSummary | None:
        """The idea, locked for this transaction; None if there is no such idea."""
        ...

    async def record_status_change(
        self, *, idea: IdeaSummary, change: StatusChange, notified: int
    ) -> None:
        """Move the idea to the change's status and keep the change in its history."""
        ...

    async def set_staff_title(self, *, idea_id: int, title: str | None) -> None:
        """Keep the title staff gave the idea (None: none)."""
        ...

    async def change_tags(
        self, *, idea_id: int, add: tuple[str, ...], remove: tuple[str, ...]
    ) -> tuple[str, ...]:
        """Add and take off tags; the idea's tags afterwards, sorted."""
        ...

    async def merge_ideas(
        self, *, duplicate: IdeaSummary, original: IdeaSummary, merged_by: str
    ) -> MergeRecord:
        """Mark ``duplicate`` as one, move its customers to ``original``; what moved."""
        ...

    async def undo_merge(self, *, duplicate_id: int) -> MergeRecord | None:
        """Take the duplicate's last merge back (customers, status); None if there is none."""
        ...

    async def idea_followers(self, *, idea_id: int) -> list[IdeaFollower]:
        """Every customer linked to the idea (its author and its votes)."""
        ...


class StaffThreads(Protocol):
    """Conversations handed to staff: their threads, cards and status."""

    async def open_thread(self, *, room: StaffRoom, card: StaffCard) -> None:
        """Remember that this conversation has (or is getting) a thread in the staff room."""
        ...

    async def thread_of(self, *, conversation_id: int) -> StaffThreadRecord | None:
        """The conversation's staff thread, if it was handed to staff; locked for this turn."""
        ...

    async def thread_at(self, *, room: StaffRoom, thread_ref: str) -> StaffThreadRecord | None:
        """The conversation whose thread this is, if the bot opened it; locked for this turn."""
        ...

    async def last_closed_thread(self, *, customer_id: int) -> StaffThreadRecord | None:
        """The customer's newest conversation that staff had and that is closed now."""
        ...

    async def save_card(self, card: StaffCard) -> None:
        """Store a changed card (assignee, closed, internal only, idea)."""
        ...

    async def set_conversation_status(
        self, *, conversation_id: int, status: ConversationStatus
    ) -> None:
        """Move a conversation to ``status`` (staff closing or reopening it)."""
        ...


class CustomerOutbox(Protocol):
    """Messages waiting to go to customers."""

    async def enqueue(self, *, key: ConversationKey, actions: list[OutboundAction]) -> None:
        """Put messages for the chat of ``key`` in the outbox, in this order."""
        ...

    async def enqueue_news(self, messages: list[tuple[ConversationKey, OutgoingMessage]]) -> None:
        """Queue one message to each of many customers, behind live conversations."""
        ...


class StaffOutbox(Protocol):
    """Posts waiting to go to the staff room and its threads."""

    async def enqueue_to_staff(
        self, *, room: StaffRoom, conversation_id: int, actions: list[StaffAction]
    ) -> None:
        """Put posts for the conversation's staff thread in the outbox, in this order."""
        ...

    async def enqueue_to_room(self, *, room: StaffRoom, actions: list[RoomAction]) -> None:
        """Put posts for the staff room's top level in the outbox, in this order."""
        ...


class Trials(Protocol):
    """Admins' trials of drafts, kept apart from customers' conversations."""

    async def running_trial(
        self, *, key: ConversationKey, idle_limit: timedelta
    ) -> TrialRecord | None:
        """The chat's trial under way, touched within ``idle_limit``, locked for the turn."""
        ...

    async def start_trial(self, trial: TrialRecord) -> int:
        """Store a new trial, ending any other in its chat (one runs per chat); its id."""
        ...

    async def save_trial(self, trial: TrialRecord) -> None:
        """Store where a trial stands now."""
        ...

    async def delete_trials(self, *, touched_before: datetime) -> int:
        """Delete every trial last touched before ``touched_before``; how many."""
        ...


class Schedule(Protocol):
    """Which scheduled job ran for which period, across processes."""

    async def claim_scheduled_run(self, *, job: str, period: str, at: datetime) -> bool:
        """Record that ``job`` runs for ``period``; False if some process did already."""
        ...


TransactionT_co = TypeVar("TransactionT_co", covariant=True)


class Store(Protocol[TransactionT_co]):
    """Opens transactions, each committed together or not at all."""

    def transaction(self) -> AbstractAsyncContextManager[TransactionT_co]:
        """A transaction that commits when the block ends without an error."""
        ...


class FlowCatalog(Protocol):
    """The flows a conversation can follow, every version that was ever started."""

    @property
    def default_flow(self) -> FlowDefinition:
        """The current version of the flow new conversations start."""
        ...

    def live(self, flow_id: str) -> FlowDefinition | None:
        """The live version of ``flow_id``; None when no flow of that name is published."""
        ...

    async def get(self, *, flow_id: str, version: int) -> FlowDefinition:
        """The flow ``flow_id`` at ``version``, as it was when conversations started it."""
        ...


class OutboxSignal(Protocol):
    """Tells the delivery worker that new messages wait in the outbox."""

    def outbox_changed(self) -> None:
        """Wake whoever delivers the outbox."""
        ...


class FlowLibrary(Protocol):
    """Where admins keep flows: live versions, drafts and the audit trail of every change."""

    async def summaries(self) -> list[FlowSummary]:
        """Every flow with a live version, by name."""
        ...

    async def stored(self, *, flow_id: str, version: int | None = None) -> StoredFlow:
        """A stored version of a flow (the live one when ``version`` is None)."""
        ...

    async def push(self, flow: LoadedFlow, *, actor: str) -> Published:
        """Publish ``flow`` as the next version, unless the live version has the same content."""
        ...

    async def import_files(self, flows: list[LoadedFlow], *, actor: str) -> list[Published]:
        """Publish each file that changed since the folder was last imported and differs."""
        ...

    async def draft(self, flow: LoadedFlow, *, actor: str) -> FlowDraft:
        """Keep ``flow`` as a draft of its flow, not seen by customers."""
        ...

    async def drafts(self, *, flow_id: str) -> list[FlowDraft]:
        """The flow's drafts, oldest first."""
        ...

    async def publish_draft(
        self, *, flow_id: str, draft_id: int, actor: str, seen_live: int | None = None
    ) -> Published:
        """Make a draft the next version, live; refused if ``seen_live`` is no longer live."""
        ...

    async def discard_draft(self, *, flow_id: str, draft_id: int, actor: str) -> None:
        """Throw a draft away; UnknownDraft if the flow has no such draft (any more)."""
        ...

    async def publish_version(
        self, *, flow_id: str, version: int, actor: str, seen_live: int | None = None
    ) -> Published:
        """Make a stored version live again; refused if ``seen_live`` is no longer live."""
        ...

    async def rollback(
        self, *, flow_id: str, to: int | None, actor: str, seen_live: int | None = None
    ) -> Published:
        """Make ``to`` (or else the one before live) live; refused if ``seen_live`` moved."""
        ...

    async def history(self, *, flow_id: str) -> list[FlowChange]:
        """Every change of the flow, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class CustomerMatch:
    """A customer found by name, e-mail or platform id, for an operator to pick."""

    id: int
    platform: str
    platform_user_id: str
    display_name: str
    emails: tuple[str, ...]
    conversations: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Farewell:
    """The message that tells a customer their erasure is done, sent only after it is."""

    platform: str
    chat_id: str
    text: str


@dataclass(frozen=True, slots=True)
class ErasureOutcome:
    """What one erasure removed from the database, and what it left to Slack and to people."""

    erasure_id: int
    removed: dict[str, int]
    # Outbox deliveries queued to clean Slack (deletes, rewrites, the report).
    remote_steps: int
    # Slack links of staff messages a bot token cannot delete.
    could_not: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PendingErasure:
    """An erasure whose Slack steps are not all done yet."""

    erasure_id: int
    kind: str
    requested_by: str
    requested_at: datetime
    steps_left: int
    steps_failed: int


class CustomerRecords(Protocol):
    """Finds customers and gathers everything stored about one of them."""

    async def find_customers(self, *, text: str, limit: int) -> list[CustomerMatch]:
        """Customers whose name, e-mail or platform id contains ``text``."""
        ...

    async def export_customer(self, *, customer_id: int) -> dict[str, Any] | None:
        """Everything stored about one customer as JSON values; None if there is no such one."""
        ...


class Erasures(Protocol):
    """Erases a customer's data, or old conversations, each in one transaction."""

    async def erase_customer(
        self, *, customer_id: int, requested_by: str, farewell: Farewell | None = None
    ) -> ErasureOutcome | None:
        """Erase one customer, queue ``farewell`` first and the Slack steps; None if no such."""
        ...

    async def forget_closed_before(
        self, *, cutoff: datetime, period: str, requested_by: str
    ) -> ErasureOutcome | None:
        """Forget conversations closed before ``cutoff``; None if ``period`` already ran.

        A sweep that found nothing old enough writes no audit entry: its ``erasure_id`` is 0.
        """
        ...

    async def pending_erasures(self) -> list[PendingErasure]:
        """Erasures with Slack steps still to do."""
        ...


class EmbeddingUnavailable(Exception):
    """The embedding model could not answer now; the caller falls back to the lexical method."""


class EmbeddingNeeded(Exception):
    """A turn's lookup needs texts the model was not asked for before the turn began."""

    def __init__(self, texts: Sequence[str]) -> None:
        super().__init__(f"{len(texts)} texts to embed before the turn")
        self.texts = tuple(texts)


class EmbeddingAhead(Protocol):
    """Asks the model before a turn's transaction opens, so a slow model holds no lock."""

    async def embed_ahead(self, texts: Sequence[str]) -> None:
        """Embed ``texts`` (and ideas opened since) for the next transaction's lookups."""
        ...


class IdeaEmbedder(Protocol):
    """Turns ideas' texts into vectors whose cosine says how alike they mean."""

    # Stored beside each vector: a change of either means the stored vectors are stale.
    name: str
    version: str

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order; raises EmbeddingUnavailable when it cannot."""
        ...


@dataclass(frozen=True, slots=True)
class InvitationRound:
    """One batch a campaign tick may send: whom, for which run, in which words."""

    campaign_id: int
    run: str
    audience: Audience
    # The invitation per language; customers of another language are not invited.
    messages: dict[str, OutgoingMessage]
    respect: Respect
    now: datetime
    limit: int


@dataclass(frozen=True, slots=True)
class InvitationBatch:
    """What one batch came to: invitations enqueued, and who was left out for want of words."""

    invited: int
    # Customers the batch would have invited but for a text in their language, per language.
    without_text: dict[str, int]


class Campaigns(Protocol):
    """Stored campaigns, their audiences, invitations and figures."""

    async def create(self, campaign: NewCampaign) -> Campaign | None:
        """Store a new campaign as a draft; None if one of that name exists."""
        ...

    async def named(self, name: str) -> Campaign | None:
        """The campaign of that name, if there is one."""
        ...

    async def all(self) -> list[Campaign]:
        """Every campaign, the newest first."""
        ...

    async def running(self) -> list[Campaign]:
        """The campaigns that are inviting now."""
        ...

    async def set_state(
        self, *, campaign_id: int, state: CampaignState, expected: CampaignState, actor: str
    ) -> bool:
        """Move a campaign from ``expected`` to ``state``; False if it was not in ``expected``."""
        ...

    async def audience_size(
        self, *, audience: Audience, respect: Respect, now: datetime, sample: int
    ) -> AudienceSize:
        """Who the audience holds now, after the respect rules (the hour aside)."""
        ...

    async def clash(
        self, *, campaign_id: int, audience: Audience, now: datetime
    ) -> CampaignClash | None:
        """The first other running campaign that shares customers with ``audience``, if any."""
        ...

    async def run_alone(
        self,
        *,
        campaign_id: int,
        audience: Audience,
        expected: CampaignState,
        actor: str,
        now: datetime,
    ) -> CampaignClash | bool:
        """Run it unless a running one shares customers (then that one); False if not expected."""
        ...

    async def invite(self, invitation_round: InvitationRound) -> InvitationBatch:
        """Record and enqueue one batch of invitations in one transaction; what it came to."""
        ...

    async def hold(self, *, campaign_id: int) -> int:
        """Drop the campaign's invitations still waiting in the outbox; how many."""
        ...

    async def record_deliveries(self) -> int:
        """Copy the sent time of delivered invitations from the outbox; how many."""
        ...

    async def figures(self, *, campaign_id: int) -> list[CampaignFigures]:
        """What the campaign's invitations came to, per language."""
        ...
