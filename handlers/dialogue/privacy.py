"""A customer's own privacy commands in their chat: /privacy, /mydata, /forget and its buttons."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from handlers.dialogue.turn import DialogueTransaction, Turn
from handlers.messages import (
    Button,
    ButtonsUsed,
    FarewellThenErase,
    IncomingMessage,
    OutgoingMessage,
    SendDataExport,
)
from handlers.privacy.answers import ErasureAnswer, answer_payload, read_answer
from handlers.texts import Text, text

FORGET_PAYLOAD = "forget:"
_YES = "yes"
_NO = "no"
EXPORT_FILE_NAME = "my-data.json"


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    """What the customer is told, and how often they may ask for their file."""

    retention_days: int = 0
    notice_url: str = ""
    export_every: timedelta = timedelta(minutes=5)


def forget_payload(answer: str, customer_id: int) -> str:
    """The payload of a /forget button: the answer and whose data it was asked for."""
    return answer_payload(FORGET_PAYLOAD, answer, customer_id)


def parse_forget_payload(payload: str) -> ErasureAnswer | None:
    """The answer of a /forget button's payload; None if it is not one."""
    return read_answer(payload, prefix=FORGET_PAYLOAD, erase=_YES, keep=_NO)


class PrivacyChat:
    """Answers a customer's questions about their data, and queues their file or erasure."""

    def __init__(self, settings: PrivacySettings) -> None:
        self._settings = settings

    def privacy(self, turn: Turn) -> None:
        """/privacy: what is kept, why, how long, who sees it, and the company's notice."""
        language = turn.language
        days = self._settings.retention_days
        how_long = (
            text(Text.KEPT_FOR_DAYS, language, days=str(days))
            if days > 0
            else text(Text.KEPT_UNTIL_ERASED, language)
        )
        words = text(Text.PRIVACY, language, how_long=how_long)
        if self._settings.notice_url:
            notice = text(Text.PRIVACY_NOTICE, language, url=self._settings.notice_url)
            words = f"{words}\n{notice}"
        turn.replies.append(OutgoingMessage(words))

    async def my_data(self, transaction: DialogueTransaction, turn: Turn) -> None:
        """/mydata: queue the file of their data, unless one was asked for a moment ago."""
        every = self._settings.export_every
        if await transaction.data_export_within(key=turn.key, within=every):
            minutes = str(max(1, math.ceil(every.total_seconds() / 60)))
            turn.replies.append(
                OutgoingMessage(text(Text.MY_DATA_TOO_SOON, turn.language, minutes=minutes))
            )
            return
        turn.replies.append(OutgoingMessage(text(Text.MY_DATA_COMING, turn.language)))
        turn.actions_last.append(
            SendDataExport(customer_id=turn.customer.id, file_name=EXPORT_FILE_NAME)
        )

    def forget(self, turn: Turn) -> None:
        """/forget: ask to confirm, with buttons that name whose data they erase."""
        language = turn.language
        buttons = (
            Button(text(Text.FORGET_YES, language), forget_payload(_YES, turn.customer.id)),
            Button(text(Text.FORGET_NO, language), forget_payload(_NO, turn.customer.id)),
        )
        turn.replies.append(OutgoingMessage(text(Text.FORGET_CONFIRM, language), buttons))

    async def forget_answered(
        self, transaction: DialogueTransaction, turn: Turn, message: IncomingMessage
    ) -> None:
        """A /forget button: keep, erase, or say why this press changes nothing."""
        parsed = parse_forget_payload(message.button_payload or "")
        language = turn.language
        if message.button_message_id:
            turn.actions_first.append(
                ButtonsUsed(message.button_message_id, message.button_message_text)
            )
        if parsed is None:
            turn.replies.append(OutgoingMessage(text(Text.STALE_BUTTON, language)))
            return
        if parsed.customer_id != turn.customer.id:
            # Pressed under a confirmation of an identity already erased: this is a new one.
            turn.replies.append(OutgoingMessage(text(Text.FORGET_STALE, language)))
        elif not parsed.erase:
            turn.replies.append(OutgoingMessage(text(Text.FORGET_KEPT, language)))
        elif await transaction.erasure_waiting(key=message.key):
            turn.replies.append(OutgoingMessage(text(Text.FORGET_UNDER_WAY, language)))
        else:
            # Carried out after everything already queued for the chat (a staff reply on its
            # way included); the erasure drops what follows, then queues the goodbye.
            turn.actions_last.append(
                FarewellThenErase(
                    customer_id=turn.customer.id,
                    text=text(Text.FORGET_DONE, language),
                    could_not=text(Text.FORGET_FAILED, language),
                )
            )
