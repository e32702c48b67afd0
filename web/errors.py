"""Domain errors become clear JSON answers; nothing a user sends produces a 500.

The agent UI gets them in its language (`locale/ko/errors.po`); API and webhook answers stay
English, the contract integrators test against.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from sqlalchemy.exc import SQLAlchemyError

from connectors.base import SignatureError
from inbox.errors import Conflict, Invalid, NotFound, TooLarge, Unsupported
from web.ui.language import translate_error

log = logging.getLogger(__name__)


def _error(
    request: Request[Any, Any, Any],
    status: int,
    error: str | BaseException,
    headers: dict[str, str] | None = None,
    *,
    default: str = "",
) -> Response[Any]:
    # `detail` is the shape the OpenAPI schema publishes for errors; `error` is kept for clients.
    message = translate_error(request, error if str(error) else default)
    body = {"error": message, "detail": message, "status_code": status}
    return Response(body, status_code=status, headers=headers)


def not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _error(request, 404, exc, default="not found")


def invalid(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status = 413 if isinstance(exc, TooLarge) else 415 if isinstance(exc, Unsupported) else 400
    return _error(request, status, exc, default="invalid request")


def conflict(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _error(request, 409, exc, default="conflict")


def forbidden(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status = getattr(exc, "status", 403)
    return _error(request, status, str(exc) or "forbidden")


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    message = exc.detail
    if exc.status_code == 400 and getattr(exc, "extra", None):
        message = f"{exc.detail}: {exc.extra}"
    return _error(request, exc.status_code, str(message), getattr(exc, "headers", None))


def too_deep(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # A decoder ran out of stack on a body nested far past the JSON limit (e.g. 500,000 `[`).
    return _error(request, 400, "the body is nested too deeply")


def database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Nothing was committed; a 503 tells a provider to retry later.
    log.exception("database error on %s %s", request.method, request.url.path)
    return _error(request, 503, "the database is unavailable; try again")


def internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _error(request, 500, "internal error")


HANDLERS: dict[Any, Any] = {
    NotFound: not_found,
    Invalid: invalid,
    Conflict: conflict,
    SignatureError: forbidden,
    HTTPException: http_error,
    SQLAlchemyError: database_error,
    RecursionError: too_deep,
    Exception: internal,
}
