"""Who is calling: agent tokens (and, for the UI, sessions) become a Viewer; guards check roles."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from inbox.access import Viewer
from inbox.agents import viewer_by_token
from web.runtime import Runtime


def bearer_token(headers: Any) -> str | None:
    auth = headers.get("authorization") or ""
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def viewer_from_token(runtime: Runtime, token: str | None) -> Viewer | None:
    """The agent behind an agent API token (inbox tokens never match)."""
    if not token:
        return None
    async with runtime.db.read() as session:
        return await viewer_by_token(session, token)


async def provide_viewer(
    request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
) -> Viewer:
    """Dependency: the calling agent, or 401."""
    cached = request.scope.get("state", {}).get("viewer")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    viewer = await viewer_from_token(runtime, bearer_token(request.headers))
    if viewer is None:
        raise NotAuthorizedException("an agent token is required (Authorization: Bearer ...)")
    return viewer


async def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: only admins."""
    runtime: Runtime = connection.app.state.runtime
    viewer = await viewer_from_token(runtime, bearer_token(connection.headers))
    if viewer is None:
        raise NotAuthorizedException("an agent token is required")
    if not viewer.is_admin:
        raise PermissionDeniedException("admins only")
