"""Issue 13, done when: a campaign to 300 customers by `ideabot run`, kill -9 halfway.

It invites exactly the right ones once each, paced with 0 × 429 against a double that
enforces Telegram's limits per chat and per bot; a tap on "No more invitations" keeps the
next campaign away; a tap on Start opens the campaign's own flow; `ideabot campaigns stats`
shows what happened, per language. Customers are seeded in the database; the bot is driven
only through the Telegram double and the command line.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

from storage.campaigns.store import SqlCampaigns
from storage.database import create_engine, create_sessions
from storage.migrate import migrate
from storage.tables import CampaignInvitationRow, table_of
from storage.types import utc_now
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.bot_process import BotProcess, outbox_settled
from tests.e2e.conftest import BotFactory
from tests.helpers.campaigns import add_customer, new_campaign
from tests.helpers.cli import ideabot
from tests.waiting import eventually

FLOWS = Path(__file__).parents[2] / "flows"
INVITATION = {
    "en": "Got a minute? Tell us what we should build next.",
    "nb": "Har du et minutt? Fortell oss hva vi bør lage nå.",
}
NEXT_FLOW = """\
id: next
name: What should come next
languages: [en, nb]
default_language: en
welcome:
  en: Thank you for saying yes!
  nb: Takk for at du sa ja!
steps:
  - id: idea
    kind: text
    fills: summary
    question:
      en: What should we build next?
      nb: Hva bør vi lage nå?
end:
  handoff: false
  thanks:
    en: Thank you! Your idea is recorded.
    nb: Tusen takk! Ideen din er registrert.
"""
STOP = {"en": "No more invitations", "nb": "Ingen flere invitasjoner"}
# Distinct words, so no answer is offered as "like another customer's idea".
IDEAS = [
    "Export invoices straight into our accounting package every Friday",
    "Let warehouse staff scan pallets with a phone camera offline",
    "Show delivery windows on a map with live driver positions",
]
# Every message of a bot run is paced as the shipped settings pace it (1/s per chat, bursts
# of 3, 30/s for the bot), with invitations enqueued a small batch at a time.
# The first bot's send slots (OUTBOX_MAX_IN_FLIGHT, the default).
IN_FLIGHT = 16
PACED = {
    "TELEGRAM_CHAT_RATE_PER_SECOND": "1",
    "TELEGRAM_CHAT_BURST": "3",
    "TELEGRAM_GLOBAL_RATE_PER_SECOND": "30",
    "CAMPAIGN_TICK_SECONDS": "0.2",
    "CAMPAIGN_BATCH_SIZE": "50",
    # Tests run at any hour: no quiet hours.
    "CAMPAIGN_QUIET_FROM": "0",
    "CAMPAIGN_QUIET_UNTIL": "0",
}


@dataclass
class Seeded:
    """The 300 customers by what the respect rules make of them, as Telegram chats."""

    language: dict[int, str] = field(default_factory=dict)
    customer_of: dict[int, int] = field(default_factory=dict)
    opted_out: set[int] = field(default_factory=set)
    invited_ten_days_ago: set[int] = field(default_factory=set)
    invited_forty_days_ago: set[int] = field(default_factory=set)
    mid_conversation: set[int] = field(default_factory=set)
    blocked: int = 0
    # Customer numbers of the erased: their tombstones have no chat.
    erased: set[int] = field(default_factory=set)

    def speaking(self, language: str, chats: Iterable[int]) -> set[int]:
        return {chat for chat in chats if self.language[chat] == language}

    def customer(self, chat: int) -> Customer:
        return Customer(user_id=chat, language_code=self.language[chat])

    @property
    def spring(self) -> set[int]:
        """Who the first campaign must invite (the blocked one too: only Telegram refuses)."""
        return (
            set(self.language) - self.opted_out - self.invited_ten_days_ago - self.mid_conversation
        )


# (English, Norwegian) customers of each kind; the rest may be invited.
_KINDS = {
    "opted_out": (4, 2),
    "invited_ten_days_ago": (3, 2),
    "invited_forty_days_ago": (1, 1),
    "mid_conversation": (2, 1),
    "blocked": (1, 0),
}
_ERASED = 3


async def _seed(sqlite_url: str) -> Seeded:
    """197 English and 100 Norwegian customers, some excluded for one reason each, 3 erased."""
    seeded = Seeded()
    engine = create_engine(sqlite_url)
    try:
        await migrate(engine)
        sessions = create_sessions(engine)
        plan = [
            (kind, language)
            for kind, counts in _KINDS.items()
            for language, count in zip(("en", "nb"), counts, strict=True)
            for _ in range(count)
        ]
        plan += [("welcome", "en")] * (200 - _ERASED - sum(en for en, _ in _KINDS.values()))
        plan += [("welcome", "nb")] * (100 - sum(nb for _, nb in _KINDS.values()))
        winter = await SqlCampaigns(sessions).create(new_campaign("winter"))
        assert winter is not None
        kinds = {
            await add_customer(
                sessions, language=language, wants_invitations=kind != "opted_out"
            ): (kind, language)
            for kind, language in plan
        }
        for number in range(_ERASED):
            # The row as an erasure leaves it (storage/privacy/store.py).
            tombstone = await add_customer(
                sessions,
                platform="erased",
                language="",
                platform_user_id=f"erased:{number}",
                chat_id="",
                display_name="",
                unreachable=True,
                wants_updates=False,
            )
            seeded.erased.add(tombstone)
        for chat, customer_id in _chat_ids(sqlite_url).items():
            kind, language = kinds[customer_id]
            seeded.language[chat] = language
            seeded.customer_of[chat] = customer_id
            if kind == "blocked":
                seeded.blocked = chat
            elif kind != "welcome":
                getattr(seeded, kind).add(chat)
            if kind.startswith("invited_"):
                days = 10 if kind == "invited_ten_days_ago" else 40
                async with sessions() as session, session.begin():
                    await session.execute(
                        insert(table_of(CampaignInvitationRow)).values(
                            campaign_id=winter.id,
                            run=f"{days}",
                            customer_id=customer_id,
                            language=language,
                            created_at=utc_now() - timedelta(days=days),
                        )
                    )
    finally:
        await engine.dispose()
    return seeded


def _database(sqlite_url: str) -> sqlite3.Connection:
    return sqlite3.connect(sqlite_url.split("///", 1)[1])


def _chat_ids(sqlite_url: str) -> dict[int, int]:
    """Customer numbers by Telegram chat (the erased have none)."""
    with _database(sqlite_url) as connection:
        rows = connection.execute("select chat_id, id from customer where chat_id != ''")
        return {int(chat): customer_id for chat, customer_id in rows.fetchall()}


def _invited(sqlite_url: str, campaign: str) -> list[int]:
    """The customers a campaign invited, one entry per invitation row."""
    with _database(sqlite_url) as connection:
        rows = connection.execute(
            "select customer_id from campaign_invitation join campaign "
            "on campaign.id = campaign_id where campaign.name = ? order by customer_id",
            (campaign,),
        )
        return [customer_id for (customer_id,) in rows.fetchall()]


async def _cli(*arguments: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """`ideabot ...` in a thread: the double on this event loop keeps answering the bot."""
    done = await asyncio.to_thread(ideabot, *arguments, cwd=cwd, **environment)
    assert done.returncode == 0, (arguments, done.stderr)
    return done


async def _create(name: str, *options: str, cwd: Path, **environment: str) -> None:
    texts = [f"--text={language}={words}" for language, words in INVITATION.items()]
    await _cli(
        "campaigns", "create", name, "--flow", "next", *texts, *options, cwd=cwd, **environment
    )


async def _stats(name: str, *, cwd: Path, **environment: str) -> list[list[str]]:
    done = await _cli("campaigns", "stats", name, cwd=cwd, **environment)
    return [line.split() for line in done.stdout.splitlines()]


async def _talk_halfway(telegram_api: TelegramBotApiDouble, customer: Customer) -> None:
    """The customer is in the default flow, one question answered, when the campaign starts."""
    await telegram_api.send_text(customer, "/start")
    await telegram_api.wait_for_messages(customer, 1)
    await telegram_api.send_text(customer, "Offline mode for the field service app, please")
    await telegram_api.wait_for_messages(customer, 2)


async def _answer(telegram_api: TelegramBotApiDouble, customer: Customer, idea: str | None) -> None:
    """Start under the invitation; give ``idea`` (None: stop at the question)."""
    (invitation,) = telegram_api.messages_to(customer)
    await telegram_api.press(customer, invitation, "Start")
    (question,) = (await telegram_api.wait_for_messages(customer, 2))[1:]
    assert question.text.endswith(("What should we build next?", "Hva bør vi lage nå?"))
    if idea is not None:
        await telegram_api.send_text(customer, idea)
        (thanks,) = (await telegram_api.wait_for_messages(customer, 3))[2:]
        assert thanks.text.startswith(("Thank you! Your idea", "Tusen takk!"))


async def _stop(telegram_api: TelegramBotApiDouble, customer: Customer) -> None:
    (invitation,) = telegram_api.messages_to(customer)
    await telegram_api.press(customer, invitation, STOP[customer.language_code])
    await telegram_api.wait_for_messages(customer, 2)


def _received(telegram_api: TelegramBotApiDouble, chats: Iterable[int]) -> dict[int, list[str]]:
    return {chat: [m.text for m in telegram_api.sent_by_chat.get(chat, [])] for chat in chats}


async def _spring_across_a_kill(
    telegram_api: TelegramBotApiDouble,
    bot_factory: BotFactory,
    seeded: Seeded,
    *,
    sqlite_url: str,
    cwd: Path,
    environment: dict[str, str],
) -> tuple[BotProcess, BotProcess]:
    """Spring is enqueued and sent by one bot, killed with -9 halfway, finished by the next.

    The next one runs without the cap, as an operator may restart it: spring is through
    (every invitation written), so it only sends what is left, and the next campaign meets
    only the respect rules that remain, and "No more invitations".
    """
    first = bot_factory(**PACED, **environment, OUTBOX_MAX_IN_FLIGHT=str(IN_FLIGHT))
    # One at a time: starting processes side by side saves no time on two busy cores.
    await _create("spring", cwd=cwd, **environment)
    await _create("autumn", "--language", "nb", cwd=cwd, **environment)
    await first.start()
    await asyncio.gather(
        *(_talk_halfway(telegram_api, seeded.customer(c)) for c in seeded.mid_conversation)
    )
    await _cli("campaigns", "start", "spring", cwd=cwd, **environment)
    await telegram_api.wait_until(lambda: len(telegram_api.sent) >= 100, timeout=30)
    await eventually(
        lambda: _campaign_done(sqlite_url, "spring"), timeout=30, what="spring through"
    )
    # Killed with every send slot on a send Telegram has not answered (they never arrive).
    # A send holds its slot until its receipt is committed, so by then every accepted one
    # is recorded: the kill needs no look at the database. Killed in the one commit after
    # Telegram's answer, a message would go twice, the duplicate nobody can rule out
    # (docs/architecture.md); this kill comes after that commit, not inside it.
    telegram_api.hold_sends()
    await telegram_api.wait_until(lambda: telegram_api.held_sends >= IN_FLIGHT)
    first.kill_hard()
    await first.wait_exit()
    telegram_api.release_sends(drop_held=True)
    assert len(telegram_api.sent) < len(seeded.spring) - 100

    second = bot_factory(**PACED, **environment, CAMPAIGN_CAP_DAYS="0")
    await second.start()
    invitees = seeded.spring - {seeded.blocked}
    await telegram_api.wait_until(
        lambda: all(telegram_api.sent_by_chat.get(chat) for chat in invitees), timeout=60
    )
    await outbox_settled(sqlite_url)
    return first, second


async def _campaign_done(sqlite_url: str, name: str) -> bool:
    with _database(sqlite_url) as connection:
        (state,) = connection.execute(
            "select state from campaign where name = ?", (name,)
        ).fetchone()
    return bool(state == "done")


async def test_a_campaign_to_300_invites_the_right_ones_once_across_a_kill_and_counts_what_came(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, sqlite_url: str, tmp_path: Path
) -> None:
    seeded = await _seed(sqlite_url)
    flows = tmp_path / "flows"
    flows.mkdir()
    shutil.copy(FLOWS / "idea.yaml", flows / "idea.yaml")
    (flows / "next.yaml").write_text(NEXT_FLOW, encoding="utf-8")
    environment = {"FLOWS_PATH": str(flows)}
    telegram_api.global_limit_per_second = 30
    telegram_api.chat_limit_per_second = 1
    telegram_api.blocked_chats.add(seeded.blocked)

    first, second = await _spring_across_a_kill(
        telegram_api,
        bot_factory,
        seeded,
        sqlite_url=sqlite_url,
        cwd=tmp_path,
        environment=environment,
    )
    invitees = seeded.spring - {seeded.blocked}
    received = _received(telegram_api, invitees)
    assert received == {chat: [INVITATION[seeded.language[chat]]] for chat in invitees}
    assert set(telegram_api.sent_by_chat) == invitees | seeded.mid_conversation
    assert all(
        INVITATION["en"] not in texts and INVITATION["nb"] not in texts
        for texts in _received(telegram_api, seeded.mid_conversation).values()
    )
    refused = [
        call
        for call in telegram_api.calls
        if call.method == "sendMessage" and int(call.params["chat_id"]) == seeded.blocked
    ]
    assert [call.status for call in refused] == [403]
    assert _invited(sqlite_url, "spring") == sorted(
        seeded.customer_of[chat] for chat in seeded.spring
    )

    # The replies: two in each language say no more; three finish the campaign's flow, one
    # stops at its question.
    english = sorted(seeded.speaking("en", invitees))
    norwegian = sorted(seeded.speaking("nb", invitees))
    stopping = [*english[:2], *norwegian[:2]]
    finishing = [english[2], english[3], norwegian[2]]
    halfway = norwegian[3]
    await asyncio.gather(
        *(_stop(telegram_api, seeded.customer(chat)) for chat in stopping),
        *(
            _answer(telegram_api, seeded.customer(chat), idea)
            for chat, idea in zip(finishing, IDEAS, strict=True)
        ),
        _answer(telegram_api, seeded.customer(halfway), None),
    )
    await outbox_settled(sqlite_url)

    no_cap = {**environment, "CAMPAIGN_CAP_DAYS": "0"}
    before = _received(telegram_api, seeded.language)
    stats, _ = await asyncio.gather(
        _stats("spring", cwd=tmp_path, **environment),
        _cli("campaigns", "start", "autumn", cwd=tmp_path, **no_cap),
    )
    assert stats[0] == ["“spring”", "(done),", "flow", "next"]
    en_invited = len(seeded.speaking("en", seeded.spring))
    nb_invited = len(seeded.speaking("nb", seeded.spring))
    assert stats[2:] == [
        ["en", str(en_invited), str(en_invited - 1), "2", "2", "2", "2"],
        ["nb", str(nb_invited), str(nb_invited), "2", "1", "1", "2"],
        ["all", *map(str, (en_invited + nb_invited, en_invited + nb_invited - 1, 4, 3, 3, 4))],
    ]
    busy = seeded.mid_conversation | {halfway}
    autumn = seeded.speaking("nb", seeded.language) - seeded.opted_out - busy - set(stopping)
    await telegram_api.wait_until(
        lambda: all(len(telegram_api.sent_by_chat.get(c, ())) > len(before[c]) for c in autumn),
        timeout=30,
    )
    await outbox_settled(sqlite_url)
    after = _received(telegram_api, seeded.language)
    assert {chat for chat in seeded.language if after[chat] != before[chat]} == autumn
    assert all(after[chat][len(before[chat]) :] == [INVITATION["nb"]] for chat in autumn)
    assert _invited(sqlite_url, "autumn") == sorted(seeded.customer_of[chat] for chat in autumn)
    assert telegram_api.flooded == []
    assert all("asked to slow down" not in bot.log() for bot in (first, second))
