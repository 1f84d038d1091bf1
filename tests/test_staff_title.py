"""Issue 11: staff give an idea its own title; the card and the digest show it, erasure keeps it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.slack.commands import Retitle, parse_ideas_command
from bot.slack.format import card_blocks
from handlers.flows.loader import LoadedFlow
from handlers.ideas.desk import ChangeOutcome, IdeaDesk
from handlers.ideas.status import StatusLabels, TitleChange
from handlers.privacy.desk import PrivacyDesk
from handlers.staff.room import StaffCard
from storage.dialogue.store import SqlDialogueStore
from storage.digest_queries import SqlDigestSource
from storage.idea_queries import export_ideas
from storage.privacy.records import SqlCustomerRecords
from storage.privacy.store import SqlErasures
from storage.tables import CustomerRow, IdeaFollowerRow, table_of
from storage.types import utc_now
from tests.helpers.dialogue import CountingSignal, finish_default_flow
from tests.helpers.staff_desk import ROOM, make_pair

Sessions = async_sessionmaker[AsyncSession]
TITLE = "Dark theme for the mobile app"


def _idea_desk(sessions: Sessions) -> IdeaDesk:
    return IdeaDesk(
        store=SqlDialogueStore(sessions),
        outbox_signal=CountingSignal(),
        labels=StatusLabels.default(),
        staff_room=ROOM,
    )


def _title(words: str, external_id: str = "command:t1") -> TitleChange:
    return TitleChange(external_id=external_id, idea_id=1, changed_by="Anne", title=words)


async def test_a_staff_title_shows_on_the_card_and_in_the_digest_and_outlives_an_erasure(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    customer, staff = await make_pair(sqlite_sessions, shipped_flows)
    await finish_default_flow(customer)
    await staff.posts()
    ideas = _idea_desk(sqlite_sessions)
    result = await ideas.change_title(_title(f"  {TITLE}  "))
    assert result.outcome is ChangeOutcome.CHANGED
    assert (await ideas.change_title(_title(TITLE))).outcome is ChangeOutcome.DUPLICATE
    update, note = await staff.posts()
    card = StaffCard.from_json(update["card"])
    assert card.staff_title == TITLE
    fallback, blocks = card_blocks(card)
    assert fallback.endswith(f": {TITLE}")
    assert f"*{TITLE}*\n_A dark mode for the mobile app" in blocks[1]["text"]["text"]
    assert note["text"] == f"Anne titled this idea “{TITLE}”."
    now = utc_now()
    digest = await SqlDigestSource(sqlite_sessions).gather(
        since=now - timedelta(days=1),
        until=now + timedelta(minutes=1),
        waiting_longer_than=timedelta(hours=24),
    )
    assert [idea.title for idea in digest.new_ideas] == [TITLE]

    # The author is erased, but another customer follows the idea: it keeps staff's title.
    (idea,) = await export_ideas(sqlite_sessions)
    privacy = PrivacyDesk(
        records=SqlCustomerRecords(sqlite_sessions),
        erasures=SqlErasures(sqlite_sessions),
        outbox_signal=CountingSignal(),
    )
    await _follow(sqlite_sessions, idea_id=idea["id"])
    assert await privacy.erase(idea["customer"]["id"], requested_by="customer") is not None
    (kept,) = await export_ideas(sqlite_sessions)
    assert kept["title"] == TITLE


async def test_a_dash_takes_the_staff_title_back(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    customer, staff = await make_pair(sqlite_sessions, shipped_flows)
    await finish_default_flow(customer)
    ideas = _idea_desk(sqlite_sessions)
    await ideas.change_title(_title(TITLE))
    await ideas.change_title(_title("", external_id="command:t2"))
    *_, update, note = await staff.posts()
    assert StaffCard.from_json(update["card"]).staff_title == ""
    assert note["text"] == "Anne took back the staff title."
    assert (await ideas.change_title(_title(TITLE, "command:t3"))).outcome is ChangeOutcome.CHANGED
    unknown = TitleChange(external_id="command:t4", idea_id=99, changed_by="Anne", title=TITLE)
    assert (await ideas.change_title(unknown)).outcome is ChangeOutcome.NOT_FOUND


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (f"title 12 {TITLE}", Retitle(12, TITLE)),
        ("title #3 -", Retitle(3, "")),
        ("title 3", None),
        ("title three Dark", None),
    ],
)
def test_the_title_command_is_understood(words: str, expected: Retitle | None) -> None:
    parsed = parse_ideas_command(words, StatusLabels.default())
    if expected is None:
        assert isinstance(parsed, str)
        assert "/ideas title ID New title" in parsed
    else:
        assert parsed == expected


async def _follow(sessions: Sessions, *, idea_id: int) -> None:
    """A second customer says "me too" to the idea."""
    now = utc_now()
    async with sessions() as session, session.begin():
        result = await session.execute(
            insert(table_of(CustomerRow))
            .values(
                platform="telegram",
                platform_user_id="99",
                chat_id="99",
                display_name="Ola",
                language="en",
                wants_updates=True,
                created_at=now,
                updated_at=now,
            )
            .returning(table_of(CustomerRow).c.id)
        )
        await session.execute(
            insert(table_of(IdeaFollowerRow)).values(
                idea_id=idea_id, customer_id=result.scalar_one(), kind="me_too", created_at=now
            )
        )
