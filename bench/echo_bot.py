"""The floor: a bare python-telegram-bot echo bot, polling the same Bot API double."""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the customer's text straight back."""
    if update.effective_message is not None and update.effective_message.text:
        await update.effective_message.reply_text(update.effective_message.text)


def main() -> None:
    """Run the echo bot until it is terminated."""
    base = os.environ["TELEGRAM_API_BASE_URL"]
    # Library defaults, as a bare bot has them; only the Bot API address differs.
    application = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(f"{base}/bot")
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(timeout=1, allowed_updates=["message"])


if __name__ == "__main__":
    main()
