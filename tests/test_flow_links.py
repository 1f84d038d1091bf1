"""Start links: ``/start <flow>`` opens that live flow; an unknown name falls back kindly."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.links import (
    BadSource,
    StartLink,
    could_be_flow_id,
    parsed_start_link,
    start_link,
)
from handlers.flows.loader import FlowFileError, LoadedFlow, parse_flow
from storage.tables import ConversationRow
from tests.conftest import SHIPPED_FLOWS
from tests.helpers.dialogue import Customer, make_customer, texts

CAMPAIGN_QUESTION = "Which feature should our spring release bring?"
DEFAULT_QUESTION = "What would you like us to improve or create?"
UNKNOWN_LINK = "I don't recognise the link you followed, so we'll go on with the usual questions."


def campaign_flow() -> LoadedFlow:
    """The shipped flow as a campaign: another id and another first question."""
    text = (SHIPPED_FLOWS / "idea.yaml").read_text(encoding="utf-8")
    return parse_flow(
        text.replace("id: idea\nname: Share an idea", "id: spring_2026\nname: Spring").replace(
            DEFAULT_QUESTION, CAMPAIGN_QUESTION
        ),
        source="spring_2026.yaml",
    )


@pytest.fixture
async def customer(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> Customer:
    return await make_customer(sqlite_sessions, [*shipped_flows, campaign_flow()])


async def conversation_flows(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str]]:
    return [(flow_id, status) for flow_id, status, _ in await conversation_links(sessions)]


async def conversation_links(
    sessions: async_sessionmaker[AsyncSession],
) -> list[tuple[str, str, str | None]]:
    from sqlmodel import select

    async with sessions() as session:
        rows = (await session.execute(select(ConversationRow).order_by("id"))).scalars()
        return [(row.flow_id, row.status, row.start_link) for row in rows]


@pytest.mark.parametrize(
    ("payload", "link"),
    [
        ("spring_2026", StartLink("spring_2026")),
        ("Spring_2026", StartLink("spring_2026")),
        ("spring_2026-poster", StartLink("spring_2026", "poster")),
        ("Spring_2026-Oslo_shop-2", StartLink("spring_2026", "oslo_shop-2")),
        ("a-b", StartLink("a", "b")),
        ("a--b", StartLink("a", "-b")),
        ("x" * 64, StartLink("x" * 64)),
        ("x" * 40 + "-" + "y" * 23, StartLink("x" * 40, "y" * 23)),
        ("x" * 65, None),
        ("x" * 40 + "-" + "y" * 24, None),
        ("spring_2026-", None),
        ("-poster", None),
        ("spring 2026", None),
        ("spring_2026-po ster", None),
        ("spring_2026-a.b", None),
        ("spring.2026", None),
        ("våren", None),
        ("spring_2026-våren", None),
        ("", None),
    ],
)
def test_only_what_a_telegram_link_can_carry_names_a_flow(
    payload: str, link: StartLink | None
) -> None:
    assert parsed_start_link(payload) == link


@pytest.mark.parametrize(
    ("flow_id", "source"),
    [
        ("spring_2026", None),
        ("spring_2026", "poster"),
        ("a_b_c", "Oslo-shop_2"),
        ("x" * 40, "y" * 23),
    ],
)
def test_a_made_link_reads_back_as_itself(flow_id: str, source: str | None) -> None:
    made = start_link(flow_id, source)
    assert parsed_start_link(made.payload) == made
    assert len(made.payload) <= 64


def test_a_flow_id_never_holds_the_separator() -> None:
    """The first '-' ends the flow id only while no flow id can hold one."""
    text = (SHIPPED_FLOWS / "idea.yaml").read_text(encoding="utf-8")
    with pytest.raises(FlowFileError):
        parse_flow(text.replace("id: idea\n", "id: spring-2026\n"), source="spring-2026.yaml")
    assert not could_be_flow_id("spring-2026")


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("", "give the source label at least one character, or leave --source out"),
        (
            "p" * 53,
            "the source label has 53 characters; a link to flow 'spring_2026' has room for at "
            "most 52 (Telegram allows 64 in all)",
        ),
        ("p" * 1_000_000, "the source label has 1000000 characters"),
        ("poster.a4", "the source label may hold only the letters a-z, digits, '_' and '-'"),
        ("våren", "the source label may hold only the letters a-z"),
        ("\u212a", "the source label may hold only the letters a-z"),
        ("a b", "the source label may hold only the letters a-z"),
    ],
)
def test_a_source_no_link_can_carry_is_refused_in_one_sentence(source: str, said: str) -> None:
    with pytest.raises(BadSource) as refused:
        start_link("spring_2026", source)
    assert str(refused.value).startswith(said)
    assert "\n" not in str(refused.value)
    assert len(str(refused.value)) < 200


async def test_a_link_starts_its_flow_and_the_conversation_keeps_it(
    customer: Customer, sqlite_sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = texts(await customer.say("/start spring_2026"))
    assert len(first) == 1
    assert first[0].startswith("Hi! We build our product")
    assert first[0].endswith(CAMPAIGN_QUESTION)
    asked = texts(await customer.say("A dark mode for the mobile app, please, for the evening"))
    assert asked == ["What problem would it solve for you?"]
    # A plain /start later carries on with the campaign, not the default flow.
    again = texts(await customer.say("/start"))
    assert again == [
        "We were in the middle of something. Here is the question again:\n\n"
        "What problem would it solve for you?"
    ]
    assert await conversation_flows(sqlite_sessions) == [("spring_2026", "active")]


@pytest.mark.parametrize("payload", ["nosuch", "spring 2026", "x" * 65, "../idea"])
async def test_an_unknown_link_starts_the_default_flow_kindly(
    customer: Customer, payload: str
) -> None:
    (reply,) = texts(await customer.say(f"/start {payload}"))
    assert reply.startswith(UNKNOWN_LINK + "\n\nHi! We build our product")
    assert reply.endswith(DEFAULT_QUESTION)


async def test_an_unknown_link_says_so_in_the_customers_language(customer: Customer) -> None:
    customer.language_code = "nb"
    (reply,) = texts(await customer.say("/start nosuch"))
    assert reply.startswith("Jeg kjenner ikke igjen lenken du fulgte")
    assert reply.endswith("Hva vil du at vi skal forbedre eller lage?")


async def test_a_link_to_another_flow_mid_flow_starts_that_flow_over(
    customer: Customer, sqlite_sessions: async_sessionmaker[AsyncSession]
) -> None:
    await customer.say("/start")
    await customer.say("A dark mode for the mobile app, please, for the evening")
    (reply,) = texts(await customer.say("/start spring_2026"))
    assert reply.startswith("Let's start over.\n\nHi! We build our product")
    assert reply.endswith(CAMPAIGN_QUESTION)
    assert await conversation_flows(sqlite_sessions) == [
        ("idea", "cancelled"),
        ("spring_2026", "active"),
    ]


async def test_a_link_to_the_same_flow_mid_flow_carries_on(customer: Customer) -> None:
    await customer.say("/start spring_2026")
    await customer.say("A dark mode for the mobile app, please, for the evening")
    (reply,) = texts(await customer.say("/start spring_2026"))
    assert reply == (
        "We were in the middle of something. Here is the question again:\n\n"
        "What problem would it solve for you?"
    )


async def test_an_unknown_link_mid_flow_keeps_the_answers(customer: Customer) -> None:
    await customer.say("/start spring_2026")
    await customer.say("A dark mode for the mobile app, please, for the evening")
    (reply,) = texts(await customer.say("/start nosuch"))
    assert reply.startswith(UNKNOWN_LINK + "\n\nWe were in the middle of something.")
    assert reply.endswith("What problem would it solve for you?")


async def test_restart_begins_the_conversations_own_flow_again(
    customer: Customer, sqlite_sessions: async_sessionmaker[AsyncSession]
) -> None:
    await customer.say("/start spring_2026")
    await customer.say("A dark mode for the mobile app, please, for the evening")
    (reply,) = texts(await customer.say("/restart"))
    assert reply == f"Let's start over.\n\n{CAMPAIGN_QUESTION}"
    assert await conversation_flows(sqlite_sessions) == [
        ("spring_2026", "cancelled"),
        ("spring_2026", "active"),
    ]


async def test_the_conversation_keeps_the_link_it_began_from(
    customer: Customer, sqlite_sessions: async_sessionmaker[AsyncSession]
) -> None:
    (reply,) = texts(await customer.say("/start Spring_2026-Poster"))
    assert reply.endswith(CAMPAIGN_QUESTION)
    # Another link to the same flow mid-flow carries on: the first link keeps the conversation.
    await customer.say("/start spring_2026-receipt")
    await customer.say("/cancel")
    await customer.say("/start spring_2026")
    await customer.say("/cancel")
    # A link no one can make, an unknown flow, and no link: the default flow, from no link.
    await customer.say("/start spring_2026-po.ster")
    await customer.say("/cancel")
    await customer.say("/start nosuch-poster")
    await customer.say("/cancel")
    await customer.say("/start")
    assert await conversation_links(sqlite_sessions) == [
        ("spring_2026", "cancelled", "spring_2026-poster"),
        ("spring_2026", "cancelled", "spring_2026"),
        ("idea", "cancelled", None),
        ("idea", "cancelled", None),
        ("idea", "active", None),
    ]
