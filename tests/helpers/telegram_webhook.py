"""Telegram webhook updates as the Bot API would post them."""

from __future__ import annotations

from typing import Any

from tests.doubles.telegram_bot_api import Customer

SECRET = "s3cret-for-the-webhook_0123456789"


def text_update(update_id: int, customer: Customer, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": customer.as_user(),
            "chat": {"id": customer.chat_id, "type": "private", "first_name": customer.first_name},
            "date": 1_700_000_000,
            "text": text,
        },
    }
