"""ideabot's settings, from the environment or a .env file; refuses to start on bad values."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from handlers.ideas.digest import Frequency
from handlers.ideas.report import Frequency as ReportFrequency
from storage.database import sqlite_file, with_async_driver

SHIPPED_FLOWS = Path(__file__).resolve().parent.parent / "flows"
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
# What Telegram allows a username to be.
BOT_USERNAME = re.compile(r"[A-Za-z0-9_]{5,32}")
_PLACEHOLDERS = {"changeme", "change-me", "change_me", "secret", "your-token-here", "xxx", "todo"}


class SimilarityMethod(StrEnum):
    """How similar ideas are found (SIMILAR_IDEAS_METHOD)."""

    # local when the ``embeddings`` extra is installed, else lexical; resolved at start.
    AUTO = "auto"
    LEXICAL = "lexical"
    # multilingual-e5-small in this process, from the optional ``embeddings`` extra.
    LOCAL = "local"
    # An OpenAI-compatible /v1/embeddings endpoint at EMBEDDINGS_URL.
    OPENAI = "openai"


def _reject_placeholder(name: str, value: SecretStr | None) -> None:
    if value is not None and value.get_secret_value().strip().lower() in _PLACEHOLDERS:
        raise ValueError(f"{name} is still a placeholder; set the real value")


class Settings(BaseSettings):
    """Everything ideabot can be configured with; see .env.example for each setting."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./ideabot.db"
    flows_path: Path = SHIPPED_FLOWS
    default_flow: str = "idea"
    flow_refresh_seconds: float = Field(default=2.0, gt=0)
    log_level: str = "INFO"

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_bot_username: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_poll_timeout_seconds: int = Field(default=30, ge=0, le=50)
    telegram_chat_rate_per_second: float = Field(default=1.0, gt=0)
    telegram_chat_burst: int = Field(default=3, ge=1)
    telegram_global_rate_per_second: float = Field(default=30.0, gt=0)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_base_url: str = "https://slack.com/api/"
    slack_staff_channel: str | None = None
    slack_admin_users: str = ""
    slack_staff_cache_seconds: float = Field(default=300.0, gt=0)
    slack_channel_rate_per_second: float = Field(default=1.0, gt=0)
    slack_channel_burst: int = Field(default=2, ge=1)
    slack_global_rate_per_second: float = Field(default=20.0, gt=0)
    staff_note_prefix: str = Field(default="note:", min_length=1)
    staff_signature: str = "{text}\n\n— {name}"
    staff_reopen_closed_threads: bool = False

    reminder_sweep_seconds: float = Field(default=60.0, gt=0)
    similar_idea_threshold: float = Field(default=0.80, ge=0, le=1)
    similar_ideas_method: SimilarityMethod = SimilarityMethod.AUTO
    similar_idea_semantic_threshold: float = Field(default=0.95, ge=-1, le=1)
    similar_idea_margin: float = Field(default=0.05, ge=0, le=1)
    similar_idea_semantic_margin: float = Field(default=0.02, ge=0, le=2)
    similar_idea_face_threshold: float = Field(default=0.60, ge=0, le=1)
    similar_idea_semantic_face_threshold: float = Field(default=0.89, ge=-1, le=1)
    similar_idea_calibration_floor: float = Field(default=0.80, ge=0, le=1)
    similar_idea_semantic_calibration_floor: float = Field(default=0.95, ge=-1, le=1)
    similar_idea_calibration_decisions: int = Field(default=20, ge=2)
    embeddings_url: str | None = None
    embeddings_model: str = "text-embedding-3-small"
    embeddings_api_key: SecretStr | None = None
    embeddings_timeout_seconds: float = Field(default=10.0, gt=0)
    embeddings_batch_size: int = Field(default=64, ge=1, le=2048)
    embeddings_backfill_seconds: float = Field(default=30.0, gt=0)
    status_labels_path: Path | None = None
    digest_frequency: Frequency = Frequency.WEEKLY
    digest_weekday: int = Field(default=0, ge=0, le=6)
    digest_hour: int = Field(default=9, ge=0, le=23)
    digest_timezone: str = "UTC"
    # The installation's time zone: campaign schedules and quiet hours are read in it.
    timezone: str = "UTC"
    # A customer gets at most one campaign invitation in this many days, across campaigns.
    campaign_cap_days: int = Field(default=30, ge=0)
    # No invitation is enqueued from this hour until that one (local time); equal: none quiet.
    campaign_quiet_from: int = Field(default=21, ge=0, le=23)
    campaign_quiet_until: int = Field(default=8, ge=0, le=23)
    # Invitations each running campaign enqueues per tick, in one transaction.
    campaign_batch_size: int = Field(default=50, ge=1, le=5000)
    campaign_tick_seconds: float = Field(default=30.0, gt=0)
    # The leadership's report of the last month, posted in Slack on this day and hour (TIMEZONE).
    report_every: ReportFrequency = ReportFrequency.MONTHLY
    report_day: int = Field(default=1, ge=1, le=28)
    report_hour: int = Field(default=9, ge=0, le=23)
    # The channel the report goes to; None: the staff channel.
    report_slack_channel: str | None = None
    waiting_alert_hours: float = Field(default=24.0, gt=0)
    # Days a closed conversation keeps its transcript and answers; 0 keeps them for ever.
    retention_days: int = Field(default=0, ge=0)
    # The company's own privacy notice, linked from /privacy; empty leaves the line out.
    privacy_notice_url: str = ""
    # A customer gets the file of their data (/mydata) at most once in this many minutes.
    data_export_every_minutes: float = Field(default=5.0, ge=0)

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    http_max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    shutdown_timeout_seconds: float = Field(default=20.0, gt=0)
    http_body_timeout_seconds: float = Field(default=10.0, gt=0)
    http_max_connections: int = Field(default=500, ge=1)

    outbox_lease_seconds: float = Field(default=30.0, gt=0)
    outbox_max_in_flight: int = Field(default=16, ge=1)
    outbox_max_attempts: int = Field(default=12, ge=1)
    outbox_backoff_base_seconds: float = Field(default=1.0, gt=0)

    @field_validator("database_url")
    @classmethod
    def _async_driver_and_absolute_file(cls, value: str) -> str:
        # A relative SQLite path is taken from the current folder (where .env is read) once,
        # here, so every message can name the one file in use.
        url = with_async_driver(value.strip())
        try:
            path = sqlite_file(url)
        except ArgumentError:
            raise ValueError(
                "not a database address; use postgresql://user:password@host/database "
                "or sqlite:///path/to/ideabot.db"
            ) from None
        if path is None:
            return url
        absolute = make_url(url).set(database=str(path.resolve()))
        return absolute.render_as_string(hide_password=False)

    @field_validator("telegram_api_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("telegram_bot_username")
    @classmethod
    def _bot_username(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        username = value.strip().removeprefix("@")
        if BOT_USERNAME.fullmatch(username) is None:
            raise ValueError("give the bot's username as @BotFather shows it, e.g. my_ideas_bot")
        return username

    @field_validator("slack_api_base_url")
    @classmethod
    def _end_with_slash(cls, value: str) -> str:
        # slack_sdk joins method names straight onto the base URL.
        return value.rstrip("/") + "/"

    @field_validator(
        "telegram_bot_token",
        "telegram_webhook_secret",
        "telegram_webhook_url",
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "slack_staff_channel",
        "embeddings_url",
        "embeddings_api_key",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        if isinstance(value, SecretStr) and not value.get_secret_value().strip():
            return None
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("status_labels_path", mode="before")
    @classmethod
    def _empty_path_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _check_telegram(self) -> Self:
        _reject_placeholder("TELEGRAM_BOT_TOKEN", self.telegram_bot_token)
        _reject_placeholder("TELEGRAM_WEBHOOK_SECRET", self.telegram_webhook_secret)
        if self.telegram_webhook_url is not None:
            if not self.telegram_webhook_url.startswith("https://") and not _is_loopback(
                self.telegram_webhook_url
            ):
                raise ValueError("TELEGRAM_WEBHOOK_URL must be an https:// address")
            if self.telegram_webhook_secret is None:
                raise ValueError(
                    "TELEGRAM_WEBHOOK_SECRET is required in webhook mode (TELEGRAM_WEBHOOK_URL is "
                    "set): choose 16 to 256 characters of A-Z, a-z, 0-9, _ and -"
                )
            if not _WEBHOOK_SECRET.match(self.telegram_webhook_secret.get_secret_value()):
                raise ValueError(
                    "TELEGRAM_WEBHOOK_SECRET must be 16 to 256 characters of A-Z, a-z, 0-9, _ and -"
                )
        return self

    @model_validator(mode="after")
    def _check_embeddings(self) -> Self:
        _reject_placeholder("EMBEDDINGS_API_KEY", self.embeddings_api_key)
        if self.similar_ideas_method is SimilarityMethod.OPENAI and self.embeddings_url is None:
            raise ValueError(
                "SIMILAR_IDEAS_METHOD=openai needs EMBEDDINGS_URL, the endpoint's address "
                "ending in /v1 (e.g. http://127.0.0.1:11434/v1 for Ollama)"
            )
        return self

    @field_validator("digest_timezone", "timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not a time zone like UTC or Europe/Oslo") from None
        return value

    @model_validator(mode="after")
    def _check_slack(self) -> Self:
        for name in ("slack_bot_token", "slack_signing_secret", "slack_app_token"):
            _reject_placeholder(name.upper(), getattr(self, name))
        if self.slack_bot_token is None:
            if self.slack_staff_channel is not None or self.slack_app_token is not None:
                raise ValueError(
                    "SLACK_BOT_TOKEN is needed when SLACK_STAFF_CHANNEL or SLACK_APP_TOKEN is set"
                )
            return self
        if not self.slack_bot_token.get_secret_value().startswith("xoxb-"):
            raise ValueError("SLACK_BOT_TOKEN must be the app's bot token (it starts with xoxb-)")
        if self.slack_app_token is not None:
            if not self.slack_app_token.get_secret_value().startswith("xapp-"):
                raise ValueError(
                    "SLACK_APP_TOKEN must be an app-level token (it starts with xapp-)"
                )
        elif self.slack_signing_secret is None:
            raise ValueError(
                "SLACK_SIGNING_SECRET is required for Slack over HTTP (the app's Basic "
                "Information page has it); or set SLACK_APP_TOKEN to use Socket Mode"
            )
        if "{text}" not in self.staff_signature:
            raise ValueError("STAFF_SIGNATURE must contain {text} (and may contain {name})")
        return self

    @property
    def slack_admin_user_ids(self) -> frozenset[str]:
        """The Slack user ids configured as staff (they are never treated as customers)."""
        return frozenset(part.strip() for part in self.slack_admin_users.split(",") if part.strip())

    @property
    def slack_socket_mode(self) -> bool:
        """True when Slack events come over a WebSocket instead of to /slack/events."""
        return self.slack_app_token is not None

    @property
    def telegram_webhook_mode(self) -> bool:
        """True when Telegram pushes updates to us instead of us polling for them."""
        return self.telegram_webhook_url is not None


def _is_loopback(url: str) -> bool:
    # A Bot API double on this machine may call back over plain http; nothing else may.
    return re.match(r"^http://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/", url) is not None
