"""Browser rules enforced on the raw ASGI stream, so no handler, error or redirect escapes them:
security headers on every response, and no cookie-authenticated agent socket from another site."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar.types import ASGIApp, Message, Receive, Scope, Send

# No inline script anywhere: data never becomes code in the page.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Sockets that a browser opens with the agent's session cookie (token sockets carry no cookie
# authority, and the public widget socket is meant to be opened from customers' sites).
COOKIE_SOCKETS = ("/ws",)


def security_headers(app: ASGIApp) -> ASGIApp:
    """Middleware: add the security headers a response does not set itself (errors included)."""
    encoded = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in encoded if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def same_site_sockets(app: ASGIApp) -> ASGIApp:
    """Middleware: refuse a cookie-authenticated agent socket opened by another site's page."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] in COOKIE_SOCKETS and _foreign(scope):
            await send({"type": "websocket.close", "code": 4403, "reason": "foreign origin"})
            return
        await app(scope, receive, send)

    return middleware


def _foreign(scope: Any) -> bool:
    """An Origin whose host differs from the Host the browser connected to."""
    headers = {name.lower(): value for name, value in scope.get("headers", [])}
    origin = headers.get(b"origin")
    if origin is None or b"token=" in (scope.get("query_string") or b""):
        return False  # not a browser, or a token socket that carries no cookie authority
    host = headers.get(b"host", b"").decode("latin-1").lower()
    return urlsplit(origin.decode("latin-1")).netloc.lower() != host
