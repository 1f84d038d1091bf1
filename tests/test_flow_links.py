"""Start links: ``/start <flow>`` opens that live flow; an unknown name falls back kindly."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.links import linked_flow_id
from handlers.flows.loader import LoadedFlow, parse_flow
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
    from sqlmodel import select

    async with sessions() as session:
        rows = (await session.execute(select(ConversationRow).order_by("id"))).scalars()
        return [(row.flow_id, row.status) for row in rows]


@pytest.mark.parametrize(
    ("payload", "flow_id"),
    [
        ("spring_2026", "spring_2026"),
        ("Spring_2026", "spring_2026"),
        ("a-b", "a-b"),
        ("x" * 64, "x" * 64),
        ("x" * 65, None),
        ("spring 2026", None),
        ("spring.2026", None),
        ("våren", None),
        ("", None),
    ],
)
def test_only_what_a_telegram_link_can_carry_names_a_flow(
    payload: str, flow_id: str | None
) -> None:
    assert linked_flow_id(payload) == flow_id


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
