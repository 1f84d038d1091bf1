"""The outbox: what the core asks to send, rows written in its turn, claimed by delivery."""
