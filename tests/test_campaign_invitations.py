"""Issue 13: an invitation's buttons reach the dialogue: no more invitations, or its flow."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.campaigns.campaign import CampaignFigures
from handlers.flows.loader import LoadedFlow
from handlers.texts import Text, text
from storage.privacy.records import SqlCustomerRecords
from storage.privacy.store import SqlErasures
from storage.tables import CampaignInvitationRow, ConversationRow, CustomerRow, table_of
from tests.helpers.campaigns import Clock, campaign_desk, new_campaign, respect
from tests.helpers.dialogue import KARI, Customer, make_customer, texts
from tests.helpers.privacy import database_text

Sessions = async_sessionmaker[AsyncSession]
RESUMING = text(Text.RESUMING, "en")


async def _invited_customer(
    sessions: Sessions, flows: list[LoadedFlow], name: str = "spring"
) -> Customer:
    """Kari, known to the bot with nothing under way, holding an invitation of ``name``."""
    customer = await make_customer(sessions, flows)
    await customer.say("/start")
    await customer.say("/cancel")
    desk = campaign_desk(sessions, Clock())
    await desk.create(new_campaign(name))
    await desk.start(name, actor="test")
    assert await desk.tick() == 1
    (invitation,) = texts(await customer.replies())
    assert invitation == "Got a minute? Tell us one idea."
    return customer


async def test_no_more_invitations_is_honoured_at_once_and_counted(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    customer = await _invited_customer(sqlite_sessions, shipped_flows)
    replies = await customer.press("No more invitations")
    assert texts(replies) == [
        "Done: you will get no more invitations to talk. News about your ideas still comes "
        "(/unsubscribe stops it). Write /invitations to change your mind."
    ]
    clock = Clock()
    desk = campaign_desk(sqlite_sessions, clock, rules=None)
    await desk.tick()  # "spring" is done: nobody left
    await desk.create(new_campaign("autumn"))
    preview = await desk.preview("autumn")
    assert preview.audience.total == 0
    _, figures = await desk.figures("spring")
    assert figures == [CampaignFigures("en", invited=1, delivered=1, opted_out=1)]


async def test_start_opens_the_campaigns_flow_and_counts_in_its_figures(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    customer = await _invited_customer(sqlite_sessions, shipped_flows)
    replies = await customer.press("Start")
    assert texts(replies)[0].startswith("Hi! We build our product")
    await customer.say("A dark mode for the mobile app, please, for the evening")
    await customer.say("My eyes hurt when I read in bed at night")
    await customer.press("Every day")
    await customer.press("5")
    await customer.press("No")
    async with sqlite_sessions() as session:
        campaigns = await session.execute(select(table_of(ConversationRow).c.campaign_id))
        assert sorted(campaigns.scalars(), key=str) == [1, None]
    _, figures = await campaign_desk(sqlite_sessions, Clock()).figures("spring")
    assert figures == [
        CampaignFigures("en", invited=1, delivered=1, started=1, finished=1, ideas=1)
    ]


async def test_start_during_a_conversation_begun_since_carries_that_one_on(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    customer = await _invited_customer(sqlite_sessions, shipped_flows)
    await customer.say("/start")
    await customer.say("A dark mode for the mobile app, please, for the evening")
    replies = await customer.press("Start")
    assert texts(replies)[0].startswith(RESUMING)
    async with sqlite_sessions() as session:
        campaigns = await session.execute(select(table_of(ConversationRow).c.campaign_id))
        assert list(campaigns.scalars()) == [None, None]


async def _customer_id(sessions: Sessions) -> int:
    async with sessions() as session:
        return int((await session.execute(select(table_of(CustomerRow).c.id))).scalar_one())


async def test_mydata_has_the_invitation_wish_and_each_invitation_with_its_answer(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    customer = await _invited_customer(sqlite_sessions, shipped_flows)
    await customer.press("Start")
    await customer.say("/cancel")
    # Without the cap, so a second campaign reaches them at once.
    desk = campaign_desk(sqlite_sessions, Clock(), rules=respect(cap_days=0))
    assert await desk.tick() == 0  # "spring" is through
    await desk.create(new_campaign("autumn", texts={"en": "Another minute?"}))
    await desk.start("autumn", actor="test")
    assert await desk.tick() == 1
    await customer.replies()
    await customer.press("No more invitations")
    await desk.tick()  # copies the sent times

    customer_id = await _customer_id(sqlite_sessions)
    exported = await SqlCustomerRecords(sqlite_sessions).export_customer(customer_id=customer_id)

    assert exported is not None
    assert exported["customer"]["wants_invitations"] is False
    invitations = exported["invitations"]
    assert [
        (invitation["campaign"], invitation["text"], invitation["answer"])
        for invitation in invitations
    ] == [
        ("spring", "Got a minute? Tell us one idea.", "started"),
        ("autumn", "Another minute?", "no more invitations"),
    ]
    assert all(
        invitation["invited_at"] and invitation["delivered_at"] for invitation in invitations
    )
    assert invitations[0]["no_more_invitations_at"] is None
    assert invitations[1]["no_more_invitations_at"] is not None
    # An invitation is listed once, as an invitation, not again as news.
    assert "Another minute?" not in str(exported["news"])


async def test_forget_keeps_invitations_only_as_anonymous_counts(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    customer = await _invited_customer(sqlite_sessions, shipped_flows)
    await customer.press("No more invitations")
    customer_id = await _customer_id(sqlite_sessions)
    desk = campaign_desk(sqlite_sessions, Clock())
    _, before = await desk.figures("spring")

    erased = await SqlErasures(sqlite_sessions).erase_customer(
        customer_id=customer_id, requested_by="customer"
    )

    assert erased is not None
    async with sqlite_sessions() as session:
        invitation = (await session.execute(select(table_of(CampaignInvitationRow)))).one()
        tombstone = (await session.execute(select(table_of(CustomerRow)))).one()
    # The outbox row that carried it went with their chat; nothing points at its number.
    assert invitation.outbox_id is None
    assert invitation.customer_id == tombstone.id
    assert (tombstone.platform, tombstone.chat_id, tombstone.wants_invitations) == (
        "erased",
        "",
        False,
    )
    left = await database_text(sqlite_sessions)
    assert "Kari" not in left
    assert f"telegram:{KARI.chat_id}" not in left
    _, after = await desk.figures("spring")
    assert after == before == [CampaignFigures("en", invited=1, delivered=1, opted_out=1)]
    assert (
        await SqlCustomerRecords(sqlite_sessions).export_customer(customer_id=customer_id) is None
    )


async def _wants_invitations(sessions: Sessions) -> bool:
    async with sessions() as session:
        found = await session.execute(select(table_of(CustomerRow).c.wants_invitations))
        return bool(found.scalar_one())


async def test_invitations_brings_a_customer_who_said_no_more_back(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    """Review of issue 13: "No more invitations" had no way back."""
    customer = await _invited_customer(sqlite_sessions, shipped_flows)
    await customer.press("No more invitations")
    assert texts(await customer.say("/invitations")) == [
        "You get no invitations to talk from us now. Tap below to get them again."
    ]
    replies = await customer.press("Invite me again")
    assert texts(replies) == [
        "Done: we may invite you to talk now and then again. "
        "Write /invitations to change your mind."
    ]
    assert await _wants_invitations(sqlite_sessions) is True
    # Without the cap, so the next campaign may reach them at once.
    desk = campaign_desk(sqlite_sessions, Clock(), rules=respect(cap_days=0))
    await desk.tick()  # "spring" is done: nobody left
    await desk.create(new_campaign("autumn"))
    assert (await desk.preview("autumn")).audience.total == 1


async def test_invitations_turns_them_off_in_the_customers_language(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    customer = await make_customer(sqlite_sessions, shipped_flows)
    customer.language_code = "nb"
    assert texts(await customer.say("/invitations")) == [
        "Du kan få en invitasjon til å prate med oss av og til. "
        "Trykk under hvis du heller vil slippe."
    ]
    replies = await customer.press("Ingen flere invitasjoner")
    assert texts(replies) == [
        "Greit: du får ikke flere invitasjoner til å prate. Nyheter om ideene dine kommer "
        "fortsatt (/unsubscribe stopper dem). Skriv /invitations hvis du ombestemmer deg."
    ]
    assert await _wants_invitations(sqlite_sessions) is False


async def test_invitations_in_the_middle_of_a_question_asks_it_again(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    customer = await make_customer(sqlite_sessions, shipped_flows)
    first = texts(await customer.say("/start"))
    await customer.say("/invitations")
    (reply,) = texts(await customer.press("No more invitations"))
    assert reply.startswith("Done: you will get no more invitations to talk.")
    assert reply.endswith("\n\nWhat would you like us to improve or create?")
    assert first[-1].endswith("\n\nWhat would you like us to improve or create?")
    assert await _wants_invitations(sqlite_sessions) is False


def test_privacy_and_help_name_the_invitations_command() -> None:
    for language in ("en", "nb"):
        assert "/invitations" in text(Text.PRIVACY, language, how_long="")
        assert "/invitations" in text(Text.HELP, language)
