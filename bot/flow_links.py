"""Telegram start links for print: the bot's username, and the link as a QR code PNG."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

import segno

from bot.cli_support import withhold_telegram_answers
from bot.configuration import ConfigurationError

if TYPE_CHECKING:
    from bot.settings import Settings

# Pixels per QR module: 330 to 530 pixels across (3 to 4.5 cm at 300 dpi), by the link.
QR_SCALE = 10
# The quiet zone the QR standard asks for around the code, in modules.
QR_BORDER = 4
NO_USERNAME = "Telegram did not say a username a link can hold: set TELEGRAM_BOT_USERNAME"


class CannotWrite(Exception):
    """A file cannot be written where asked; the message says why in one line."""


async def bot_username(settings: Settings) -> str:
    """The bot's Telegram username: TELEGRAM_BOT_USERNAME, else what getMe answers."""
    if settings.telegram_bot_username is not None:
        return settings.telegram_bot_username
    if settings.telegram_bot_token is None:
        raise ConfigurationError(
            "a Telegram link needs the bot's username: set TELEGRAM_BOT_USERNAME, or "
            "TELEGRAM_BOT_TOKEN so ideabot can ask Telegram"
        )
    # The app's wiring (and Telegram's library) only when Telegram is asked: every
    # `ideabot` command imports this module.
    from bot.app import telegram_bot
    from bot.settings import BOT_USERNAME

    bot = telegram_bot(settings)
    withhold_telegram_answers()
    try:
        me = await bot.get_me()
    except (TypeError, ValueError, LookupError, AttributeError) as error:
        # The library reads any answer as a bot: a page or junk at TELEGRAM_API_BASE_URL.
        raise ConfigurationError(NO_USERNAME) from error
    finally:
        # A failed shutdown of a client that answered changes nothing for the link.
        with contextlib.suppress(Exception):
            await bot.shutdown()
    # The answer goes into a link printed on posters: only a name Telegram allows.
    if not isinstance(me.username, str) or BOT_USERNAME.fullmatch(me.username) is None:
        raise ConfigurationError(NO_USERNAME)
    return me.username


def qr_png(url: str) -> bytes:
    """``url`` as a QR code PNG, black on white, ready to print."""
    code = segno.make_qr(url, error="m")
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=QR_SCALE, border=QR_BORDER)
    return buffer.getvalue()


def refuse_unwritable(path: Path) -> None:
    """CannotWrite if ``path`` is plainly no file to write (a folder, or in none)."""
    if path.is_dir():
        raise CannotWrite(f"{path} is a folder: give the name of a file in it")
    if not path.parent.is_dir():
        raise CannotWrite(f"there is no folder {path.parent} to write {path.name} in")


def write_whole(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` all at once: a failure leaves no half-written file."""
    refuse_unwritable(path)
    # Beside the file, so the rename that puts it in place is within one file system.
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_bytes(content)
        os.replace(partial, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise CannotWrite(f"cannot write {path} ({error.strerror or error})") from None
