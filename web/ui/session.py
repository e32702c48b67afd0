"""Browser sessions: a signed, encrypted cookie naming the agent and their session version."""

from __future__ import annotations

import hashlib
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.middleware.session.client_side import CookieBackendConfig

from inbox.access import Viewer
from inbox.agents import viewer_by_session
from inbox.models import Agent
from inbox.settings import Settings
from web.runtime import Runtime

# Token-authenticated machine paths never carry the browser's cookies' authority.
NO_BROWSER_STATE = ["^/api/", "^/webhooks/", "^/health", "^/schema", "^/widget"]


def session_config(settings: Settings) -> CookieBackendConfig:
    secret = hashlib.sha256(b"session:" + settings.secret_key.encode()).digest()
    return CookieBackendConfig(
        secret=secret,
        key="inbox_session",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=7 * 24 * 3600,
        exclude=NO_BROWSER_STATE,
    )


def csrf_config(settings: Settings) -> CSRFConfig:
    secret = hashlib.sha256(b"csrf:" + settings.secret_key.encode()).hexdigest()
    return CSRFConfig(
        secret=secret,
        cookie_name="inbox_csrf",
        cookie_samesite="lax",
        cookie_secure=settings.secure_cookies,
        exclude=NO_BROWSER_STATE,
    )


def start_session(connection: ASGIConnection[Any, Any, Any, Any], agent: Agent) -> None:
    connection.set_session({"agent_id": agent.id, "v": agent.session_version})


async def viewer_from_session(
    runtime: Runtime, connection: ASGIConnection[Any, Any, Any, Any]
) -> Viewer | None:
    """The agent of a browser session, unless it was revoked (password change, disabled)."""
    session = connection.scope.get("session")
    if not isinstance(session, dict):
        return None  # a route without browser state, or a session cleared in this request
    agent_id, version = session.get("agent_id"), session.get("v")
    if not isinstance(agent_id, int):
        return None
    async with runtime.db.read() as db_session:
        return await viewer_by_session(db_session, agent_id, version)
