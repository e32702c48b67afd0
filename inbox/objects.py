"""The public JSON shapes of customers, conversations and messages (REST, events, callbacks)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from inbox.models import Attachment, Conversation, Customer, Identity, Message


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, as every timestamp leaves us."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def customer_object(customer: Customer, identities: Sequence[Identity]) -> dict[str, Any]:
    return {
        "id": customer.id,
        "name": customer.name,
        "identities": [
            {"kind": i.kind, "value": i.value, "verified": i.verified} for i in identities
        ],
        "attributes": customer.attributes,
        "merged_into_id": customer.merged_into_id,
        "created_at": iso(customer.created_at),
    }


def conversation_object(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "customer_id": conversation.customer_id,
        "inbox_id": conversation.inbox_id,
        "status": conversation.status,
        "assignee_id": conversation.assignee_id,
        "subject": conversation.subject,
        "snoozed_until": iso(conversation.snoozed_until),
        "created_at": iso(conversation.created_at),
        "last_message_at": iso(conversation.last_message_at),
        "first_response_at": iso(conversation.first_response_at),
        "resolved_at": iso(conversation.resolved_at),
    }


def attachment_object(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
    }


def message_object(message: Message, attachments: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "customer_id": message.customer_id,
        "inbox_id": message.inbox_id,
        "channel": message.channel,
        "direction": message.direction,
        "author": message.author,
        "agent_id": message.agent_id,
        "text": message.text,
        "stripped_text": message.stripped_text,
        "private": message.private,
        "status": message.status,
        "error": message.error,
        "external_id": message.external_id,
        "attachments": list(attachments),
        "created_at": iso(message.created_at),
    }
    if message.meta and "faq" in message.meta:
        data["faq"] = message.meta["faq"]  # a bot message: the matched entry and its score
    if message.subject is not None or message.html is not None:
        data["subject"] = message.subject
        data["html"] = message.html
    return data
