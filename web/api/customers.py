"""Customers: list, read, cross-channel timeline, merge and undo, merge suggestions."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from inbox import actions, queries
from inbox.access import Viewer
from web.runtime import Runtime


class MergeRequest(msgspec.Struct, forbid_unknown_fields=True):
    other_id: int


class CustomersController(Controller):
    path = "/api/v1"
    tags = ["customers"]

    @get("/customers")
    async def list_customers(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        q: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
    ) -> dict[str, Any]:
        """Customers the agent can see, newest first; `q` searches names and identities."""
        async with runtime.db.read() as session:
            page = await queries.list_customers(session, viewer, q=q, cursor=cursor, limit=limit)
        return page.as_dict()

    @get("/customers/{customer_id:int}")
    async def get_customer(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        customer_id: FromPath[int],
    ) -> dict[str, Any]:
        async with runtime.db.read() as session:
            return await queries.customer_detail(session, viewer, customer_id)

    @get("/customers/{customer_id:int}/timeline")
    async def timeline(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        customer_id: FromPath[int],
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
    ) -> dict[str, Any]:
        """Every message of the customer across channels and conversations, oldest first."""
        async with runtime.db.read() as session:
            page = await queries.customer_timeline(session, viewer, customer_id, cursor, limit)
        return page.as_dict()

    @post("/customers/{customer_id:int}/merge", status_code=200)
    async def merge(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        customer_id: FromPath[int],
        data: JSONBody[MergeRequest],
    ) -> dict[str, Any]:
        """Merge `other_id` into this customer; answers the surviving customer."""
        return await actions.merge_for_agent(runtime.db, viewer, customer_id, data.other_id)

    @post("/merges/{merge_id:int}/undo", status_code=200)
    async def undo(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        merge_id: FromPath[int],
    ) -> dict[str, Any]:
        return await actions.undo_merge_for_agent(runtime.db, viewer, merge_id)

    @get("/merge-suggestions")
    async def suggestions(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        status: FromQuery[str] = "pending",
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
    ) -> dict[str, Any]:
        async with runtime.db.read() as session:
            page = await queries.list_suggestions(session, viewer, status, cursor, limit)
        return page.as_dict()

    @post("/merge-suggestions/{suggestion_id:int}/accept", status_code=200)
    async def accept(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        suggestion_id: FromPath[int],
    ) -> dict[str, Any]:
        return await actions.decide_suggestion(runtime.db, viewer, suggestion_id, accept=True)

    @post("/merge-suggestions/{suggestion_id:int}/reject", status_code=200)
    async def reject(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        suggestion_id: FromPath[int],
    ) -> dict[str, Any]:
        return await actions.decide_suggestion(runtime.db, viewer, suggestion_id, accept=False)
