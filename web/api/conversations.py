"""Conversations: list, read, change status and assignee, messages and replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from inbox import actions, queries
from inbox.access import Viewer
from inbox.errors import Invalid
from web.api.reply_form import MAX_REPLY_BODY, read_reply
from web.runtime import Runtime


class ConversationsController(Controller):
    path = "/api/v1/conversations"
    tags = ["conversations"]

    @get("/")
    async def list_conversations(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        status: FromQuery[str | None] = None,
        inbox_id: FromQuery[int | None] = None,
        assignee: FromQuery[str | None] = None,
        label: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
    ) -> dict[str, Any]:
        """Conversations by last activity, newest first (keyset pagination), each with its
        `labels`; `label` keeps those carrying that label."""
        async with runtime.db.read() as session:
            page = await queries.list_conversations(
                session,
                viewer,
                status=status,
                inbox_id=inbox_id,
                assignee=assignee,
                label=label,
                cursor=cursor,
                limit=limit,
            )
        return page.as_dict()

    @get("/{conversation_id:int}")
    async def get_conversation(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
    ) -> dict[str, Any]:
        async with runtime.db.read() as session:
            return await queries.conversation_detail(session, viewer, conversation_id)

    @patch("/{conversation_id:int}")
    async def update_conversation(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        """Change `status`, `assignee_id` or `snoozed_until` (only the fields given)."""
        changes: dict[str, Any] = {}
        unknown = set(data) - {"status", "assignee_id", "snoozed_until"}
        if unknown:
            raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}")
        if "status" in data:
            if not isinstance(data["status"], str):
                raise Invalid("status must be a string")
            changes["status"] = data["status"]
        if "assignee_id" in data:
            changes["assignee_id"] = data["assignee_id"]
        if "snoozed_until" in data:
            changes["snoozed_until"] = _timestamp(data["snoozed_until"])
        return await actions.update_conversation(runtime.db, viewer, conversation_id, **changes)

    @get("/{conversation_id:int}/messages")
    async def list_messages(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
    ) -> dict[str, Any]:
        """The messages of a conversation the agent may see, oldest first."""
        async with runtime.db.read() as session:
            page = await queries.conversation_messages(
                session, viewer, conversation_id, cursor, limit
            )
        return page.as_dict()

    @post(
        "/{conversation_id:int}/messages",
        status_code=201,
        request_max_body_size=MAX_REPLY_BODY,
        description=(
            'JSON {"text", "private": false, "inbox_id": optional}, or multipart/form-data with '
            "the fields text, private, inbox_id and any number of `files` (at most 10) to attach."
        ),
    )
    async def post_message(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
    ) -> dict[str, Any]:
        """Reply to the customer (queued on the outbox) or add a private note.

        JSON `{"text", "private", "inbox_id"}`, or multipart/form-data with those fields and
        `files` (any number) to attach files.
        """
        limits = runtime.settings.limits
        reply = await read_reply(request, limits)
        return await actions.post_message(
            runtime.db,
            viewer,
            conversation_id,
            reply.text,
            private=reply.private,
            inbox_id=reply.inbox_id,
            max_length=limits.message_text,
            files=reply.files,
            limits=limits,
        )


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid("snoozed_until must be an ISO 8601 timestamp or null")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("snoozed_until must be an ISO 8601 timestamp or null") from None
