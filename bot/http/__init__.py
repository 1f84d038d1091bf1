"""The HTTP edge: one ASGI app for health, metrics and webhooks, and the limits on what it reads."""
