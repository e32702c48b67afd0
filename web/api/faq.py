"""The FAQ: entries (admins write, agents read), suggestions for the reply box, marking a bot
answer wrong, and the bot's report."""

from __future__ import annotations

from typing import Any

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from inbox.access import Viewer
from inbox.faq import answers, store
from inbox.faq.index import knowledge_base
from inbox.faq.models import entry_object
from web.auth import admin_guard
from web.runtime import Runtime


class FaqController(Controller):
    path = "/api/v1/faq"
    tags = ["faq"]

    @get("/")
    async def list_entries(
        self, runtime: NamedDependency[Runtime], viewer: NamedDependency[Viewer]
    ) -> dict[str, Any]:
        """Every entry of the knowledge base."""
        async with runtime.db.read() as session:
            entries = await store.list_entries(session)
        return {"items": [entry_object(e) for e in entries], "next": None}

    @post("/", guards=[admin_guard], status_code=201)
    async def create_entry(
        self, runtime: NamedDependency[Runtime], data: JSONBody[Any]
    ) -> dict[str, Any]:
        return await store.create_entry(runtime.db, data)

    @get("/{entry_id:int}")
    async def get_entry(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        entry_id: FromPath[int],
    ) -> dict[str, Any]:
        async with runtime.db.read() as session:
            return entry_object(await store.get_entry(session, entry_id))

    @put("/{entry_id:int}", guards=[admin_guard])
    async def update_entry(
        self, runtime: NamedDependency[Runtime], entry_id: FromPath[int], data: JSONBody[Any]
    ) -> dict[str, Any]:
        """Change the fields given; the bot's next match uses them."""
        return await store.update_entry(runtime.db, entry_id, data)

    @delete("/{entry_id:int}", guards=[admin_guard], status_code=204)
    async def delete_entry(
        self, runtime: NamedDependency[Runtime], entry_id: FromPath[int]
    ) -> None:
        await store.delete_entry(runtime.db, entry_id)

    @post("/answers/{message_id:int}/wrong", status_code=200)
    async def mark_wrong(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        message_id: FromPath[int],
    ) -> dict[str, Any]:
        """Mark a bot answer wrong (it counts in the report)."""
        return await answers.mark_wrong(runtime.db, viewer, message_id)


class FaqSuggestionsController(Controller):
    path = "/api/v1/conversations"
    tags = ["faq"]

    @get("/{conversation_id:int}/faq-suggestions")
    async def suggestions(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        limit: FromQuery[int] = 3,
    ) -> dict[str, Any]:
        """The top FAQ matches for the conversation's latest customer message."""
        async with runtime.db.read() as session:
            return await answers.suggestions(
                session, viewer, conversation_id, knowledge_base(runtime.db.url), limit
            )


class ReportsController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]

    @get("/summary")
    async def summary(
        self, runtime: NamedDependency[Runtime], viewer: NamedDependency[Viewer]
    ) -> dict[str, Any]:
        """Counts of the bot's work: answered, handed over, marked wrong."""
        async with runtime.db.read() as session:
            return {"bot": await answers.bot_summary(session, viewer)}
