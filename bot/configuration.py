"""The error for settings that do not allow what was asked."""

from __future__ import annotations


class ConfigurationError(Exception):
    """The settings do not allow what was asked; the message says what to set."""
