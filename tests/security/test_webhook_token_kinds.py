"""Webhook credentials kept apart: every webhook takes only its own inbox's own kind of secret.
A real credential of the wrong kind or of another inbox (an inbox bearer token on a signed
webhook, another inbox's app secret or Telegram secret, a Twilio signature replayed to another
inbox, a verify token used as the signing secret, a secret API token or an email inbox token as a
widget id) is refused, and nothing is stored. (test_tokens.py covers agent and inbox tokens on
the REST API and the API channel.)"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.factories import make_agent, make_inbox
from tests.security.conftest import stored

FIXTURES = Path(__file__).resolve().parents[1] / "connectors" / "fixtures"
DEAD = "http://127.0.0.1:9"  # nothing listens: no answer can leave
TWILIO_FORM = {
    "MessageSid": "SM" + "1" * 32,
    "AccountSid": "AC" + "0" * 32,
    "From": "+821012345678",
    "To": "+15005550006",
    "Body": "hi",
    "NumMedia": "0",
}
MIME = (
    b"From: Eve <eve@example.net>\r\nTo: support@shop.example\r\nSubject: hi\r\n"
    b"Message-ID: <kinds@example.net>\r\n\r\nhello\r\n"
)


def _hub(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _twilio(url: str, token: str) -> str:
    return RequestValidator(token).compute_signature(url, TWILIO_FORM)


@pytest.fixture
async def inboxes(db) -> dict[str, Any]:
    """Two of each signed channel (different secrets), plus API, email and webchat inboxes."""
    made: dict[str, Any] = {}
    for n in (1, 2):
        made[f"twilio{n}"] = await make_inbox(
            db,
            "twilio",
            config={
                "account_sid": "AC" + "0" * 32,
                "auth_token": f"twilio-token-{n}",
                "phone_number": "+15005550006",
                "api_base_url": DEAD,
            },
        )
        made[f"whatsapp{n}"] = await make_inbox(
            db,
            "whatsapp",
            config={
                "phone_number_id": "106540352242922",
                "access_token": "t",
                "app_secret": f"app-{n}",
                "verify_token": f"verify-{n}",
                "api_base_url": DEAD,
            },
        )
        made[f"telegram{n}"] = await make_inbox(
            db,
            "telegram",
            config={
                "bot_token": f"{n}23:ABC",
                "secret_token": f"tg-secret-{n}",
                "api_base_url": DEAD,
            },
        )
    made["api"] = await make_inbox(db, "api")
    made["email"] = await make_inbox(db, "email", config={"address": "support@shop.example"})
    made["chat"] = await make_inbox(
        db, "webchat", config={"allowed_origins": ["https://s.example"]}
    )
    made["agent"] = await make_agent(db, admin=True)
    return made


WA_BODY = json.dumps(json.loads((FIXTURES / "whatsapp" / "text.json").read_text())).encode()
TG_BODY = json.dumps(json.loads((FIXTURES / "telegram" / "text.json").read_text())).encode()


def _request(case: str, w: dict[str, Any], public_url: str) -> tuple[str, str, dict[str, Any]]:
    """(method, path, httpx arguments) for one confusion case."""
    wa1, tg1, tw1, tw2 = w["whatsapp1"], w["telegram1"], w["twilio1"], w["twilio2"]
    bearer = {
        "api-token": w["api"].token,
        "email-token": w["email"].token,
        "agent-token": w["agent"].token,
        "webchat-token": w["chat"].token,
    }
    json_headers = {"Content-Type": "application/json"}
    if "-with-bearer-" in case:
        hook, token = case.split("-with-bearer-")
        auth = {"Authorization": f"Bearer {bearer[token]}"}
        inbox_id = {
            "whatsapp": wa1.id,
            "telegram": tg1.id,
            "twilio": tw1.id,
            "email": w["email"].id,
        }[hook]
        body: dict[str, Any] = {
            "whatsapp": {"content": WA_BODY, "headers": json_headers},
            "telegram": {"content": TG_BODY, "headers": json_headers},
            "twilio": {"data": TWILIO_FORM, "headers": {}},
            "email": {"content": MIME, "headers": {"Content-Type": "message/rfc822"}},
        }[hook]
        return (
            "POST",
            f"/webhooks/{hook}/{inbox_id}",
            {**body, "headers": {**body["headers"], **auth}},
        )
    signed: dict[str, tuple[str, str, dict[str, Any]]] = {
        "whatsapp-signed-by-another-inbox": (
            "POST",
            f"/webhooks/whatsapp/{wa1.id}",
            {
                "content": WA_BODY,
                "headers": {**json_headers, "X-Hub-Signature-256": _hub(WA_BODY, "app-2")},
            },
        ),
        "whatsapp-signed-with-the-verify-token": (
            "POST",
            f"/webhooks/whatsapp/{wa1.id}",
            {
                "content": WA_BODY,
                "headers": {**json_headers, "X-Hub-Signature-256": _hub(WA_BODY, "verify-1")},
            },
        ),
        "whatsapp-signed-with-the-inbox-token": (
            "POST",
            f"/webhooks/whatsapp/{wa1.id}",
            {
                "content": WA_BODY,
                "headers": {**json_headers, "X-Hub-Signature-256": _hub(WA_BODY, wa1.token)},
            },
        ),
        "whatsapp-handshake-with-another-verify-token": (
            "GET",
            f"/webhooks/whatsapp/{wa1.id}",
            {
                "params": {
                    "hub.mode": "subscribe",
                    "hub.verify_token": "verify-2",
                    "hub.challenge": "42",
                }
            },
        ),
        "whatsapp-handshake-with-the-app-secret": (
            "GET",
            f"/webhooks/whatsapp/{wa1.id}",
            {
                "params": {
                    "hub.mode": "subscribe",
                    "hub.verify_token": "app-1",
                    "hub.challenge": "42",
                }
            },
        ),
        "whatsapp-handshake-with-the-inbox-token": (
            "GET",
            f"/webhooks/whatsapp/{wa1.id}",
            {
                "params": {
                    "hub.mode": "subscribe",
                    "hub.verify_token": wa1.token,
                    "hub.challenge": "42",
                }
            },
        ),
        "telegram-with-another-inboxs-secret": (
            "POST",
            f"/webhooks/telegram/{tg1.id}",
            {
                "content": TG_BODY,
                "headers": {**json_headers, "X-Telegram-Bot-Api-Secret-Token": "tg-secret-2"},
            },
        ),
        "telegram-with-its-inbox-token-as-secret": (
            "POST",
            f"/webhooks/telegram/{tg1.id}",
            {
                "content": TG_BODY,
                "headers": {**json_headers, "X-Telegram-Bot-Api-Secret-Token": tg1.token},
            },
        ),
        "telegram-with-its-bot-token-as-secret": (
            "POST",
            f"/webhooks/telegram/{tg1.id}",
            {
                "content": TG_BODY,
                "headers": {**json_headers, "X-Telegram-Bot-Api-Secret-Token": "123:ABC"},
            },
        ),
        "twilio-signature-replayed-to-another-inbox": (
            "POST",
            f"/webhooks/twilio/{tw2.id}",
            {
                "data": TWILIO_FORM,
                "headers": {
                    "X-Twilio-Signature": _twilio(
                        f"{public_url}/webhooks/twilio/{tw1.id}", "twilio-token-1"
                    )
                },
            },
        ),
        "twilio-signed-with-another-inboxs-token": (
            "POST",
            f"/webhooks/twilio/{tw1.id}",
            {
                "data": TWILIO_FORM,
                "headers": {
                    "X-Twilio-Signature": _twilio(
                        f"{public_url}/webhooks/twilio/{tw1.id}", "twilio-token-2"
                    )
                },
            },
        ),
        "twilio-status-signature-on-the-message-hook": (
            "POST",
            f"/webhooks/twilio/{tw1.id}",
            {
                "data": TWILIO_FORM,
                "headers": {
                    "X-Twilio-Signature": _twilio(
                        f"{public_url}/webhooks/twilio/{tw1.id}/status", "twilio-token-1"
                    )
                },
            },
        ),
        # Right secret, wrong kind of inbox behind the path.
        "whatsapp-signed-to-a-telegram-inbox": (
            "POST",
            f"/webhooks/whatsapp/{tg1.id}",
            {
                "content": WA_BODY,
                "headers": {**json_headers, "X-Hub-Signature-256": _hub(WA_BODY, "app-1")},
            },
        ),
        "telegram-secret-to-a-whatsapp-inbox": (
            "POST",
            f"/webhooks/telegram/{wa1.id}",
            {
                "content": TG_BODY,
                "headers": {**json_headers, "X-Telegram-Bot-Api-Secret-Token": "tg-secret-1"},
            },
        ),
        "api-token-on-the-email-hook-of-the-api-inbox": (
            "POST",
            f"/webhooks/email/{w['api'].id}",
            {
                "content": MIME,
                "headers": {
                    "Content-Type": "message/rfc822",
                    "Authorization": f"Bearer {w['api'].token}",
                },
            },
        ),
        "email-token-on-the-api-channel-of-the-email-inbox": (
            "POST",
            f"/api/v1/inboxes/{w['email'].id}/messages",
            {
                "json": {"external_id": "k1", "customer": {"email": "e@x.example"}, "text": "hi"},
                "headers": {"Authorization": f"Bearer {w['email'].token}"},
            },
        ),
        "api-token-on-the-api-webhook-path": (
            "POST",
            f"/webhooks/api/{w['api'].id}",
            {
                "json": {"external_id": "k2", "customer": {"email": "e@x.example"}, "text": "hi"},
                "headers": {"Authorization": f"Bearer {w['api'].token}"},
            },
        ),
        "webchat-token-on-the-webchat-webhook-path": (
            "POST",
            f"/webhooks/webchat/{w['chat'].id}",
            {
                "json": {"id": "m-1", "visitor": "v" * 16, "text": "hi"},
                "headers": {"Authorization": f"Bearer {w['chat'].token}"},
            },
        ),
        # The widget's public id must be a webchat token, never a secret one.
        "api-token-as-widget-id": (
            "POST",
            "/widget/messages",
            {
                "params": {"inbox": w["api"].token},
                "content": json.dumps({"id": "m-2", "visitor": "v" * 16, "text": "hi"}),
                "headers": {"Content-Type": "text/plain"},
            },
        ),
        "email-token-as-widget-id": (
            "POST",
            "/widget/messages",
            {
                "params": {"inbox": w["email"].token},
                "content": json.dumps({"id": "m-3", "visitor": "v" * 16, "text": "hi"}),
                "headers": {"Content-Type": "text/plain"},
            },
        ),
    }
    return signed[case]


# case → the refusal: 401 for a missing/wrong bearer, 403 for a bad signature or secret,
# 404 when the path's inbox is not of that kind.
CASES = {
    **{
        f"{hook}-with-bearer-{token}": 403
        for hook in ("whatsapp", "telegram", "twilio")
        for token in ("api-token", "email-token", "agent-token", "webchat-token")
    },
    **{
        f"email-with-bearer-{token}": 401 for token in ("api-token", "agent-token", "webchat-token")
    },
    "whatsapp-signed-by-another-inbox": 403,
    "whatsapp-signed-with-the-verify-token": 403,
    "whatsapp-signed-with-the-inbox-token": 403,
    "whatsapp-handshake-with-another-verify-token": 403,
    "whatsapp-handshake-with-the-app-secret": 403,
    "whatsapp-handshake-with-the-inbox-token": 403,
    "telegram-with-another-inboxs-secret": 403,
    "telegram-with-its-inbox-token-as-secret": 403,
    "telegram-with-its-bot-token-as-secret": 403,
    "twilio-signature-replayed-to-another-inbox": 403,
    "twilio-signed-with-another-inboxs-token": 403,
    "twilio-status-signature-on-the-message-hook": 403,
    "whatsapp-signed-to-a-telegram-inbox": 404,
    "telegram-secret-to-a-whatsapp-inbox": 404,
    "api-token-on-the-email-hook-of-the-api-inbox": 404,
    "email-token-on-the-api-channel-of-the-email-inbox": 404,
    "api-token-on-the-api-webhook-path": 404,
    "webchat-token-on-the-webchat-webhook-path": 403,
    "api-token-as-widget-id": 404,
    "email-token-as-widget-id": 404,
}


@pytest.mark.parametrize(("case", "status"), list(CASES.items()))
async def test_a_credential_of_another_kind_or_inbox_is_refused(server, db, inboxes, case, status):
    method, path, arguments = _request(case, inboxes, server.settings.public_url)
    before = await stored(db)
    async with server.client() as client:
        response = await client.request(method, path, **arguments)
    assert response.status_code == status, response.text
    assert "42" != response.text  # a handshake never echoes the challenge
    assert await stored(db) == before


@pytest.mark.parametrize("inbox", ["api", "email"])
async def test_a_secret_token_never_opens_the_widget_socket(server, db, inboxes, inbox):
    url = f"{server.ws_url}/widget/ws?inbox={inboxes[inbox].token}&visitor={'v' * 16}"
    with pytest.raises((InvalidStatus, ConnectionClosed)) as refused:
        async with connect(url) as socket:
            await socket.recv()
    if isinstance(refused.value, ConnectionClosed):
        assert refused.value.rcvd is not None and refused.value.rcvd.code == 4404


async def test_each_credential_works_where_it_belongs(server, db, inboxes):
    """The same requests with the right credential pass, so the refusals above are real."""
    w, public = inboxes, server.settings.public_url
    async with server.client() as client:
        answers = [
            await client.post(
                f"/webhooks/whatsapp/{w['whatsapp1'].id}",
                content=WA_BODY,
                headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": _hub(WA_BODY, "app-1"),
                },
            ),
            await client.post(
                f"/webhooks/telegram/{w['telegram1'].id}",
                content=TG_BODY,
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": "tg-secret-1",
                },
            ),
            await client.post(
                f"/webhooks/twilio/{w['twilio1'].id}",
                data=TWILIO_FORM,
                headers={
                    "X-Twilio-Signature": _twilio(
                        f"{public}/webhooks/twilio/{w['twilio1'].id}", "twilio-token-1"
                    )
                },
            ),
            await client.post(
                f"/webhooks/email/{w['email'].id}",
                content=MIME,
                headers={
                    "Content-Type": "message/rfc822",
                    "Authorization": f"Bearer {w['email'].token}",
                },
            ),
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 201], [a.text for a in answers]
