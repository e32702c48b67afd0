"""Public URLs of an inbox: where its provider posts, or where its widget loads from."""

from __future__ import annotations

from inbox.settings import Settings

WEBHOOK_PATHS = {
    "api": "/api/v1/inboxes/{id}/messages",
    "twilio": "/webhooks/twilio/{id}",
    "whatsapp": "/webhooks/whatsapp/{id}",
    "telegram": "/webhooks/telegram/{id}",
    "email": "/webhooks/email/{id}",
    "webchat": "/widget.js?inbox={token}",
}
KINDS = tuple(WEBHOOK_PATHS)


def webhook_url(settings: Settings, kind: str, inbox_id: int, token: str) -> str:
    return settings.public_url + WEBHOOK_PATHS[kind].format(id=inbox_id, token=token)
