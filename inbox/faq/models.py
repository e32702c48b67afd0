"""Tables of the FAQ bot: entries, what the bot did with each customer message, its state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from inbox.models import utcnow


class FaqEntry(SQLModel, table=True):
    __tablename__ = "faq_entry"
    id: int | None = Field(default=None, primary_key=True)
    question: str = Field(max_length=1000)
    alternatives: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    answer: str = Field(sa_column=Column(Text, nullable=False))
    # A longer, formatted version for channels that show it (email, webchat, API).
    answer_rich: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    language: str = Field(default="en", max_length=16)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    enabled: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class FaqOutcome(SQLModel, table=True):
    """What the bot did about one inbound customer message (at most one row each)."""

    __tablename__ = "faq_outcome"
    __table_args__ = (
        Index("ix_faq_outcome_customer_entry", "customer_id", "entry_id", "created_at"),
        Index("ix_faq_outcome_conversation", "conversation_id", "kind"),
        Index("ix_faq_outcome_kind", "kind", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", unique=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    customer_id: int = Field(foreign_key="customer.id")
    inbox_id: int = Field(foreign_key="inbox.id")
    # answered · unsure · handover · skipped
    kind: str = Field(max_length=16)
    reason: str = Field(default="", max_length=64)
    entry_id: int | None = Field(default=None)  # no foreign key: entries may be deleted
    score: float | None = None
    bot_message_id: int | None = Field(default=None, foreign_key="message.id")
    wrong: bool = Field(default=False)
    marked_by: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = Field(default_factory=utcnow)


class FaqState(SQLModel, table=True):
    """Small named values: the bot's event-log cursor, the knowledge base's version."""

    __tablename__ = "faq_state"
    name: str = Field(max_length=64, primary_key=True)
    value: str = Field(default="", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)


def entry_object(entry: FaqEntry) -> dict[str, Any]:
    """The public JSON shape of an FAQ entry."""
    from inbox.objects import iso

    return {
        "id": entry.id,
        "question": entry.question,
        "alternatives": list(entry.alternatives),
        "answer": entry.answer,
        "answer_rich": entry.answer_rich,
        "language": entry.language,
        "tags": list(entry.tags),
        "enabled": entry.enabled,
        "created_at": iso(entry.created_at),
        "updated_at": iso(entry.updated_at),
    }
