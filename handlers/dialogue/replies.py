"""What a customer's conversation and an admin's trial share: commands, buttons, reply sizes."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.dialogue.text_split import split_text
from handlers.flows.engine import FlowState, parse_button_payload
from handlers.messages import ButtonsUsed, IncomingMessage, OutgoingMessage, TextLimit

USED_BUTTON_MARK = "✔"


def command_of(message: IncomingMessage) -> tuple[str, str]:
    """The command a message gives (casefolded) and the words after it; empty if it gives none."""
    if message.button_payload is not None:
        return "", ""
    command, _, argument = message.text.strip().partition(" ")
    if not command.startswith("/"):
        return "", ""
    return command.casefold(), argument.strip()


def pressed_answer(state: FlowState, payload: str) -> str | None:
    """The value of an answer button of the question open in ``state``; None for a stale one."""
    step_and_value = parse_button_payload(payload)
    if step_and_value is None or step_and_value[0] != state.step or state.follow_up_asked:
        return None
    return step_and_value[1]


def chosen_label(current: OutgoingMessage, payload: str) -> str:
    """The label of the open question's button that sent ``payload`` (empty if none did)."""
    return next((button.label for button in current.buttons if button.payload == payload), "")


def used_buttons(message: IncomingMessage, *, chosen: str = "") -> list[ButtonsUsed]:
    """The pressed button's message without its buttons, showing the choice if there was one."""
    if not message.button_message_id:
        return []
    marked = message.button_message_text
    if chosen:
        marked = f"{marked}\n\n{USED_BUTTON_MARK} {chosen}"
    return [ButtonsUsed(message.button_message_id, marked)]


def merge_replies(replies: Sequence[OutgoingMessage]) -> list[OutgoingMessage]:
    """Join a reply without buttons to the next one, so a turn costs as few messages as it can."""
    merged: list[OutgoingMessage] = []
    for reply in replies:
        if merged and not merged[-1].buttons:
            merged[-1] = OutgoingMessage(f"{merged[-1].text}\n\n{reply.text}", reply.buttons)
        else:
            merged.append(reply)
    return merged


def split_replies(
    replies: Sequence[OutgoingMessage], limit: TextLimit | None
) -> list[OutgoingMessage]:
    """Replies cut to the platform's length; a reply's buttons stay under its last piece."""
    if limit is None:
        return list(replies)
    parts: list[OutgoingMessage] = []
    for reply in replies:
        pieces = split_text(reply.text, limit)
        parts.extend(OutgoingMessage(piece) for piece in pieces[:-1])
        parts.append(OutgoingMessage(pieces[-1], reply.buttons))
    return parts
