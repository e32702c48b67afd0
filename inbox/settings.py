"""Settings read from the environment (the names are part of the public surface)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Self

DEFAULT_SECRET = "dev-insecure-secret-change-me"


class SettingsError(ValueError):
    """A setting is missing or unsafe for the chosen environment."""


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from exc
    if not 0 < value <= 3600:
        raise SettingsError(f"{name} must be more than 0 and at most 3600 seconds, got {raw!r}")
    return value


@dataclass(frozen=True)
class Limits:
    """Size limits on what the outside world may send us."""

    json_body: int = 1024 * 1024
    mime_body: int = 25 * 1024 * 1024
    attachment: int = 20 * 1024 * 1024
    message_text: int = 100_000
    mime_nesting: int = 50
    json_nesting: int = 64


@dataclass(frozen=True)
class Settings:
    """Everything the inbox can be configured with."""

    database_url: str = "sqlite+aiosqlite:///./inbox.db"
    redis_url: str | None = None
    secret_key: str = DEFAULT_SECRET
    public_url: str = "http://127.0.0.1:8000"
    default_region: str = "US"
    continuation_hours: int = 24
    env: str = "development"
    simulator: bool = True
    outbox_max_attempts: int = 5
    outbox_backoff_seconds: float = 2.0
    # An idle dispatcher looks at the outbox this often; new replies wake it at once anyway.
    outbox_poll_seconds: float = 1.0
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Self:
        """Read settings from `environ` (default: the process environment)."""
        env = dict(os.environ if environ is None else environ)
        mode = env.get("INBOX_ENV", "development")
        simulator_default = "0" if mode == "production" else "1"
        settings = cls(
            database_url=env.get("INBOX_DATABASE_URL") or cls.database_url,
            redis_url=env.get("INBOX_REDIS_URL") or None,
            secret_key=env.get("INBOX_SECRET_KEY") or DEFAULT_SECRET,
            public_url=(env.get("INBOX_PUBLIC_URL") or cls.public_url).rstrip("/"),
            default_region=(env.get("INBOX_DEFAULT_REGION") or cls.default_region).upper(),
            continuation_hours=_int(env, "INBOX_CONTINUATION_HOURS", 24),
            env=mode,
            simulator=env.get("INBOX_SIMULATOR", simulator_default) == "1",
            outbox_max_attempts=_int(env, "INBOX_OUTBOX_MAX_ATTEMPTS", 5),
            outbox_poll_seconds=_seconds(env, "INBOX_OUTBOX_POLL_SECONDS", 1.0),
            limits=Limits(
                json_body=_int(env, "INBOX_LIMIT_JSON_BODY", Limits.json_body),
                mime_body=_int(env, "INBOX_LIMIT_MIME_BODY", Limits.mime_body),
                attachment=_int(env, "INBOX_LIMIT_ATTACHMENT", Limits.attachment),
                message_text=_int(env, "INBOX_LIMIT_MESSAGE_TEXT", Limits.message_text),
            ),
        )
        settings.check()
        return settings

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def secure_cookies(self) -> bool:
        """Cookies only travel over HTTPS in production or behind an HTTPS public URL."""
        return self.is_production or self.public_url.startswith("https://")

    def check(self) -> None:
        """Refuse unsafe combinations (production with the default secret)."""
        if self.is_production and self.secret_key == DEFAULT_SECRET:
            raise SettingsError(
                "INBOX_ENV=production refuses the default INBOX_SECRET_KEY; set a long random one"
            )
        if self.continuation_hours < 0:
            raise SettingsError("INBOX_CONTINUATION_HOURS must not be negative")

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests use it)."""
        return replace(self, **changes)  # type: ignore[arg-type]
