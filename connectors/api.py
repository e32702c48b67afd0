"""The generic API channel: integrators post JSON with the inbox token, get replies by callback."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

import httpx

from connectors.base import (
    ChannelInbox,
    IdentityClaim,
    InboundMessage,
    InvalidInbound,
    OutboundMessage,
    PermanentDeliveryError,
    RawRequest,
    Reply,
    SendReceipt,
    SignatureError,
    TransientDeliveryError,
)
from connectors.payload import json_object
from inbox.settings import Settings

CUSTOMER_FIELDS = {"name": None, "email": "email", "phone": "phone", "external_id": "external"}


class ApiConnector:
    """`POST /api/v1/inboxes/{id}/messages` in, signed JSON callbacks out."""

    kind = "api"

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self._client = client

    def verify(self, inbox: ChannelInbox, request: RawRequest) -> None:
        auth = request.header("authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), inbox.token.encode()
        ):
            raise SignatureError(
                "a valid inbox token is required (Authorization: Bearer ...)", status=401
            )

    def parse(self, inbox: ChannelInbox, request: RawRequest) -> list[InboundMessage]:
        data = json_object(request.body, self.settings.limits.json_nesting)
        external_id = data.get("external_id")
        if not isinstance(external_id, str | int) or isinstance(external_id, bool):
            raise InvalidInbound("external_id is required (a string)")
        text = data.get("text", "")
        if not isinstance(text, str):
            raise InvalidInbound("text must be a string")
        customer = data.get("customer")
        if not isinstance(customer, dict):
            raise InvalidInbound("customer is required (an object)")
        claims, name = _claims(customer)
        if not claims:
            raise InvalidInbound("customer needs at least one of email, phone, external_id")
        return [
            InboundMessage(
                inbox_id=inbox.id,
                external_id=str(external_id),
                identities=tuple(claims),
                text=text,
                channel="api",
                customer_name=name,
                sent_at=_timestamp(data.get("sent_at")),
            )
        ]

    def acknowledge(self, results: list[dict[str, Any]]) -> Reply:
        result = results[0]
        return Reply(status=200 if result["duplicate"] else 201, body=result)

    async def send(self, message: OutboundMessage) -> SendReceipt:
        url = message.inbox.config.get("callback_url")
        if not url:
            # No callback: the reply stays readable through the REST API.
            return SendReceipt(status="sent")
        body = json.dumps(message.payload, separators=(",", ":")).encode()
        signature = hmac.new(message.inbox.token.encode(), body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Inbox-Signature": f"sha256={signature}"}
        try:
            async with self._client_or_new() as client:
                response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(f"callback failed: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientDeliveryError(f"callback answered {response.status_code}")
        if response.status_code >= 400:
            raise PermanentDeliveryError(f"callback refused with {response.status_code}")
        return SendReceipt(status="delivered")

    def _client_or_new(self) -> Any:
        if self._client is not None:
            return _Borrowed(self._client)
        return httpx.AsyncClient(timeout=10.0, follow_redirects=False)


class _Borrowed:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __aenter__(self) -> httpx.AsyncClient:
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        return None


def _claims(customer: dict[str, Any]) -> tuple[list[IdentityClaim], str | None]:
    claims = []
    name = customer.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidInbound("customer.name must be a string")
    for field_name, kind in CUSTOMER_FIELDS.items():
        value = customer.get(field_name)
        if kind is None or value in (None, ""):
            continue
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise InvalidInbound(f"customer.{field_name} must be a string")
        # The inbox token proves the integrator, so what it asserts counts as verified.
        claims.append(IdentityClaim(kind, str(value), verified=True))
    return claims, name


def _timestamp(raw: Any) -> datetime | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise InvalidInbound("sent_at must be an ISO 8601 timestamp")
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInbound("sent_at must be an ISO 8601 timestamp") from exc


def connector(settings: Settings) -> ApiConnector:
    return ApiConnector(settings)
