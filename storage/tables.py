"""The database tables, one SQLModel class per table, named by the role of a row."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from storage.types import JsonColumnType, UtcDateTime, utc_now


def table_of(model: type[SQLModel]) -> Table:
    """The SQLAlchemy table of a table model, for core statements (upserts, joins, updates)."""
    # SQLModel's metaclass sets __table__ but does not declare it to type checkers.
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table), f"{model.__name__} is not a table model"
    return table


def _timestamp(*, nullable: bool = False, index: bool = False) -> Any:
    # The column default also covers core INSERTs (the upserts), which skip default_factory.
    return Field(
        default_factory=utc_now if not nullable else lambda: None,
        sa_column=Column(
            UtcDateTime(), nullable=nullable, index=index, default=None if nullable else utc_now
        ),
    )


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JsonColumnType, nullable=False))


class OutboxState(StrEnum):
    """Where an outbox row is on its way to the platform."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class EventState(StrEnum):
    """Where a stored platform event is: waiting, handled, or given up on."""

    PENDING = "pending"
    HANDLED = "handled"
    FAILED = "failed"


class CustomerRow(SQLModel, table=True):
    """A person who talks to the bot on one platform."""

    __tablename__ = "customer"
    __table_args__ = (
        UniqueConstraint("platform", "platform_user_id", name="uq_customer_identity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=32)
    platform_user_id: str = Field(max_length=128)
    chat_id: str = Field(max_length=128)
    display_name: str = Field(default="", max_length=256)
    language: str = Field(max_length=16)
    unreachable: bool = False
    unreachable_reason: str = Field(default="", max_length=512)
    # False once the customer asked for no news about ideas (/unsubscribe).
    wants_updates: bool = True
    # False once the customer tapped "No more invitations": no campaign invites them again.
    wants_invitations: bool = Field(default=True, sa_column_kwargs={"server_default": text("true")})
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class FlowVersionRow(SQLModel, table=True):
    """A flow definition exactly as conversations started it, kept for as long as they run."""

    __tablename__ = "flow_version"
    __table_args__ = (UniqueConstraint("flow_id", "version", name="uq_flow_version"),)

    id: int | None = Field(default=None, primary_key=True)
    flow_id: str = Field(max_length=64)
    version: int
    checksum: str = Field(max_length=64)
    source: str = Field(default="", max_length=1024)
    definition: dict[str, Any] = _json(dict)
    # Who stored it: "cli:<user>", "file" for the flows folder; "" for versions from before.
    created_by: str = Field(default="", max_length=128)
    created_at: datetime = _timestamp()


class FlowLiveRow(SQLModel, table=True):
    """Which version of a flow new conversations start, and who made it so when."""

    __tablename__ = "flow_live"

    flow_id: str = Field(primary_key=True, max_length=64)
    version: int
    changed_by: str = Field(default="", max_length=128)
    changed_at: datetime = _timestamp()


class FlowDraftRow(SQLModel, table=True):
    """A flow stored but not published: customers never see it."""

    __tablename__ = "flow_draft"

    id: int | None = Field(default=None, primary_key=True)
    flow_id: str = Field(max_length=64, index=True)
    checksum: str = Field(max_length=64)
    source: str = Field(default="", max_length=1024)
    definition: dict[str, Any] = _json(dict)
    # The live version when the draft was made, to tell what it changes.
    based_on: int | None = None
    created_by: str = Field(max_length=128)
    created_at: datetime = _timestamp()


class FlowChangeRow(SQLModel, table=True):
    """One entry of the audit trail of flows; the newest id is the stamp processes poll."""

    __tablename__ = "flow_change"

    id: int | None = Field(default=None, primary_key=True)
    flow_id: str = Field(max_length=64, index=True)
    action: str = Field(max_length=16)
    from_version: int | None = None
    to_version: int | None = None
    draft_id: int | None = None
    source: str = Field(default="", max_length=1024)
    actor: str = Field(max_length=128)
    created_at: datetime = _timestamp()


class FlowTrialRow(SQLModel, table=True):
    """An admin walking a draft in their direct message: apart from customers' conversations."""

    __tablename__ = "flow_trial"
    __table_args__ = (
        Index("ix_flow_trial_chat_status", "platform", "chat_id", "status"),
        # One trial under way per chat, even when two processes start one at once.
        Index(
            "ux_flow_trial_active_chat",
            "platform",
            "chat_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_flow_trial_updated_at", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=32)
    chat_id: str = Field(max_length=128)
    user_id: str = Field(max_length=128)
    flow_id: str = Field(max_length=64)
    # The draft tried; its definition is copied below, so the trial outlives a publish or discard.
    draft_id: int
    definition: dict[str, Any] = _json(dict)
    # The live version when the trial started (0: none), for the Publish button at its end.
    seen_live: int = 0
    language: str = Field(max_length=16)
    status: str = Field(max_length=16)
    state: dict[str, Any] = _json(dict)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class ConversationRow(SQLModel, table=True):
    """One run of a flow with one customer, with where it stands."""

    __tablename__ = "conversation"
    __table_args__ = (
        Index("ix_conversation_customer_status", "customer_id", "status"),
        Index("ix_conversation_status_updated_at", "status", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    platform: str = Field(max_length=32)
    chat_id: str = Field(max_length=128)
    flow_id: str = Field(max_length=64)
    flow_version: int
    step: str = Field(max_length=64)
    status: str = Field(max_length=16)
    state: dict[str, Any] = _json(dict)
    created_at: datetime = _timestamp()
    # The customer's last activity (any change the dialogue saves).
    updated_at: datetime = _timestamp()
    # When a stalled conversation was reminded; cleared when the customer carries on.
    reminded_at: datetime | None = _timestamp(nullable=True)
    # When its transcript and answers were erased (retention or an erasure); None: still kept.
    forgotten_at: datetime | None = _timestamp(nullable=True)
    # The campaign whose invitation started it, for the campaign's figures; None: not invited.
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    # The start link's payload it began from (``spring_2026-poster``), for per-link figures.
    start_link: str | None = Field(default=None, max_length=64, index=True)


class MessageRow(SQLModel, table=True):
    """One message of a transcript, from the customer or to them."""

    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_conversation_platform_id", "conversation_id", "platform_message_id"),
        # The answers alone, in the order a flow's funnel groups them (storage/flows/stats.py):
        # it reads each step's first answer without sorting or touching the rows.
        Index(
            "ix_message_answers",
            "conversation_id",
            "answered",
            "created_at",
            "direction",
            sqlite_where=text("answered IS NOT NULL"),
            postgresql_where=text("answered IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    direction: str = Field(max_length=8)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    platform_message_id: str = Field(default="", max_length=128)
    # Who wrote it when not the customer or the bot: the staff member's name.
    author: str = Field(default="", max_length=256)
    answered: str | None = Field(default=None, max_length=80)
    attachments: list[dict[str, Any]] = _json(list)
    edited: bool = False
    created_at: datetime = _timestamp()


class IdeaRow(SQLModel, table=True):
    """An idea a customer gave, with every answer that describes it."""

    __tablename__ = "idea"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    title: str = Field(max_length=256)
    # A title staff wrote themselves: what the idea keeps when its author's words are erased.
    staff_title: str | None = Field(default=None, max_length=256)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    problem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    frequency: str | None = Field(default=None, max_length=64)
    importance: int | None = None
    may_contact: bool | None = None
    email: str | None = Field(default=None, max_length=320)
    answers: dict[str, Any] = _json(dict)
    attachments: list[dict[str, Any]] = _json(list)
    status: str = Field(default="new", max_length=32, index=True)
    # Set when the customer said their idea is the same as this one (its answers stay here).
    duplicate_of: int | None = Field(default=None, foreign_key="idea.id")
    language: str = Field(max_length=16)
    # Set for an idea imported from another tool (`ideabot ideas import`): its id there, so a
    # second import skips it, and the votes it had there.
    source_id: str | None = Field(default=None, max_length=128, unique=True, index=True)
    source_votes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = _timestamp(index=True)
    # Indexed: each similar-idea lookup asks which ideas changed since the last one.
    updated_at: datetime = _timestamp(index=True)


class IdeaVectorRow(SQLModel, table=True):
    """An idea's embedding by one model, kept so a restart or another process need not redo it."""

    __tablename__ = "idea_vector"

    idea_id: int = Field(foreign_key="idea.id", primary_key=True)
    # Which model made it: vectors of another name or version are stale, never compared.
    model: str = Field(primary_key=True, max_length=128)
    version: str = Field(primary_key=True, max_length=256)
    dimensions: int
    # float32 values, little-endian: 1.5 KB for 384 dimensions, read straight into numpy.
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = _timestamp()


class SimilarDecisionRow(SQLModel, table=True):
    """A labelled pair: a wording and an idea the team or the customer said is (not) the same."""

    __tablename__ = "similar_decision"

    id: int | None = Field(default=None, primary_key=True)
    # The original (a merge's) or the idea the customer was asked about.
    idea_id: int = Field(foreign_key="idea.id", index=True)
    # The other wording: the duplicate's text or the customer's; "" once its author is erased.
    text: str = Field(sa_column=Column(Text, nullable=False))
    same: bool
    # merge, unmerge, customer_yes, customer_no.
    source: str = Field(max_length=32)
    # Whose words ``text`` holds, so an erasure finds them; None for an imported idea's.
    customer_id: int | None = Field(default=None, index=True)
    # The conversation the words came from, so the retention sweep finds them with it.
    conversation_id: int | None = Field(default=None, index=True)
    # How the pair scored at the time, and by which method (a model's name, or lexical).
    method: str = Field(max_length=128, index=True)
    score: float
    # A confirmed wording's vector by the model in ``vector_model``, so it is not embedded again.
    vector_model: str = Field(default="", max_length=400)
    vector: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = _timestamp()


class SimilarCalibrationRow(SQLModel, table=True):
    """The offer threshold the stored decisions support for one method, shared by every process."""

    __tablename__ = "similar_calibration"

    method: str = Field(primary_key=True, max_length=128)
    threshold: float
    decisions: int
    same: int
    # False: too few decisions yet, the configured threshold is in use.
    calibrated: bool
    updated_at: datetime = _timestamp()


class InboxRow(SQLModel, table=True):
    """A platform event already handled; the unique key is what stops a redelivery."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_inbox_event"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=32)
    external_id: str = Field(max_length=128)
    received_at: datetime = _timestamp()


class OutboxRow(SQLModel, table=True):
    """A message waiting to be sent (or sent, or given up on), in order per destination."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_state_destination_id", "state", "destination", "id"),
        Index("ix_outbox_state_priority_id", "state", "priority", "id"),
    )

    # BIGINT on PostgreSQL for a long life; SQLite only autoincrements an INTEGER key.
    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    destination: str = Field(max_length=160)
    platform: str = Field(max_length=32)
    chat_id: str = Field(max_length=128)
    action: str = Field(max_length=32)
    payload: dict[str, Any] = _json(dict)
    # Lower goes first: live conversations (0) before news to many customers (1).
    priority: int = 0
    state: str = Field(default=OutboxState.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _timestamp()
    lease_until: datetime | None = _timestamp(nullable=True)
    last_error: str = Field(default="", max_length=1024)
    platform_message_id: str = Field(default="", max_length=128)
    created_at: datetime = _timestamp()
    sent_at: datetime | None = _timestamp(nullable=True)


class StaffThreadRow(SQLModel, table=True):
    """A conversation handed to staff: its card and the thread the card opened."""

    __tablename__ = "staff_thread"
    __table_args__ = (UniqueConstraint("room_chat_id", "thread_ref", name="uq_staff_thread_ref"),)

    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True)
    room_platform: str = Field(max_length=32)
    room_chat_id: str = Field(max_length=128)
    # Set when the card is posted (the thread's id on the platform, a Slack ``ts``).
    thread_ref: str | None = Field(default=None, max_length=64)
    card: dict[str, Any] = _json(dict)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class PlatformEventRow(SQLModel, table=True):
    """An event a platform pushed to us, stored before it is acknowledged, handled after."""

    __tablename__ = "platform_event"
    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_platform_event"),
        Index("ix_platform_event_state_ordering_id", "state", "ordering_key", "id"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    platform: str = Field(max_length=32)
    external_id: str = Field(max_length=128)
    # Events with one key (a chat, a thread) are handled one at a time, in arrival order.
    ordering_key: str = Field(max_length=160)
    payload: dict[str, Any] = _json(dict)
    state: str = Field(default=EventState.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _timestamp()
    lease_until: datetime | None = _timestamp(nullable=True)
    last_error: str = Field(default="", max_length=1024)
    received_at: datetime = _timestamp()
    handled_at: datetime | None = _timestamp(nullable=True)


class IdeaFollowerRow(SQLModel, table=True):
    """A customer linked to an idea: its author, or one who said "me too"; they hear its news."""

    __tablename__ = "idea_follower"

    idea_id: int = Field(foreign_key="idea.id", primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", primary_key=True, index=True)
    kind: str = Field(max_length=16)
    created_at: datetime = _timestamp()


class IdeaStatusChangeRow(SQLModel, table=True):
    """One change of an idea's status: who, when, and what the customers were told."""

    __tablename__ = "idea_status_change"

    id: int | None = Field(default=None, primary_key=True)
    idea_id: int = Field(foreign_key="idea.id", index=True)
    from_status: str = Field(max_length=32)
    to_status: str = Field(max_length=32)
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    changed_by: str = Field(default="", max_length=256)
    notified: int = 0
    created_at: datetime = _timestamp(index=True)


class IdeaTagRow(SQLModel, table=True):
    """A tag staff gave an idea, to find it again and group it."""

    __tablename__ = "idea_tag"

    idea_id: int = Field(foreign_key="idea.id", primary_key=True)
    tag: str = Field(max_length=64, primary_key=True, index=True)
    created_at: datetime = _timestamp()


class ScheduledRunRow(SQLModel, table=True):
    """A scheduled job's run for one period; the unique key makes it run once in all processes."""

    __tablename__ = "scheduled_run"
    __table_args__ = (UniqueConstraint("job", "period", name="uq_scheduled_run"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64)
    period: str = Field(max_length=32)
    ran_at: datetime = _timestamp()


class IdeaMergeRow(SQLModel, table=True):
    """A duplicate merged into its original: what moved, so the merge can be undone."""

    __tablename__ = "idea_merge"

    id: int | None = Field(default=None, primary_key=True)
    duplicate_id: int = Field(foreign_key="idea.id", index=True)
    original_id: int = Field(foreign_key="idea.id")
    from_status: str = Field(max_length=32)
    # "moved": customers newly linked to the original; "linked": all the duplicate had.
    moved: dict[str, list[int]] = _json(dict)
    merged_by: str = Field(default="", max_length=256)
    created_at: datetime = _timestamp()
    undone_at: datetime | None = _timestamp(nullable=True)


class DeadLetterRow(SQLModel, table=True):
    """An update or event that could not be parsed or handled, kept aside for a person."""

    __tablename__ = "dead_letter"
    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_dead_letter"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=32)
    external_id: str = Field(max_length=128)
    # The chat or thread it belongs to, so a retry keeps that chat's order ("" if unknown).
    ordering_key: str = Field(default="", max_length=160)
    # What went wrong, in ideabot's words: never the customer's.
    reason: str = Field(default="", max_length=512)
    # The raw payload as ASCII JSON, so NUL and lone surrogates are kept exactly as they came.
    payload: str = Field(default="", sa_column=Column(Text, nullable=False))
    size_bytes: int = 0
    created_at: datetime = _timestamp(index=True)


class ErasureRow(SQLModel, table=True):
    """The audit entry of one erasure: what was removed and what was not; no personal data."""

    __tablename__ = "erasure"

    id: int | None = Field(default=None, primary_key=True)
    # "customer": one customer's data on request; "retention": old conversations.
    kind: str = Field(max_length=16)
    requested_by: str = Field(max_length=128)
    requested_at: datetime = _timestamp()
    # Counts per kind of thing removed, e.g. {"messages": 12, "ideas_removed": 1}.
    removed: dict[str, int] = _json(dict)
    # Slack links of staff messages a bot token cannot delete.
    could_not: list[str] = _json(list)
    remote_steps: int = 0
    # Set when its last remote step (the report) was done; None while steps wait.
    finished_at: datetime | None = _timestamp(nullable=True)


class CampaignRow(SQLModel, table=True):
    """An invitation campaign: which flow it opens, who is invited, in which words, and when."""

    __tablename__ = "campaign"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    flow_id: str = Field(max_length=64)
    # The invitation's text per language code.
    texts: dict[str, str] = _json(dict)
    # The audience filter as the core's Audience.to_json writes it.
    audience: dict[str, Any] = _json(dict)
    # "now", or a recurring rule such as "monthly 1 mon 10:00" (the installation's time zone).
    schedule: str = Field(max_length=64)
    state: str = Field(max_length=16, index=True)
    created_by: str = Field(max_length=128)
    created_at: datetime = _timestamp()
    changed_by: str = Field(default="", max_length=128)
    changed_at: datetime = _timestamp()


class CampaignInvitationRow(SQLModel, table=True):
    """One customer invited by one run of a campaign; the unique key stops a second invitation."""

    __tablename__ = "campaign_invitation"
    __table_args__ = (
        UniqueConstraint("campaign_id", "run", "customer_id", name="uq_campaign_invitation"),
        # The cap across campaigns asks for each customer's latest invitation.
        Index("ix_campaign_invitation_customer_created_at", "customer_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    # The run: "once" for a campaign sent now, else the date its schedule fired.
    run: str = Field(max_length=32)
    customer_id: int = Field(foreign_key="customer.id")
    language: str = Field(max_length=16)
    # The outbox row that carries it; the campaign tick copies its sent time to delivered_at,
    # which outlives the row (retention ages sent rows out).
    outbox_id: int | None = None
    delivered_at: datetime | None = _timestamp(nullable=True)
    opted_out_at: datetime | None = _timestamp(nullable=True)
    created_at: datetime = _timestamp()
