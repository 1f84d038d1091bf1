"""The terminal channel: talk to the bot as a customer, choices shown as numbered options."""

from __future__ import annotations

import getpass
import locale
import os
import sys
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TextIO, assert_never

from bot.delivery.files import Files
from bot.delivery.worker import DeliveryWorker, PermanentDeliveryError
from handlers.dialogue.dialogue import Dialogue
from handlers.messages import Attachment, Button, ConversationKey, IncomingMessage
from storage.outbox.deliveries import (
    AddReaction,
    DeleteSlackFile,
    DeleteSlackMessage,
    FarewellThenErase,
    MarkButtonsUsed,
    NotifyStaffMember,
    PostErasureReport,
    PostInThread,
    PostRoomDigest,
    PostStaffCard,
    PostToRoom,
    RewriteRoomDigest,
    RewriteSlackMessage,
    SendDataExport,
    SendMessage,
    UpdateStaffCard,
)
from storage.outbox.store import OutboxItem

PLATFORM = "console"
PROMPT = "you> "
# A terminal in line mode passes on at most this many characters of one line (Linux's N_TTY).
TERMINAL_LINE_LIMIT = 4095


class ConsoleScreen:
    """Prints the bot's messages and remembers the last options, so typed numbers pick them.

    A file the bot sends (the customer's own data, from /mydata) is saved in ``folder``.
    """

    def __init__(self, output: TextIO, *, files: Files, folder: Path) -> None:
        self._output = output
        self._options: list[str] = []
        self._files = files
        self._folder = folder

    async def deliver(self, item: OutboxItem) -> str:
        """Print one outbox item (a console message always arrives)."""
        match item.delivery:
            case MarkButtonsUsed(message_id=message_id):
                return message_id
            case SendMessage(text=text, buttons=buttons, attachments=attachments):
                if text or buttons or not attachments:
                    self._show(text, buttons)
                for attachment in attachments:
                    await self._save(attachment)
                return str(item.id)
            case (
                PostStaffCard()
                | UpdateStaffCard()
                | PostInThread()
                | NotifyStaffMember()
                | AddReaction()
                | PostRoomDigest()
                | PostToRoom()
                | DeleteSlackMessage()
                | RewriteSlackMessage()
                | RewriteRoomDigest()
                | DeleteSlackFile()
                | PostErasureReport()
            ):
                raise PermanentDeliveryError(
                    f"the console cannot carry out '{item.delivery.action}'"
                )
            case SendDataExport() | FarewellThenErase():
                # PrivacyRequestSender turns these into plain sends around this sender.
                raise PermanentDeliveryError(f"'{item.delivery.action}' needs the privacy sender")
            case _:
                assert_never(item.delivery)

    async def _save(self, attachment: Attachment) -> None:
        fetched = await self._files.fetch(attachment)
        # The file's own name only, never a path it may carry; an earlier file is kept.
        name = Path(fetched.name).name or "ideabot-file"
        path = self._folder / name
        number = 1
        while path.exists():
            number += 1
            path = self._folder / f"{Path(name).stem}-{number}{Path(name).suffix}"
        # It may hold the customer's data: readable by its owner only.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(fetched.data)
        self._show(f"(a file: saved as {path}, {len(fetched.data):,} bytes)", ())

    def _show(self, text: str, buttons: tuple[Button, ...]) -> None:
        lines = [f"bot> {line}" for line in text.splitlines() or [""]]
        labels = [button.label for button in buttons]
        if labels and labels == [str(number) for number in range(1, len(labels) + 1)]:
            lines.append("      " + "  ".join(f"[{label}]" for label in labels))
        else:
            lines.extend(f"      {number}. {label}" for number, label in enumerate(labels, 1))
        self._output.write("\n".join(lines) + "\n")
        self._output.flush()
        self._options = [button.payload for button in buttons]

    def button_for(self, line: str) -> str | None:
        """The payload of the option a typed number picks, if it picks one."""
        choice = line.strip().rstrip(".")
        if choice.isdecimal() and 1 <= int(choice) <= len(self._options):
            return self._options[int(choice) - 1]
        return None


def console_language() -> str:
    """The terminal user's language from LANG/LC_ALL, e.g. ``nb_NO.UTF-8`` → ``nb_NO``."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            return value.split(".")[0]
    return (locale.getlocale()[0] or "en").split(".")[0]


class LineReader:
    """Reads typed lines: with line editing and history on a terminal, plain from a pipe."""

    def __init__(self, input_stream: TextIO, output: TextIO) -> None:
        self._input = input_stream
        self._output = output
        self.interactive = input_stream.isatty() and input_stream is sys.stdin
        self._editing = self.interactive and _line_editing()

    def read(self) -> str | None:
        """The next line without its newline; None at end of input. Ctrl-C raises at once."""
        if self.interactive:
            try:
                line = input(PROMPT)  # readline edits the line; Ctrl-C interrupts it
            except EOFError:
                return None
            if not self._editing and len(line) >= TERMINAL_LINE_LIMIT:
                self._output.write(
                    f"(That line reached the terminal's limit of {TERMINAL_LINE_LIMIT} "
                    "characters, so its end may be cut off. Send a long text in parts.)\n"
                )
            return line
        line = self._input.readline()
        return line.removesuffix("\n") if line else None


def _line_editing() -> bool:
    """Load readline, which gives input() arrow keys and history and lifts the line limit."""
    try:
        import readline  # noqa: F401  # imported for its effect on input()
    except ImportError:  # not on every platform (Windows)
        return False
    return True


def run_console(
    *,
    dialogue: Dialogue,
    worker: DeliveryWorker,
    run: Callable[[Coroutine[Any, Any, None]], None],
    input_stream: TextIO = sys.stdin,
    output: TextIO = sys.stdout,
    screen: ConsoleScreen,
) -> None:
    """Hold a conversation on the terminal until end of input, /quit or Ctrl-C.

    Lines are read outside the event loop, by ``run``'s caller, so Ctrl-C ends the chat
    while it waits for a line instead of after the next Enter.
    """
    user = getpass.getuser()
    key = ConversationKey(platform=PLATFORM, chat_id=user, user_id=user)
    language = console_language()
    reader = LineReader(input_stream, output)
    output.write("Talking to ideabot as a customer. Type /help for commands, /quit to leave.\n")

    async def say(text: str, button: str | None = None) -> None:
        await dialogue.handle(
            IncomingMessage(
                key=key,
                # Console lines are never delivered twice, so a fresh id each is enough.
                external_id=uuid.uuid4().hex,
                text=text,
                display_name=user,
                language_code=language,
                button_payload=button,
                platform_message_id=uuid.uuid4().hex,
            )
        )
        await worker.deliver_pending()

    try:
        run(say("/start"))
        while True:
            output.flush()
            line = reader.read()
            if line is None or line.strip() in ("/quit", "/exit"):
                break
            if not reader.interactive:
                output.write(f"{PROMPT}{line}\n")
            run(say(line, screen.button_for(line)))
    except KeyboardInterrupt:
        output.write("\n")
    output.write(f"Bye! Your answers are saved; `{command_name()} ideas list` shows the ideas.\n")
    output.flush()


def command_name(argv0: str | None = None) -> str:
    """The command as it was started (`.venv/bin/ideabot` from `make chat`), to repeat it."""
    started = sys.argv[0] if argv0 is None else argv0
    # Not on PATH after `make chat`: a bare `ideabot` would be "command not found".
    return started if os.path.basename(started) == "ideabot" else "ideabot"
