"""The terminal channel: talk to the bot as a customer, choices shown as numbered options."""

from __future__ import annotations

import asyncio
import getpass
import locale
import os
import sys
import uuid
from typing import TextIO

from bot.delivery import DeliveryWorker
from handlers.conversation import ConversationKey, IncomingMessage
from handlers.dialogue import Dialogue
from storage.outbox_actions import OutboxAction
from storage.outbox_store import OutboxItem

PLATFORM = "console"
PROMPT = "you> "


class ConsoleScreen:
    """Prints the bot's messages and remembers the last options, so typed numbers pick them."""

    def __init__(self, output: TextIO) -> None:
        self._output = output
        self._options: list[str] = []

    async def deliver(self, item: OutboxItem) -> str:
        """Print one outbox item (a console message always arrives)."""
        if item.action == OutboxAction.MARK_BUTTONS_USED:
            return str(item.payload.get("message_id", ""))
        buttons = item.payload.get("buttons") or []
        lines = [f"bot> {line}" for line in str(item.payload["text"]).splitlines() or [""]]
        labels = [str(button["label"]) for button in buttons]
        if labels and labels == [str(number) for number in range(1, len(labels) + 1)]:
            lines.append("      " + "  ".join(f"[{label}]" for label in labels))
        else:
            lines.extend(f"      {number}. {label}" for number, label in enumerate(labels, 1))
        self._output.write("\n".join(lines) + "\n")
        self._output.flush()
        self._options = [button["payload"] for button in buttons]
        return str(item.id)

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


async def run_console(
    *,
    dialogue: Dialogue,
    worker: DeliveryWorker,
    screen: ConsoleScreen,
    input_stream: TextIO = sys.stdin,
    output: TextIO = sys.stdout,
) -> None:
    """Hold a conversation on the terminal until end of input or /quit."""
    user = getpass.getuser()
    key = ConversationKey(platform=PLATFORM, chat_id=user, user_id=user)
    language = console_language()
    interactive = input_stream.isatty()
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

    await say("/start")
    while True:
        if interactive:
            output.write(PROMPT)
            output.flush()
        line = await asyncio.to_thread(input_stream.readline)
        if not line:
            break
        line = line.rstrip("\n")
        if line.strip() in ("/quit", "/exit"):
            break
        if not interactive:
            output.write(f"{PROMPT}{line}\n")
        await say(line, screen.button_for(line))
    output.write("Bye! Your answers are saved; `ideabot ideas list` shows the ideas.\n")
    output.flush()
