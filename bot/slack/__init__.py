"""Slack: customers' DMs, the staff channel and its /ideas command, and who may use them."""
