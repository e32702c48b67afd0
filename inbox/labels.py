"""Label actions: put a label on a conversation or take it off (created on first use)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlmodel import select

from inbox.access import Viewer
from inbox.db import Database, Tx
from inbox.ingest import conversation_inbox_ids
from inbox.listing import labels_by_conversation, normalise_label
from inbox.models import Conversation, ConversationLabel, Label
from inbox.objects import conversation_object
from inbox.queries import visible_conversation


async def add_label(db: Database, viewer: Viewer, conversation_id: int, raw: str) -> dict[str, Any]:
    """Label a conversation the agent can see; the conversation with its labels."""
    name = normalise_label(raw)

    async def work(tx: Tx) -> dict[str, Any]:
        conversation = await visible_conversation(tx.session, viewer, conversation_id)
        label = (await tx.session.exec(select(Label).where(Label.name == name))).first()
        if label is None:
            # A concurrent first use collides on the unique name; run_write retries and finds it.
            label = Label(name=name)
            tx.session.add(label)
            await tx.session.flush()
        # Found in the table or just flushed into it: the database has given it an id.
        assert label.id is not None
        linked = await tx.session.get(ConversationLabel, (conversation_id, label.id))
        if linked is None:
            tx.session.add(ConversationLabel(conversation_id=conversation_id, label_id=label.id))
            await tx.session.flush()
            return await _changed(tx, conversation)
        return await _labelled(tx, conversation)

    return await db.run_write(work)


async def remove_label(
    db: Database, viewer: Viewer, conversation_id: int, raw: str
) -> dict[str, Any]:
    """Take a label off a conversation the agent can see (no-op when it is not there)."""
    name = normalise_label(raw)

    async def work(tx: Tx) -> dict[str, Any]:
        conversation = await visible_conversation(tx.session, viewer, conversation_id)
        label = await tx.session.scalar(select(Label.id).where(Label.name == name))
        if label is None:
            return await _labelled(tx, conversation)
        removed = await tx.session.execute(
            delete(ConversationLabel).where(
                ConversationLabel.conversation_id == conversation_id,  # type: ignore[arg-type]
                ConversationLabel.label_id == label,  # type: ignore[arg-type]
            )
        )
        if not removed.rowcount:  # type: ignore[attr-defined]
            return await _labelled(tx, conversation)
        return await _changed(tx, conversation)

    return await db.run_write(work)


async def _labelled(tx: Tx, conversation: Conversation) -> dict[str, Any]:
    cid = conversation.id or 0
    labels = await labels_by_conversation(tx.session, [cid])
    return {**conversation_object(conversation), "labels": labels[cid]}


async def _changed(tx: Tx, conversation: Conversation) -> dict[str, Any]:
    """The conversation with its labels, announced to its inboxes as `conversation.updated`."""
    data = await _labelled(tx, conversation)
    inboxes = await conversation_inbox_ids(tx.session, conversation.id or 0)
    tx.emit("conversation.updated", data, inboxes)
    return data
