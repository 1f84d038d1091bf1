"""`ideabot flows link`: a live flow's t.me link and QR code; `flows links`: each link's figures."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.responses import JSONResponse, PlainTextResponse, Response

from bot.flow_links import CannotWrite, qr_png, write_whole
from handlers.flows.loader import LoadedFlow
from handlers.messages import ConversationKey
from tests.doubles.telegram_bot_api import BOT_USER, TelegramBotApiDouble
from tests.helpers.cli import ideabot
from tests.helpers.dialogue import Customer, make_customer, texts
from tests.test_flow_links import CAMPAIGN_QUESTION, campaign_flow

BOT_USERNAME = BOT_USER["username"]


@pytest.fixture
async def telegram_api() -> AsyncIterator[TelegramBotApiDouble]:
    double = TelegramBotApiDouble()
    async with double.running():
        yield double


@pytest.fixture
async def kari(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> Customer:
    """A customer of a database (the CLI's, in tmp_path) where `idea` and `spring_2026` are live."""
    return await make_customer(sqlite_sessions, [*shipped_flows, campaign_flow()])


def telegram(double: TelegramBotApiDouble) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": double.token, "TELEGRAM_API_BASE_URL": double.base_url}


async def run(*words: str, cwd: Path, **environment: str) -> tuple[int, str, str]:
    """The command in a child process, off the event loop the Telegram double answers on."""
    done = await asyncio.to_thread(ideabot, *words, cwd=cwd, **environment)
    return done.returncode, done.stdout, done.stderr


def files_in(folder: Path, pattern: str) -> list[str]:
    return [path.name for path in folder.glob(pattern)]


def decoded(path: Path) -> list[str]:
    with Image.open(path) as image:
        return [found.text for found in zxingcpp.read_barcodes(image)]


async def test_a_live_flows_link_is_printed_and_its_qr_code_reads_back_as_it(
    kari: Customer, telegram_api: TelegramBotApiDouble, tmp_path: Path
) -> None:
    poster = tmp_path / "poster.png"
    code, out, err = await run(
        "flows", "link", "spring_2026", "--source", "Poster-A4", "--out", str(poster),
        cwd=tmp_path, **telegram(telegram_api),
    )  # fmt: skip
    url = f"https://t.me/{BOT_USERNAME}?start=spring_2026-poster-a4"
    assert (code, out, err) == (0, url + "\n", f"QR code written to {poster}\n")
    assert poster.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert decoded(poster) == [url]
    # Without --out: the link's own name in the current folder; without --source: the flow.
    code, out, _ = await run("flows", "link", "spring_2026", cwd=tmp_path, **telegram(telegram_api))
    assert (code, out) == (0, f"https://t.me/{BOT_USERNAME}?start=spring_2026\n")
    assert decoded(tmp_path / "spring_2026.png") == [out.strip()]
    assert files_in(tmp_path, ".*partial") == []


async def test_a_configured_username_needs_no_token(kari: Customer, tmp_path: Path) -> None:
    code, out, _ = await run(
        "flows", "link", "idea", "--source", "receipt", "--out", str(tmp_path / "receipt.png"),
        cwd=tmp_path, TELEGRAM_BOT_USERNAME="@our_ideas_bot",
    )  # fmt: skip
    assert (code, out) == (0, "https://t.me/our_ideas_bot?start=idea-receipt\n")
    assert decoded(tmp_path / "receipt.png") == [out.strip()]


# Each refusal as (arguments, what the environment adds, exit code, what is said); OUT is the
# folder ``out`` of the test, A_FILE a file ``notes.txt`` beside it.
REFUSALS: list[tuple[list[str], dict[str, str], int, str]] = [
    (
        ["nosuch"],
        {},
        1,
        "there is no live flow 'nosuch' (`ideabot flows list` shows them)",
    ),
    (
        ["x" * 100_000],
        {},
        1,
        "there is no live flow of that name (`ideabot flows list` shows them)",
    ),
    (
        ["spring_2026", "--source", "p" * 100_000],
        {},
        2,
        "the source label has 100000 characters; a link to flow 'spring_2026' has room "
        "for at most 52 (Telegram allows 64 in all)",
    ),
    (
        ["spring_2026", "--source", "poster/../../etc"],
        {},
        2,
        "the source label may hold only the letters a-z, digits, '_' and '-' (Telegram "
        "allows no others in a link)",
    ),
    (
        ["spring_2026", "--out", "OUT"],
        {},
        2,
        "OUT is a folder: give the name of a file in it",
    ),
    (
        ["spring_2026", "--out", "A_FILE/link.png"],
        {},
        2,
        "there is no folder A_FILE to write link.png in",
    ),
    (
        ["spring_2026"],
        {"TELEGRAM_BOT_TOKEN": ""},
        2,
        "a Telegram link needs the bot's username: set TELEGRAM_BOT_USERNAME, or "
        "TELEGRAM_BOT_TOKEN so ideabot can ask Telegram",
    ),
    (
        ["spring_2026"],
        {"TELEGRAM_BOT_TOKEN": "123456:not-the-token"},
        2,
        "TELEGRAM_BOT_TOKEN was rejected by Telegram: copy it again from @BotFather",
    ),
]


@pytest.mark.parametrize(
    ("words", "environment", "exit_code", "said"),
    REFUSALS,
    ids=[
        "unknown-flow",
        "huge-name",
        "huge-source",
        "odd-source",
        "out-is-a-folder",
        "out-in-no-folder",
        "no-username",
        "rejected-token",
    ],
)
async def test_refusals_are_one_sentence_and_write_no_file(
    kari: Customer,
    telegram_api: TelegramBotApiDouble,
    tmp_path: Path,
    words: list[str],
    environment: dict[str, str],
    exit_code: int,
    said: str,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    places = {"OUT": str(out), "A_FILE": str(a_file)}

    def placed(text: str) -> str:
        for name, place in places.items():
            text = text.replace(name, place)
        return text

    arguments = [placed(word) for word in words]
    if "--out" not in arguments:
        arguments += ["--out", str(out / "link.png")]
    code, printed, err = await run(
        "flows", "link", *arguments, cwd=tmp_path, **{**telegram(telegram_api), **environment}
    )
    assert (code, printed, err) == (exit_code, "", f"ideabot: {placed(said)}\n")
    assert files_in(out, "*") == []
    assert files_in(tmp_path, "*.png") == []


async def test_a_flow_only_drafted_has_no_link(
    kari: Customer, telegram_api: TelegramBotApiDouble, tmp_path: Path
) -> None:
    exported = tmp_path / "autumn.yaml"
    code, text, _ = await run("flows", "export", "spring_2026", cwd=tmp_path)
    exported.write_text(text.replace("id: spring_2026\n", "id: autumn\n"))
    code, _, err = await run("flows", "push", str(exported), "--draft", cwd=tmp_path)
    assert code == 0, err
    code, printed, err = await run(
        "flows", "link", "autumn", cwd=tmp_path, **telegram(telegram_api)
    )
    assert (code, printed) == (1, "")
    assert err == "ideabot: there is no live flow 'autumn' (`ideabot flows list` shows them)\n"
    assert not (tmp_path / "autumn.png").exists()


def test_a_file_that_cannot_be_written_is_said_and_left_out(tmp_path: Path) -> None:
    with pytest.raises(CannotWrite, match=r"^cannot write /proc/link.png \("):
        write_whole(Path("/proc/link.png"), qr_png("https://t.me/x?start=idea"))


async def finish_campaign_flow(customer: Customer, payload: str) -> None:
    (welcome,) = texts(await customer.say(f"/start {payload}"))
    assert welcome.endswith(CAMPAIGN_QUESTION)
    await customer.say("A dark mode for the mobile app, please, for the evening")
    await customer.say("My eyes hurt when I read in bed at night")
    await customer.press("Every day")
    await customer.press("5")
    await customer.press("No")


def another_customer(customer: Customer, number: int) -> Customer:
    """Another person on the same dialogue, with message ids of their own."""
    chat = str(1000 + number)
    return dataclasses.replace(
        customer,
        key=ConversationKey(platform="telegram", chat_id=chat, user_id=chat),
        ids=itertools.count(number * 1000),
        received=[],
    )


async def test_conversations_are_counted_per_link(kari: Customer, tmp_path: Path) -> None:
    await finish_campaign_flow(kari, "spring_2026-poster")
    await another_customer(kari, 1).say("/start spring_2026-poster")
    await another_customer(kari, 2).say("/start spring_2026-receipt")
    await another_customer(kari, 3).say("/start spring_2026")
    await another_customer(kari, 4).say("/start idea-web")
    await another_customer(kari, 5).say("/start")
    code, out, err = await run("flows", "links", cwd=tmp_path)
    assert code == 0, err
    assert out.splitlines() == [
        "link                 started finished  ideas",
        "idea-web                   1        0      0",
        "spring_2026                1        0      0",
        "spring_2026-poster         2        1      1",
        "spring_2026-receipt        1        0      0",
    ]
    code, out, _ = await run("flows", "links", "spring_2026", cwd=tmp_path)
    assert out.splitlines()[1:] == [
        "spring_2026                1        0      0",
        "spring_2026-poster         2        1      1",
        "spring_2026-receipt        1        0      0",
    ]
    code, out, _ = await run("flows", "stats", "spring_2026", cwd=tmp_path)
    assert code == 0
    assert out.split("\n\n")[-1].splitlines() == [
        "from start links:",
        "link                 started finished  ideas",
        "spring_2026                1        0      0",
        "spring_2026-poster         2        1      1",
        "spring_2026-receipt        1        0      0",
    ]
    code, out, _ = await run("flows", "links", "nosuch", cwd=tmp_path)
    assert (code, out) == (0, "no conversations of flow 'nosuch' have started from a link yet\n")


async def test_a_funnel_chart_or_an_export_to_a_folder_is_one_sentence(
    kari: Customer, tmp_path: Path
) -> None:
    for words in (["stats", "idea", "--chart"], ["export", "idea", "-o"]):
        code, printed, err = await run("flows", *words, str(tmp_path), cwd=tmp_path)
        assert (code, printed) == (2, ""), words
        assert err == f"ideabot: {tmp_path} is a folder: give the name of a file in it\n"


class JunkBotApi(TelegramBotApiDouble):
    """A Bot API whose getMe answers something no Telegram bot is."""

    def __init__(self, answer: Response) -> None:
        super().__init__()
        self.answer = answer

    async def _api_getMe(self, params: dict[str, Any]) -> Response:
        return self.answer


def named(username: object) -> Response:
    return JSONResponse({"ok": True, "result": {**BOT_USER, "username": username}})


@pytest.mark.parametrize(
    "answer",
    [
        named("evil.example/x#"),
        named("a b"),
        named("x" * 300),
        named("bot\nhttps://evil.example"),
        named("ab"),
        named(["a"]),
        JSONResponse({"ok": True, "result": {}}),
        JSONResponse({"ok": True, "result": "x"}),
        JSONResponse({"ok": True}),
        JSONResponse([1, 2]),
    ],
    ids=[
        "path",
        "space",
        "huge",
        "newline",
        "short",
        "list-name",
        "empty",
        "string",
        "no-result",
        "list",
    ],
)
async def test_a_getme_answered_with_junk_makes_no_link(
    kari: Customer, tmp_path: Path, answer: Response
) -> None:
    # Attack review: whatever username getMe answered went into the link and the printed QR
    # code, and an answer that was no bot at all ended in a traceback.
    double = JunkBotApi(answer)
    async with double.running():
        code, printed, err = await run(
            "flows", "link", "spring_2026", cwd=tmp_path, **telegram(double)
        )
    assert (code, printed) == (2, "")
    assert err == (
        "ideabot: Telegram did not say a username a link can hold: set TELEGRAM_BOT_USERNAME\n"
    )
    assert files_in(tmp_path, "*.png") == []


async def test_a_getme_answered_with_a_page_makes_no_link(kari: Customer, tmp_path: Path) -> None:
    double = JunkBotApi(PlainTextResponse("<html>a proxy's page</html>"))
    async with double.running():
        code, printed, err = await run(
            "flows", "link", "spring_2026", cwd=tmp_path, **telegram(double)
        )
    assert (code, printed) == (2, "")
    # Attack review: python-telegram-bot logged the whole page with a traceback.
    assert "a proxy's page" not in err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "ideabot: Telegram refused: Invalid server response"
    assert files_in(tmp_path, "*.png") == []
