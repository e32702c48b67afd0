"""Who is looking: an agent's role and inboxes decide what every query may return."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import select

from inbox.models import Message


@dataclass(frozen=True)
class Viewer:
    agent_id: int
    is_admin: bool
    inbox_ids: frozenset[int]
    locale: str = "en"  # the UI language the agent chose; "" follows the browser
    time_zone: str = ""  # IANA name the agent's UI shows times in; "" until set (UTC)

    @property
    def scope(self) -> frozenset[int] | None:
        """The inboxes this viewer is limited to; None means all (admins)."""
        return None if self.is_admin else self.inbox_ids

    def can_use_inbox(self, inbox_id: int) -> bool:
        return self.is_admin or inbox_id in self.inbox_ids


def message_visible(viewer: Viewer) -> ColumnElement[bool]:
    """A condition on `Message` rows this viewer may see."""
    if viewer.is_admin:
        return Message.id.is_not(None)  # type: ignore[union-attr]
    return Message.inbox_id.in_(viewer.inbox_ids)  # type: ignore[attr-defined]


def has_visible_message(viewer: Viewer, column: object, key: object) -> ColumnElement[bool]:
    """EXISTS a message visible to the viewer whose `column` equals `key`."""
    return exists(
        select(Message.id).where(column == key, message_visible(viewer))  # type: ignore[arg-type, operator]
    )
