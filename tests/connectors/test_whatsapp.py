"""WhatsApp Cloud API through the live server: Meta's handshake and signed webhooks in, Graph API
messages out, media fetched safely, with a local fake Graph API recording every request."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from inbox.settings import Limits
from tests.connectors.provider_server import Answer, ProviderServer
from tests.factories import count, make_agent, make_inbox
from tests.web.support import customer_writes, messages_of, wait_for_message

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"
SECRET = "meta-app-secret"
TOKEN = "EAAG-access-token"
NUMBER_ID = "106540352242922"
WAMID = "wamid.HBgMODIxMDEyMzQ1Njc4FQIAEhggQTFCMkMzRDRFNUY2"
MEDIA_ID = "1003383421387256"
JPEG = b"\xff\xd8\xff\xe0" + b"photo-bytes" * 50


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def first_message(payload: dict[str, Any]) -> dict[str, Any]:
    return payload["entry"][0]["changes"][0]["value"]["messages"][0]


@pytest.fixture
def settings(settings):
    # A small attachment cap so the size limit is cheap to cross.
    return settings.with_(limits=Limits(attachment=64 * 1024))


@pytest.fixture
def graph():
    with ProviderServer() as fake:
        yield fake


@pytest.fixture
async def inbox(db, graph):
    return await make_inbox(
        db,
        "whatsapp",
        "WhatsApp",
        {
            "phone_number_id": NUMBER_ID,
            "access_token": TOKEN,
            "app_secret": SECRET,
            "verify_token": "my-verify-token",
            "api_base_url": graph.url,
        },
    )


@pytest.fixture
async def agent(db, inbox):
    return await make_agent(db, inboxes=[inbox])


async def deliver(
    server, inbox, payload: Any = None, *, body: bytes | None = None, signature: str | None = "sign"
):
    body = json.dumps(payload).encode() if body is None else body
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = sign(body) if signature == "sign" else signature
    async with server.client() as client:
        return await client.post(f"/webhooks/whatsapp/{inbox.id}", content=body, headers=headers)


async def customer_of(server, agent, customer_id: int) -> dict[str, Any]:
    async with server.client(agent.token) as client:
        response = await client.get(f"/api/v1/customers/{customer_id}")
    assert response.status_code == 200, response.text
    return response.json()


# --- the verification handshake ---------------------------------------------------------------


async def test_the_handshake_echoes_the_challenge_when_the_verify_token_matches(server, inbox):
    async with server.client() as client:
        response = await client.get(
            f"/webhooks/whatsapp/{inbox.id}",
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": "my-verify-token",
                "hub.challenge": "1158201444",
            },
        )
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "my-verify-token", "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
async def test_a_wrong_handshake_is_403(server, inbox, params):
    async with server.client() as client:
        response = await client.get(f"/webhooks/whatsapp/{inbox.id}", params=params)
    assert response.status_code == 403
    assert "1" != response.text


# --- signatures -------------------------------------------------------------------------------


async def test_a_signed_text_message_is_stored_with_the_senders_name_and_phone(
    server, db, inbox, agent
):
    response = await deliver(server, inbox, fixture("text"))
    assert response.status_code == 200, response.text
    async with server.client(agent.token) as client:
        [conversation] = (await client.get("/api/v1/conversations")).json()["items"]
        [message] = await messages_of(client, conversation["id"])
    assert message["text"] == "Hi, my order #1042 has not arrived yet"
    assert (message["channel"], message["direction"], message["author"]) == (
        "whatsapp",
        "in",
        "customer",
    )
    customer = await customer_of(server, agent, message["customer_id"])
    assert customer["name"] == "Kim Minji"
    assert {"kind": "phone", "value": "+821012345678", "verified": True} in [
        {k: i[k] for k in ("kind", "value", "verified")} for i in customer["identities"]
    ]


@pytest.mark.parametrize(
    "signature",
    [
        None,  # missing
        "sha256=" + "0" * 64,  # wrong
        sign(b"{}"),  # signed another body
        "sign-with-another-secret",
    ],
)
async def test_a_bad_or_missing_signature_is_403_and_stores_nothing(server, db, inbox, signature):
    body = json.dumps(fixture("text")).encode()
    if signature == "sign-with-another-secret":
        signature = sign(body, "not-the-app-secret")
    response = await deliver(server, inbox, body=body, signature=signature)
    assert response.status_code == 403
    assert await count(db, "message") == 0
    assert await count(db, "customer") == 0


async def test_a_tampered_body_fails_its_signature(server, db, inbox):
    body = json.dumps(fixture("text")).encode()
    signature = sign(body)
    tampered = body.replace(b"#1042", b"#1043")
    response = await deliver(server, inbox, body=tampered, signature=signature)
    assert response.status_code == 403
    assert await count(db, "message") == 0


# --- dedupe, batches, identity ----------------------------------------------------------------


async def test_the_same_wamid_delivered_ten_times_at_once_is_stored_once(server, db, inbox):
    payload = fixture("text")
    responses = await asyncio.gather(*(deliver(server, inbox, payload) for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    assert await count(db, "message") == 1


async def test_every_message_of_a_batch_is_stored_in_the_providers_order(server, db, inbox, agent):
    payload = fixture("text")
    value = payload["entry"][0]["changes"][0]["value"]
    later = copy.deepcopy(value["messages"][0])
    later.update(id="wamid.SECOND", timestamp="1749416999", text={"body": "second"})
    value["messages"].insert(0, later)  # listed first, but sent later
    response = await deliver(server, inbox, payload)
    assert response.status_code == 200, response.text
    async with server.client(agent.token) as client:
        [conversation] = (await client.get("/api/v1/conversations")).json()["items"]
        texts = [m["text"] for m in await messages_of(client, conversation["id"])]
    assert texts == ["Hi, my order #1042 has not arrived yet", "second"]


async def test_a_whatsapp_number_joins_the_customer_who_texted_from_it(server, db, inbox, agent):
    api = await make_inbox(db, "api")
    earlier = await customer_writes(server, api, "SMS earlier", phone="010-1234-5678")
    response = await deliver(server, inbox, fixture("text"))
    assert response.status_code == 200, response.text
    async with server.client(agent.token) as client:
        [conversation] = (await client.get("/api/v1/conversations")).json()["items"]
    assert conversation["customer_id"] == earlier["customer_id"]
    assert await count(db, "customer") == 1


async def test_messages_for_another_number_of_the_app_are_ignored(server, db, inbox):
    payload = fixture("text")
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    response = await deliver(server, inbox, payload)
    assert response.status_code == 200
    assert await count(db, "message") == 0


# --- malformed input --------------------------------------------------------------------------


def broken_payloads() -> list[bytes]:
    no_id = fixture("text")
    del first_message(no_id)["id"]
    entry_not_list = fixture("text")
    entry_not_list["entry"] = {"oops": 1}
    text_not_object = fixture("text")
    first_message(text_not_object)["text"] = "plain"
    bad_sender = fixture("text")
    first_message(bad_sender)["from"] = "+82 10 ../etc"
    bad_time = fixture("text")
    first_message(bad_time)["timestamp"] = "yesterday"
    deep: Any = "x"
    for _ in range(80):
        deep = [deep]
    nested = fixture("text")
    nested["entry"][0]["extra"] = deep
    return [b"not json", b"\xff\xfe\x00garbage", b"[]", json.dumps({"object": "page"}).encode()] + [
        json.dumps(p).encode()
        for p in (no_id, entry_not_list, text_not_object, bad_sender, bad_time, nested)
    ]


@pytest.mark.parametrize("body", broken_payloads())
async def test_a_malformed_signed_payload_is_400_and_stores_nothing(server, db, inbox, body):
    response = await deliver(server, inbox, body=body)
    assert response.status_code == 400, response.text
    assert await count(db, "message") == 0


# --- media ------------------------------------------------------------------------------------


def serve_media(graph: ProviderServer, url: str) -> None:
    graph.route(
        "GET",
        f"/v21.0/{MEDIA_ID}",
        Answer(
            200,
            {
                "messaging_product": "whatsapp",
                "url": url,
                "mime_type": "image/jpeg",
                "sha256": "abc",
                "file_size": str(len(JPEG)),
                "id": MEDIA_ID,
            },
        ),
    )


async def test_an_image_is_looked_up_and_downloaded_with_the_bearer_token(
    server, db, inbox, agent, graph
):
    serve_media(graph, f"{graph.url}/media/photo-1")
    graph.route("GET", "/media/photo-1", Answer(200, JPEG, {"Content-Type": "image/jpeg"}))
    response = await deliver(server, inbox, fixture("image"))
    assert response.status_code == 200, response.text
    assert graph.paths() == [f"/v21.0/{MEDIA_ID}", "/media/photo-1"]
    assert {r.headers["authorization"] for r in graph.requests} == {f"Bearer {TOKEN}"}
    async with server.client(agent.token) as client:
        [conversation] = (await client.get("/api/v1/conversations")).json()["items"]
        [message] = await messages_of(client, conversation["id"])
        [attachment] = message["attachments"]
        download = await client.get(f"/api/v1/attachments/{attachment['id']}")
    assert message["text"] == "The box arrived broken"
    assert (attachment["content_type"], attachment["size"]) == ("image/jpeg", len(JPEG))
    assert attachment["filename"].startswith("image")
    assert download.content == JPEG


@pytest.mark.parametrize("where", ["other-loopback-port", "localhost", "link-local", "private"])
async def test_a_media_url_on_a_private_address_is_never_fetched(
    server, db, inbox, agent, graph, where
):
    with ProviderServer() as internal:
        internal.route("GET", "/secret", Answer(200, b"internal data"))
        url = {
            "other-loopback-port": f"{internal.url}/secret",
            "localhost": f"http://localhost:{internal.port}/secret",
            "link-local": "http://169.254.169.254/latest/meta-data/",
            "private": "http://10.0.0.7/secret",
        }[where]
        serve_media(graph, url)
        response = await deliver(server, inbox, fixture("image"))
        assert internal.requests == []
    assert response.status_code == 200, response.text
    async with server.client(agent.token) as client:
        [conversation] = (await client.get("/api/v1/conversations")).json()["items"]
        [message] = await messages_of(client, conversation["id"])
    # The customer's words are kept; the file that could not be fetched safely is not.
    assert message["text"] == "The box arrived broken"
    assert message["attachments"] == []


async def test_a_redirect_to_a_private_address_is_refused(server, db, inbox, agent, graph):
    with ProviderServer() as internal:
        internal.route("GET", "/secret", Answer(200, b"internal data"))
        serve_media(graph, f"{graph.url}/media/photo-1")
        graph.route(
            "GET", "/media/photo-1", Answer(302, b"", {"Location": f"{internal.url}/secret"})
        )
        response = await deliver(server, inbox, fixture("image"))
        assert internal.requests == []
    assert response.status_code == 200
    async with server.client(agent.token) as client:
        [conversation] = (await client.get("/api/v1/conversations")).json()["items"]
        [message] = await messages_of(client, conversation["id"])
    assert message["attachments"] == []


async def test_media_over_the_attachment_limit_is_not_stored(server, db, inbox, agent, graph):
    serve_media(graph, f"{graph.url}/media/huge")
    graph.route("GET", "/media/huge", Answer(200, b"\0" * (64 * 1024 + 1)))
    payload = fixture("image")
    del first_message(payload)["image"]["caption"]
    response = await deliver(server, inbox, payload)
    assert response.status_code == 200, response.text
    async with server.client(agent.token) as client:
        [conversation] = (await client.get("/api/v1/conversations")).json()["items"]
        [message] = await messages_of(client, conversation["id"])
    assert message["attachments"] == []
    assert message["text"] == "[image could not be downloaded]"


# --- outbound and delivery statuses -----------------------------------------------------------


def accept_sends(graph: ProviderServer, wamid: str = "wamid.OUTBOUND") -> None:
    graph.route(
        "POST",
        f"/v21.0/{NUMBER_ID}/messages",
        Answer(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": "821012345678", "wa_id": "821012345678"}],
                "messages": [{"id": wamid}],
            },
        ),
    )


async def reply(server, agent, conversation_id: int, text: str) -> dict[str, Any]:
    async with server.client(agent.token) as client:
        response = await client.post(
            f"/api/v1/conversations/{conversation_id}/messages", json={"text": text}
        )
        assert response.status_code == 201, response.text
        sent = response.json()
        return await wait_for_message(
            client,
            conversation_id,
            sent["id"],
            lambda m: (
                m["status"] not in ("queued",) and not (m.get("error") or "").startswith("retrying")
            ),
        )


async def conversation_id(server, inbox, agent) -> int:
    """The customer writes first; the one conversation's id."""
    response = await deliver(server, inbox, fixture("text"))
    assert response.status_code == 200, response.text
    async with server.client(agent.token) as client:
        [conversation] = (await client.get("/api/v1/conversations")).json()["items"]
    return conversation["id"]


async def test_a_reply_posts_the_cloud_api_message_with_the_bearer_token(
    server, db, inbox, agent, graph
):
    accept_sends(graph)
    cid = await conversation_id(server, inbox, agent)
    sent = await reply(server, agent, cid, "Sorry! It ships today.")
    assert sent["status"] == "sent"
    [request] = [r for r in graph.requests if r.method == "POST"]
    assert request.path == f"/v21.0/{NUMBER_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "821012345678",
        "type": "text",
        "text": {"preview_url": False, "body": "Sorry! It ships today."},
    }


async def test_statuses_move_forward_only_whatever_order_they_arrive_in(
    server, db, inbox, agent, graph
):
    accept_sends(graph)
    cid = await conversation_id(server, inbox, agent)
    sent = await reply(server, agent, cid, "On its way")
    statuses = fixture("statuses")
    value = statuses["entry"][0]["changes"][0]["value"]
    template = value["statuses"][0]
    value["statuses"] = [
        dict(template, status=s, timestamp=t)
        for s, t in (("read", "1749416700"), ("sent", "1749416500"))
    ]
    assert (await deliver(server, inbox, statuses)).status_code == 200
    late = fixture("statuses")  # a delivered report arriving after read
    assert (await deliver(server, inbox, late)).status_code == 200
    async with server.client(agent.token) as client:
        [shown] = [m for m in await messages_of(client, cid) if m["id"] == sent["id"]]
    assert shown["status"] == "read"


async def test_a_failed_status_shows_metas_error(server, db, inbox, agent, graph):
    accept_sends(graph)
    cid = await conversation_id(server, inbox, agent)
    sent = await reply(server, agent, cid, "Hello again")
    statuses = fixture("statuses")
    status = statuses["entry"][0]["changes"][0]["value"]["statuses"][0]
    status.update(
        status="failed",
        errors=[
            {
                "code": 131047,
                "title": "Re-engagement message",
                "message": "Re-engagement message",
                "error_data": {
                    "details": "Message failed to send because more than 24 hours have "
                    "passed since the customer last replied to this number."
                },
            }
        ],
    )
    assert (await deliver(server, inbox, statuses)).status_code == 200
    async with server.client(agent.token) as client:
        [shown] = [m for m in await messages_of(client, cid) if m["id"] == sent["id"]]
    assert shown["status"] == "failed"
    assert shown["error"].startswith("131047: Re-engagement message (Message failed")


async def test_a_refused_send_fails_with_the_providers_message(server, db, inbox, agent, graph):
    graph.route(
        "POST",
        f"/v21.0/{NUMBER_ID}/messages",
        Answer(
            400,
            {
                "error": {
                    "message": "(#131030) Recipient phone number not in allowed list",
                    "type": "OAuthException",
                    "code": 131030,
                    "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
                }
            },
        ),
    )
    cid = await conversation_id(server, inbox, agent)
    failed = await reply(server, agent, cid, "Hello?")
    assert failed["status"] == "failed"
    assert "Recipient phone number not in allowed list" in failed["error"]
    assert len([r for r in graph.requests if r.method == "POST"]) == 1  # not retried


async def test_a_server_error_is_retried_until_it_goes_through(server, db, inbox, agent, graph):
    answers = [
        Answer(500, {"error": {"message": "An unknown error occurred", "code": 1}}),
        Answer(429, {"error": {"message": "Rate limit hit", "code": 130429}}),
    ]

    def flaky(_request):
        return answers.pop(0) if answers else Answer(200, {"messages": [{"id": "wamid.LATE"}]})

    graph.route("POST", f"/v21.0/{NUMBER_ID}/messages", flaky)
    cid = await conversation_id(server, inbox, agent)
    sent = await reply(server, agent, cid, "Third time lucky")
    assert sent["status"] == "sent"
    assert len([r for r in graph.requests if r.method == "POST"]) == 3
