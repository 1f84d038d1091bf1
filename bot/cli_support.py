"""What every ``ideabot`` command shares: settings, logging, and one-line errors."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import typer

from bot.shutdown import StopForced

if TYPE_CHECKING:
    from bot.settings import Settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# python-telegram-bot's logger that prints a whole answer it could not read as JSON.
TELEGRAM_REQUESTS_LOGGER = "telegram.request.BaseRequest"


class WithoutTelegramAnswers(logging.Filter):
    """Keeps python-telegram-bot's line about an unreadable answer, without the answer."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record; withhold the answer and traceback of an unreadable one."""
        if str(record.msg).startswith("Can not load invalid JSON data"):
            # A proxy's page or junk at TELEGRAM_API_BASE_URL: the one line after says so.
            record.msg = "Telegram's answer was not JSON (answer withheld)"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


def fail(message: str) -> typer.Exit:
    """Say ``message`` on standard error; the Exit (code 2) to raise."""
    typer.echo(f"ideabot: {message}", err=True)
    return typer.Exit(code=2)


def settings_or_exit() -> Settings:
    """The settings, or each wrong one named (never its value) and exit 2."""
    # Imported when a command runs, not with the module: `ideabot --help` needs neither.
    from pydantic import ValidationError

    from bot.settings import Settings

    try:
        return Settings()
    except ValidationError as error:
        # Print what is wrong, never the values: they may be tokens.
        for detail in error.errors():
            field = ".".join(str(part) for part in detail["loc"]).upper() or "settings"
            message = str(detail["msg"]).removeprefix("Value error, ")
            typer.echo(
                f"ideabot: {field}: {message}" if detail["loc"] else f"ideabot: {message}", err=True
            )
        raise typer.Exit(code=2) from None


def withhold_telegram_answers() -> None:
    """Filter python-telegram-bot's log line that would print a whole unreadable answer."""
    requests = logging.getLogger(TELEGRAM_REQUESTS_LOGGER)
    if not any(isinstance(each, WithoutTelegramAnswers) for each in requests.filters):
        requests.addFilter(WithoutTelegramAnswers())


def configure_logging(settings: Settings, *, quiet: bool = False) -> None:
    """Log at the configured level, with the libraries that print secrets held back."""
    level = logging.WARNING if quiet else getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr)
    # httpx logs every request URL at INFO, and Telegram's URLs carry the bot token; PTB's
    # debug lines carry the token and whole requests. Neither belongs in ideabot's logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(max(level, logging.INFO))
    withhold_telegram_answers()
    # slack_sdk's debug lines carry request headers and bodies (the token, customers' words).
    logging.getLogger("slack_sdk").setLevel(max(level, logging.INFO))
    logging.getLogger("slack_bolt").setLevel(max(level, logging.INFO))


def run_guarded(coroutine: Coroutine[Any, Any, None], settings: Settings) -> None:
    """Run ``coroutine`` to its end; the errors a person can act on are one line."""
    guarded(lambda: asyncio.run(coroutine), settings)


def guarded(work: Callable[[], None], settings: Settings) -> None:
    """Do ``work``; the errors a person can act on end it with one line and exit code 2."""
    from bot.configuration import ConfigurationError
    from bot.status_labels import StatusLabelsError
    from handlers.flows.loader import FlowFileError
    from handlers.flows.versions import FlowLibraryError

    try:
        work()
    except FlowFileError as error:
        raise fail("the flows have problems, so ideabot will not start:\n" + str(error)) from None
    except (FlowLibraryError, ConfigurationError, LookupError, StatusLabelsError) as error:
        raise fail(str(error)) from None
    except StopForced:
        # The log says what was abandoned; the exit code says the stop was not clean.
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt:
        pass
    except Exception as error:
        # The platforms' error types it knows cost a second to import: only on a failure.
        from bot.problems import described

        problem = described(error, settings)
        if problem is None:
            raise
        raise fail(problem.reason) from None


def existing_database(settings: Settings) -> None:
    """Refuse to read a SQLite file that is not there, instead of making an empty one."""
    from storage.database import sqlite_file

    path = sqlite_file(settings.database_url)
    if path is not None and not path.exists():
        raise fail(
            f"no database at {path} (run ideabot from the folder with your .env, "
            "or set DATABASE_URL)"
        )


def say_database(settings: Settings) -> None:
    """Name the SQLite file in use on standard error, so a wrong folder shows at once."""
    from storage.database import sqlite_file

    path = sqlite_file(settings.database_url)
    if path is not None:
        typer.echo(f"ideabot: database {path}", err=True)
