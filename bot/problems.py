"""Turns errors met at start (database, Telegram, Slack) into one line a person can act on."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.settings import Settings

# PostgreSQL's SQLSTATE codes for the refusals a person fixes in DATABASE_URL or the server.
_NO_SUCH_DATABASE = "3D000"
_AUTHENTICATION = ("28000", "28P01")
_TOO_MANY_CONNECTIONS = ("53300", "57P03")
_SLACK_TOKEN_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked"}


@dataclass(frozen=True, slots=True)
class Problem:
    """One line saying what is wrong and what to do; ``passing`` when waiting may fix it."""

    reason: str
    passing: bool


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and what caused it, outermost first (SQLAlchemy wraps the driver's error)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = (
            orig if isinstance(orig, BaseException) else current.__cause__ or current.__context__
        )


def _where(url: URL) -> str:
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def database_problem(error: BaseException, database_url: str) -> Problem | None:
    """The database error in words, or None when it is not one this module knows."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return Problem("DATABASE_URL is not a database address (see .env.example)", False)
    for cause in _chain(error):
        match cause:
            case NoSuchModuleError() | ModuleNotFoundError():
                return Problem(
                    f"DATABASE_URL uses '{url.drivername}', which ideabot cannot speak: use "
                    "postgresql://user:password@host/database or sqlite:///path/to/ideabot.db",
                    False,
                )
            case socket.gaierror() if cause.errno == socket.EAI_AGAIN:
                return Problem(
                    f"database: cannot look up the host '{url.host}' right now (DNS): "
                    "check the network",
                    True,
                )
            case socket.gaierror():
                return Problem(
                    f"database: unknown host '{url.host}': check the host in DATABASE_URL", False
                )
            case ConnectionRefusedError():
                return Problem(
                    f"database: cannot connect to {_where(url)} (connection refused): "
                    "is PostgreSQL running?",
                    True,
                )
            case TimeoutError():
                return Problem(
                    f"database: no answer from {_where(url)} (timed out): is PostgreSQL running, "
                    "and does a firewall let ideabot through?",
                    True,
                )
            case sqlite3.OperationalError() if "unable to open" in str(cause):
                return Problem(
                    f"database: cannot open the SQLite file {url.database}: check that its "
                    "folder exists and ideabot may write there",
                    False,
                )
            case ConnectionError():
                return Problem(
                    f"database: cannot connect to {_where(url)} "
                    f"({cause.strerror or 'connection failed'}): is PostgreSQL running?",
                    True,
                )
        state = getattr(cause, "sqlstate", None)
        if state == _NO_SUCH_DATABASE:
            return Problem(
                f"database '{url.database}' does not exist on {_where(url)}: create it "
                f"(createdb {url.database}) or fix the name in DATABASE_URL",
                False,
            )
        if state in _AUTHENTICATION:
            return Problem(
                f"database: PostgreSQL at {_where(url)} refused the user '{url.username}': "
                "check the user and password in DATABASE_URL",
                False,
            )
        if state in _TOO_MANY_CONNECTIONS:
            return Problem(
                f"database: PostgreSQL at {_where(url)} takes no more connections now", True
            )
    return None


def telegram_problem(error: BaseException, api_base_url: str) -> Problem | None:
    """The Telegram error in words (never the token), or None when it is not Telegram's."""
    match error:
        case InvalidToken():
            return Problem(
                "TELEGRAM_BOT_TOKEN was rejected by Telegram: copy it again from @BotFather", False
            )
        case NetworkError():
            # PTB's network messages name the cause ("All connection attempts failed"), not
            # the URL, which would carry the token.
            # "httpx.ConnectError: All connection attempts failed": the words are enough.
            said = error.message.partition(": ")[2] if error.message.startswith("httpx.") else ""
            return Problem(
                f"Telegram cannot be reached at {api_base_url} ({said or error.message}): "
                "check the network or TELEGRAM_API_BASE_URL",
                True,
            )
        case TelegramError():
            return Problem(f"Telegram refused: {error.message}", False)
    return None


def slack_problem(error: BaseException, api_base_url: str) -> Problem | None:
    """The Slack error in words (never the token), or None when it is not Slack's."""
    match error:
        case SlackApiError():
            data = error.response.data
            code = str(data.get("error", "")) if isinstance(data, dict) else ""
            if code in _SLACK_TOKEN_ERRORS:
                return Problem(
                    f"SLACK_BOT_TOKEN was rejected by Slack ({code}): copy the Bot User OAuth "
                    "Token again from the app's OAuth & Permissions page",
                    False,
                )
            status = error.response.status_code
            return Problem(
                f"Slack refused ({code or f'HTTP {status}'})", status >= 500 or status == 429
            )
        case aiohttp.ClientError() | TimeoutError():
            reason = "timed out" if isinstance(error, TimeoutError) else type(error).__name__
            return Problem(
                f"Slack cannot be reached at {api_base_url} ({reason}): "
                "check the network or SLACK_API_BASE_URL",
                True,
            )
    return None


def described(error: BaseException, settings: Settings) -> Problem | None:
    """Any of the above for the configured services, or None for an error of another kind."""
    # The platforms first: their network errors are OSErrors underneath, like the database's.
    return (
        telegram_problem(error, settings.telegram_api_base_url)
        or slack_problem(error, settings.slack_api_base_url)
        or database_problem(error, settings.database_url)
    )
