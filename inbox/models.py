"""Tables of the inbox (SQLModel on SQLAlchemy 2); every change is an Alembic revision."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

MAX_ID = 2**31 - 1  # ids are INTEGER columns (int4 on PostgreSQL); larger cannot exist


def is_id(value: object) -> bool:
    """Whether `value` could be a row id (a positive 64-bit integer, not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def utcnow() -> datetime:
    """Aware UTC now (SQLModel stores timestamps in UTC and gives them back aware)."""
    return datetime.now(UTC)


class Role(StrEnum):
    admin = "admin"
    agent = "agent"


class Status(StrEnum):
    open = "open"
    pending = "pending"
    snoozed = "snoozed"
    resolved = "resolved"


class Direction(StrEnum):
    inbound = "in"
    outbound = "out"


class Author(StrEnum):
    customer = "customer"
    agent = "agent"
    bot = "bot"
    system = "system"


class Delivery(StrEnum):
    """Delivery states in the only order they may move (failed is final)."""

    received = "received"
    queued = "queued"
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"


DELIVERY_RANK = {
    Delivery.received: 0,
    Delivery.queued: 1,
    Delivery.sent: 2,
    Delivery.delivered: 3,
    Delivery.read: 4,
    Delivery.failed: 5,
}


class Agent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=200)
    role: str = Field(default=Role.agent, max_length=16)
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    active: bool = Field(default=True)
    session_version: int = Field(default=1)
    locale: str = Field(default="en", max_length=8)
    locale_chosen: bool = Field(default=False)  # until then the UI follows the browser
    avatar_url: str | None = Field(default=None, max_length=500)  # shown in the chat widget
    time_zone: str | None = Field(default=None, max_length=64)  # IANA name; None until set
    created_at: datetime = Field(default_factory=utcnow)


class Inbox(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    name: str = Field(max_length=200)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Stored in the clear: it signs outgoing callbacks (api) and is public in the page (webchat).
    token: str = Field(max_length=80, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


class InboxMember(SQLModel, table=True):
    __tablename__ = "inbox_member"
    agent_id: int = Field(foreign_key="agent.id", primary_key=True)
    inbox_id: int = Field(foreign_key="inbox.id", primary_key=True)


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str | None = Field(default=None, max_length=200)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    merged_into_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Identity(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_identity_kind_value"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    value: str = Field(max_length=320)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    verified: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)


class Conversation(SQLModel, table=True):
    __table_args__ = (
        Index("ix_conversation_recent", "last_message_at", "id"),
        Index("ix_conversation_status_recent", "status", "last_message_at", "id"),
        Index("ix_conversation_assignee_recent", "assignee_id", "last_message_at", "id"),
        Index(
            "ix_conversation_assignee_status_recent",
            *("assignee_id", "status", "last_message_at", "id"),
        ),
        Index("ix_conversation_customer_recent", "customer_id", "last_message_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    inbox_id: int = Field(foreign_key="inbox.id")
    status: str = Field(default=Status.open, max_length=16)
    assignee_id: int | None = Field(default=None, foreign_key="agent.id")
    subject: str | None = Field(default=None, max_length=1000)
    snoozed_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_message_at: datetime = Field(default_factory=utcnow)
    last_inbound_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None


class Message(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("inbox_id", "external_id", name="uq_message_inbox_external"),
        Index("ix_message_conversation", "conversation_id", "created_at", "id"),
        Index("ix_message_conversation_inbox", "conversation_id", "inbox_id"),
        Index("ix_message_customer_timeline", "customer_id", "created_at", "id"),
        Index("ix_message_customer_inbox", "customer_id", "inbox_id"),
        Index("ix_message_external", "external_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    customer_id: int = Field(foreign_key="customer.id")
    inbox_id: int = Field(foreign_key="inbox.id")
    channel: str = Field(max_length=16)
    direction: str = Field(max_length=4)
    author: str = Field(max_length=16)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    text: str = ""
    stripped_text: str = ""
    html: str | None = None
    subject: str | None = Field(default=None, max_length=1000)
    external_id: str | None = Field(default=None, max_length=255)
    status: str = Field(default=Delivery.received, max_length=16)
    error: str | None = Field(default=None, max_length=1000)
    private: bool = False
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    received_at: datetime = Field(default_factory=utcnow)


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=255)
    size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class MergeRecord(SQLModel, table=True):
    __tablename__ = "merge_record"
    id: int | None = Field(default=None, primary_key=True)
    survivor_id: int = Field(foreign_key="customer.id", index=True)
    merged_id: int = Field(foreign_key="customer.id", index=True)
    reason: str = Field(max_length=64)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    # What moved, so undo moves exactly that back.
    moved: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    undone_at: datetime | None = None


class MergeSuggestion(SQLModel, table=True):
    __tablename__ = "merge_suggestion"
    __table_args__ = (Index("ix_merge_suggestion_status", "status", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    other_id: int = Field(foreign_key="customer.id")
    identity_kind: str = Field(max_length=16)
    identity_value: str = Field(max_length=320)
    reason: str = Field(max_length=64)
    status: str = Field(default="pending", max_length=16)
    decided_by: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None


class OutboxItem(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", unique=True)
    inbox_id: int = Field(foreign_key="inbox.id")
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Event(SQLModel, table=True):
    # SQLite only autoincrements an INTEGER primary key.
    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    type: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # ",3,7," — who may see it; empty means admins only.
    inbox_ids: str = Field(default="", max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)


class ChannelCursor(SQLModel, table=True):
    __tablename__ = "channel_cursor"
    inbox_id: int = Field(foreign_key="inbox.id", primary_key=True)
    key: str = Field(max_length=255, primary_key=True)
    value: str = Field(default="", max_length=255)
    updated_at: datetime = Field(default_factory=utcnow)


class EarlyDeliveryStatus(SQLModel, table=True):
    """A provider's status report that arrived before we stored its message's provider id."""

    __tablename__ = "early_delivery_status"
    id: int | None = Field(default=None, primary_key=True)
    inbox_id: int = Field(foreign_key="inbox.id")
    external_id: str = Field(max_length=255)
    status: str = Field(max_length=16)
    error: str | None = Field(default=None, max_length=1000)
    received_at: datetime = Field(default_factory=utcnow)


LABEL_MAX = 40  # characters in a label name, after normalising


class Label(SQLModel, table=True):
    """A label agents put on conversations; created on first use, shared by every inbox."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=LABEL_MAX, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


class ConversationLabel(SQLModel, table=True):
    __tablename__ = "conversation_label"
    __table_args__ = (Index("ix_conversation_label_label", "label_id", "conversation_id"),)
    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True)
    label_id: int = Field(foreign_key="label.id", primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class ReadMarker(SQLModel, table=True):
    """The newest message an agent has seen in a conversation; customer messages after it are
    unread for that agent."""

    __tablename__ = "read_marker"
    agent_id: int = Field(foreign_key="agent.id", primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True)
    message_id: int
    read_at: datetime = Field(default_factory=utcnow)
