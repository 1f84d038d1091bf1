"""Settings fail fast with clear messages, and .env.example documents every one."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings

ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


def test_env_example_lists_every_setting_with_a_comment() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    for name in Settings.model_fields:
        variable = name.upper()
        found = [i for i, line in enumerate(lines) if line.lstrip("# ").startswith(f"{variable}=")]
        assert found, f"{variable} is missing from .env.example"
        assert lines[found[0] - 1].startswith("#"), f"{variable} has no comment above it"


def test_defaults_run_without_any_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path("/"))
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    settings = Settings(_env_file=None)
    # ./ideabot.db, made absolute once, so every message names the one file in use
    assert settings.database_url == "sqlite+aiosqlite:////ideabot.db"
    assert settings.telegram_bot_token is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (
            "postgres://ideabot:pw@db:5432/ideabot",
            "postgresql+asyncpg://ideabot:pw@db:5432/ideabot",
        ),
        ("postgresql://ideabot@db/ideabot", "postgresql+asyncpg://ideabot@db/ideabot"),
        ("postgresql+asyncpg://ideabot@db/ideabot", "postgresql+asyncpg://ideabot@db/ideabot"),
        ("sqlite:///data/ideabot.db", "sqlite+aiosqlite:////srv/data/ideabot.db"),
        ("sqlite+aiosqlite:////var/ideabot.db", "sqlite+aiosqlite:////var/ideabot.db"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
    ],
)
def test_database_urls_get_the_async_driver_and_an_absolute_file(
    given: str, used: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "srv").mkdir()
    monkeypatch.chdir(tmp_path / "srv")
    expected = used.replace("////srv/", f"///{tmp_path}/srv/")
    assert Settings(_env_file=None, database_url=given).database_url == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"telegram_webhook_url": "https://x.example/telegram/webhook"},
            "TELEGRAM_WEBHOOK_SECRET is required in webhook mode",
        ),
        (
            {
                "telegram_webhook_url": "https://x.example/telegram/webhook",
                "telegram_webhook_secret": "short",
            },
            "must be 16 to 256 characters",
        ),
        (
            {
                "telegram_webhook_url": "http://x.example/telegram/webhook",
                "telegram_webhook_secret": "a" * 20,
            },
            "must be an https:// address",
        ),
        ({"telegram_bot_token": "changeme"}, "TELEGRAM_BOT_TOKEN is still a placeholder"),
        ({"slack_staff_channel": "C0STAFF"}, "SLACK_BOT_TOKEN is needed"),
        ({"slack_bot_token": "xoxp-user-token"}, "must be the app's bot token"),
        ({"slack_bot_token": "xoxb-1"}, "SLACK_SIGNING_SECRET is required"),
        (
            {"slack_bot_token": "xoxb-1", "slack_app_token": "xoxb-2"},
            "SLACK_APP_TOKEN must be an app-level token",
        ),
        (
            {"slack_bot_token": "xoxb-1", "slack_signing_secret": "s", "staff_signature": "{name}"},
            "STAFF_SIGNATURE must contain {text}",
        ),
    ],
)
def test_bad_settings_are_refused(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_empty_values_count_as_unset() -> None:
    settings = Settings(_env_file=None, telegram_bot_token="", telegram_webhook_url="")
    assert settings.telegram_bot_token is None
    assert not settings.telegram_webhook_mode


def test_secrets_are_not_shown_in_repr() -> None:
    settings = Settings(_env_file=None, telegram_bot_token="123:very-secret")
    assert "very-secret" not in repr(settings)


def test_slack_socket_mode_needs_no_signing_secret() -> None:
    settings = Settings(
        _env_file=None,
        slack_bot_token="xoxb-1",
        slack_app_token="xapp-1",
        slack_api_base_url="http://127.0.0.1:9/api",
        slack_admin_users=" U1, U2 ,,",
    )
    assert settings.slack_socket_mode
    assert settings.slack_api_base_url == "http://127.0.0.1:9/api/"
    assert settings.slack_admin_user_ids == {"U1", "U2"}


def test_status_labels_can_be_renamed_and_mistakes_are_named(tmp_path: Path) -> None:
    from bot.status_labels import StatusLabelsError, load_status_labels
    from handlers.ideas.status import IdeaStatus

    labels_file = tmp_path / "statuses.yaml"
    labels_file.write_text("planned: {en: Coming soon, nb: Kommer snart}\n", encoding="utf-8")
    settings = Settings(_env_file=None, status_labels_path=labels_file)
    labels = load_status_labels(settings)
    assert labels.label(IdeaStatus.PLANNED, "nb") == "Kommer snart"
    assert labels.label(IdeaStatus.DONE, "en") == "Done"
    labels_file.write_text("soon: {en: Soon}\n", encoding="utf-8")
    with pytest.raises(StatusLabelsError, match="'soon' is not a status"):
        load_status_labels(settings)
    assert Settings(_env_file=None, status_labels_path="").status_labels_path is None
