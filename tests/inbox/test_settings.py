"""Settings from the environment, with safe defaults and a refusal of unsafe production."""

import subprocess
import sys

import pytest

from inbox.settings import DEFAULT_SECRET, Settings, SettingsError


def test_defaults_run_embedded_on_sqlite():
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite+aiosqlite:///./inbox.db"
    assert settings.redis_url is None
    assert settings.continuation_hours == 24
    assert settings.simulator is True


def test_environment_overrides():
    settings = Settings.from_env(
        {
            "INBOX_DATABASE_URL": "postgresql+asyncpg://u@h/db",
            "INBOX_REDIS_URL": "redis://h:6379/0",
            "INBOX_PUBLIC_URL": "https://support.example.com/",
            "INBOX_DEFAULT_REGION": "kr",
            "INBOX_CONTINUATION_HOURS": "6",
            "INBOX_OUTBOX_POLL_SECONDS": "2.5",
        }
    )
    assert settings.public_url == "https://support.example.com"
    assert settings.outbox_poll_seconds == 2.5
    assert settings.default_region == "KR"
    assert settings.continuation_hours == 6


def test_production_refuses_the_default_secret():
    with pytest.raises(SettingsError, match="INBOX_SECRET_KEY"):
        Settings.from_env({"INBOX_ENV": "production"})
    ok = Settings.from_env({"INBOX_ENV": "production", "INBOX_SECRET_KEY": "x" * 40})
    assert ok.secret_key != DEFAULT_SECRET
    assert ok.simulator is False


def test_junk_numbers_are_a_clear_error():
    with pytest.raises(SettingsError, match="INBOX_CONTINUATION_HOURS"):
        Settings.from_env({"INBOX_CONTINUATION_HOURS": "a day"})
    for junk in ("soon", "0", "-1", "nan", "99999"):
        with pytest.raises(SettingsError, match="INBOX_OUTBOX_POLL_SECONDS"):
            Settings.from_env({"INBOX_OUTBOX_POLL_SECONDS": junk})


def test_the_cli_refuses_to_serve_production_with_the_default_secret(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "web.cli", "serve", "--port", "1"],
        env={
            "INBOX_ENV": "production",
            "PATH": "/usr/bin:/bin",
            "INBOX_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "INBOX_SECRET_KEY" in result.stderr
