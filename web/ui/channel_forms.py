"""The admin form of each inbox kind: its config keys (DESIGN.md), how a form value becomes a
config value, which keys are secrets (stored, never shown back), and whether the channel checks
what reaches its webhook."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from connectors.twilio import signatures_checked
from inbox.errors import Invalid


@dataclass(frozen=True)
class ConfigField:
    key: str
    type: str = "text"  # text | url | secret | bool | int | float | list | json | choice
    default: Any = None
    choices: tuple[str, ...] = ()
    hint: str = ""

    @property
    def secret(self) -> bool:
        return self.type == "secret"


BOT = (
    ConfigField("bot_enabled", "bool", True, hint="The FAQ bot answers when it is sure."),
    ConfigField(
        "bot_threshold", "float", hint="The bot's confidence bar, 0 to 1 (empty: calibrated)."
    ),
)
KIND_FIELDS: dict[str, tuple[ConfigField, ...]] = {
    "api": (ConfigField("callback_url", "url", hint="Replies are POSTed here, signed."),),
    "twilio": (
        ConfigField("account_sid"),
        ConfigField("auth_token", "secret"),
        ConfigField("phone_number", hint="E.164, e.g. +14155550100"),
        ConfigField("verify_signatures", "bool", True, hint="Check X-Twilio-Signature."),
        ConfigField("api_base_url", "url", hint="Optional, for tests."),
    ),
    "whatsapp": (
        ConfigField("phone_number_id"),
        ConfigField("access_token", "secret"),
        ConfigField("app_secret", "secret", hint="Checks X-Hub-Signature-256."),
        ConfigField("verify_token", "secret"),
        ConfigField("api_base_url", "url", hint="Optional, for tests."),
    ),
    "telegram": (
        ConfigField("bot_token", "secret"),
        ConfigField("secret_token", "secret", hint="Generated when left empty."),
        ConfigField("api_base_url", "url", hint="Optional, for tests."),
        ConfigField("register_webhook", "bool", True, hint="Call setWebhook on creation."),
    ),
    "email": (
        ConfigField("address"),
        ConfigField("imap_host"),
        ConfigField("imap_port", "int"),
        ConfigField("imap_user"),
        ConfigField("imap_password", "secret"),
        ConfigField("imap_mailbox"),
        ConfigField("smtp_host"),
        ConfigField("smtp_port", "int"),
        ConfigField("smtp_user"),
        ConfigField("smtp_password", "secret"),
        ConfigField("smtp_security", "choice", "starttls", ("starttls", "tls", "none")),
    ),
    "webchat": (
        ConfigField("allowed_origins", "list", hint="Comma-separated, e.g. https://shop.example"),
        ConfigField("identity_secret", "secret", hint="Generated when left empty."),
        ConfigField("business_hours", "json", hint='{"timezone": "Asia/Seoul", "days": {...}}'),
    ),
}
KINDS = tuple(KIND_FIELDS)


def fields_of(kind: str) -> tuple[ConfigField, ...]:
    if kind not in KIND_FIELDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}")
    return KIND_FIELDS[kind] + BOT


def config_from_form(
    kind: str, form: dict[str, str], current: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The config a form describes; keys the form does not show are kept, an empty secret
    keeps the stored one."""
    config = dict(current or {})
    for field in fields_of(kind):
        raw = form.get(field.key, "")
        if field.type == "bool":
            config[field.key] = raw == "on"
            continue
        raw = raw.strip()
        if not raw:
            if not (field.secret and current is not None):
                config.pop(field.key, None)
            continue
        config[field.key] = _value(field, raw)
    return config


def _value(field: ConfigField, raw: str) -> Any:
    if len(raw) > 10_000 or "\x00" in raw:
        raise Invalid("%(field)s is too long", field=field.key)
    if field.type == "int":
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise Invalid("%(field)s must be a port number (1-65535)", field=field.key)
        return int(raw)
    if field.type == "float":
        try:
            number = float(raw)
        except ValueError:
            number = -1.0
        if not 0 <= number <= 1:
            raise Invalid("%(field)s must be a number from 0 to 1", field=field.key)
        return number
    if field.type == "url" and not raw.startswith(("http://", "https://")):
        raise Invalid("%(field)s must be an http:// or https:// URL", field=field.key)
    if field.type == "choice" and raw not in field.choices:
        raise Invalid(f"{field.key} must be one of {', '.join(field.choices)}")
    if field.type == "list":
        return [part for part in raw.replace("\n", ",").replace(" ", ",").split(",") if part]
    if field.type == "json":
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise Invalid("%(field)s is not valid JSON", field=field.key) from exc
        if not isinstance(value, dict):
            raise Invalid("%(field)s must be a JSON object", field=field.key)
        return value
    return raw


def shown_value(field: ConfigField, config: dict[str, Any]) -> str:
    """What an edit form shows for a key: secrets only as a hint of their last characters."""
    value = config.get(field.key, field.default)
    if value is None:
        return ""
    if field.secret:
        return mask(str(value))
    if field.type == "list":
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if field.type == "json":
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def mask(secret: str) -> str:
    """`••••3f9a`: enough to recognise a secret, never enough to use it."""
    if not secret:
        return ""
    return "••••" + (secret[-4:] if len(secret) >= 16 else "")


@dataclass(frozen=True)
class SignatureState:
    on: bool
    how: str  # which check protects the webhook, in English (the template translates it)


def signature_state(kind: str, config: dict[str, Any]) -> SignatureState:
    """Whether the channel refuses requests that its provider did not sign."""
    if kind == "twilio":
        return SignatureState(signatures_checked(config), "X-Twilio-Signature (verify_signatures)")
    if kind == "whatsapp":
        return SignatureState(bool(config.get("app_secret")), "X-Hub-Signature-256 (app_secret)")
    if kind == "telegram":
        return SignatureState(bool(config.get("secret_token")), "secret_token header")
    if kind == "webchat":
        return SignatureState(bool(config.get("identity_secret")), "identity_secret (user_id)")
    return SignatureState(True, "Bearer inbox token")
