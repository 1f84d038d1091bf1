"""Telegram: updates in by long polling or webhook, outbox items out through the Bot API."""
