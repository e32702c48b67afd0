"""The generic API channel: `POST /api/v1/inboxes/{id}/messages` with the inbox token.

Whatever an integrator sends that cannot become a message is refused with a 4xx JSON error
and stores nothing; a replay stores nothing twice; only the inbox's own token is accepted."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from tests.factories import make_agent, make_inbox
from tests.web.support import everything, messages_of

HUGE = "99999999999999999999"


def path(inbox_id: object) -> str:
    return f"/api/v1/inboxes/{inbox_id}/messages"


def order(external_id: str = "order-1001", **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "external_id": external_id,
        "customer": {"name": "Sarah Kim", "email": "Sarah.Kim@Example.org"},
        "text": "My order #1001 has not arrived yet.",
    }
    body.update(overrides)
    return body


async def test_a_new_message_answers_201_with_its_ids(server, db):
    inbox = await make_inbox(db, "api")
    admin = await make_agent(db, admin=True)
    async with server.client(inbox.token) as client:
        response = await client.post(path(inbox.id), json=order(sent_at="2020-01-01T09:00:00Z"))

    assert response.status_code == 201, response.text
    ack = response.json()
    assert set(ack) == {"message_id", "conversation_id", "customer_id", "duplicate"}
    assert ack["duplicate"] is False
    assert all(isinstance(ack[k], int) for k in ("message_id", "conversation_id", "customer_id"))

    async with server.client(admin.token) as client:
        conversation = (await client.get(f"/api/v1/conversations/{ack['conversation_id']}")).json()
        customer = (await client.get(f"/api/v1/customers/{ack['customer_id']}")).json()
        [message] = await messages_of(client, ack["conversation_id"])
    assert conversation["customer_id"] == ack["customer_id"]
    assert conversation["inbox_id"] == inbox.id
    assert customer["name"] == "Sarah Kim"
    # The token proves the integrator, so the identity it asserts is verified.
    assert customer["identities"] == [
        {"kind": "email", "value": "sarah.kim@example.org", "verified": True}
    ]
    assert message["id"] == ack["message_id"]
    assert message["text"] == message["stripped_text"] == "My order #1001 has not arrived yet."
    assert (message["direction"], message["author"], message["channel"]) == (
        "in",
        "customer",
        "api",
    )
    assert message["private"] is False
    assert message["created_at"].startswith("2020-01-01T09:00:00")


async def test_a_replay_answers_duplicate_with_the_same_ids_and_stores_one_message(server, db):
    inbox = await make_inbox(db, "api")
    admin = await make_agent(db, admin=True)
    async with server.client(inbox.token) as client:
        first = await client.post(path(inbox.id), json=order())
        again = await client.post(path(inbox.id), json=order())
        # A retry whose body drifted is still the same message (the key is the external id).
        drifted = await client.post(path(inbox.id), json=order(text="edited on retry"))

    assert first.status_code == 201, first.text
    assert again.status_code in (200, 201), again.text
    assert drifted.status_code in (200, 201), drifted.text
    ids = {k: first.json()[k] for k in ("message_id", "conversation_id", "customer_id")}
    assert again.json() == {**ids, "duplicate": True}
    assert drifted.json() == {**ids, "duplicate": True}
    async with server.client(admin.token) as client:
        messages = await messages_of(client, ids["conversation_id"])
        created = [
            e for e in (await everything(client))["events"] if e["type"] == "message.created"
        ]
    assert [m["text"] for m in messages] == ["My order #1001 has not arrived yet."]
    assert len(created) == 1


async def test_concurrent_replays_store_one_message(server, db):
    inbox = await make_inbox(db, "api")
    admin = await make_agent(db, admin=True)
    async with server.client(inbox.token) as client:
        responses = await asyncio.gather(
            *(client.post(path(inbox.id), json=order("burst-1")) for _ in range(12))
        )
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    acks = [r.json() for r in responses]
    assert sorted(a["duplicate"] for a in acks) == [False] + [True] * 11
    assert len({(a["message_id"], a["conversation_id"], a["customer_id"]) for a in acks}) == 1
    async with server.client(admin.token) as client:
        stored = await everything(client)
        assert len(await messages_of(client, acks[0]["conversation_id"])) == 1
    assert len(stored["customers"]) == len(stored["conversations"]) == 1


async def test_a_burst_from_one_customer_lands_in_one_conversation(server, db):
    inbox = await make_inbox(db, "api")
    admin = await make_agent(db, admin=True)
    async with server.client(inbox.token) as client:
        first = (await client.post(path(inbox.id), json=order("before"))).json()
    async with server.client(admin.token) as client:
        resolved = await client.patch(
            f"/api/v1/conversations/{first['conversation_id']}", json={"status": "resolved"}
        )
        assert resolved.status_code == 200, resolved.text
    # The customer comes back with several messages at once (a chat client flushing its queue).
    async with server.client(inbox.token) as client:
        responses = await asyncio.gather(
            *(
                client.post(path(inbox.id), json=order(f"burst-{n}", text=f"part {n}"))
                for n in range(8)
            )
        )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    acks = [r.json() for r in responses]
    assert {a["customer_id"] for a in acks} == {first["customer_id"]}
    conversations = {a["conversation_id"] for a in acks}
    assert len(conversations) == 1, conversations
    assert conversations != {first["conversation_id"]}


async def test_the_same_external_id_in_another_inbox_is_another_message(server, db):
    shop, app = await make_inbox(db, "api"), await make_inbox(db, "api")
    async with server.client(shop.token) as client:
        one = (await client.post(path(shop.id), json=order("same-id"))).json()
    async with server.client(app.token) as client:
        two = (await client.post(path(app.id), json=order("same-id"))).json()
    assert two["duplicate"] is False
    assert two["message_id"] != one["message_id"]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer {token} {token}",
        "Basic dXNlcjpwYXNz",
        "Bearer inb_not-the-token",
        "Token {token}",
        "Bearer {token}x",
        "Bearer {prefix}",
    ],
    ids=[
        "missing",
        "empty",
        "no-token",
        "token-twice",
        "basic",
        "wrong",
        "wrong-scheme",
        "token-plus-one",
        "token-prefix",
    ],
)
async def test_without_the_inbox_token_it_answers_401_and_stores_nothing(server, db, authorization):
    inbox = await make_inbox(db, "api")
    admin = await make_agent(db, admin=True)
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization.format(token=inbox.token, prefix=inbox.token[:-4])
    async with server.client() as client:
        response = await client.post(path(inbox.id), json=order(), headers=headers)
    assert response.status_code == 401, response.text
    assert "error" in response.json()
    async with server.client(admin.token) as client:
        assert await everything(client) == {"events": [], "customers": [], "conversations": []}


async def test_another_inboxs_token_is_refused(server, db):
    inbox, other = await make_inbox(db, "api"), await make_inbox(db, "api")
    admin = await make_agent(db, admin=True)
    async with server.client(other.token) as client:
        response = await client.post(path(inbox.id), json=order())
    assert response.status_code == 401, response.text
    async with server.client(admin.token) as client:
        assert await everything(client) == {"events": [], "customers": [], "conversations": []}


async def test_an_agent_token_is_refused_even_an_admins(server, db):
    inbox = await make_inbox(db, "api")
    admin = await make_agent(db, admin=True, inboxes=[inbox])
    async with server.client(admin.token) as client:
        response = await client.post(path(inbox.id), json=order())
        assert response.status_code == 401, response.text
        assert await everything(client) == {"events": [], "customers": [], "conversations": []}


async def test_an_inbox_token_does_not_open_the_agent_api(server, db):
    inbox = await make_inbox(db, "api")
    async with server.client(inbox.token) as client:
        for endpoint in ("/api/v1/conversations", "/api/v1/customers", "/api/v1/events"):
            assert (await client.get(endpoint)).status_code == 401, endpoint


async def test_a_webchat_inbox_token_is_not_accepted_on_the_api_channel(server, db):
    # A webchat token is public (it is in the page): it must not let anyone post as the API.
    webchat = await make_inbox(db, "webchat")
    admin = await make_agent(db, admin=True)
    async with server.client(webchat.token) as client:
        response = await client.post(path(webchat.id), json=order())
    assert response.status_code == 404, response.text
    assert "error" in response.json()
    async with server.client(admin.token) as client:
        assert await everything(client) == {"events": [], "customers": [], "conversations": []}


async def test_an_unknown_inbox_is_404(server, db):
    inbox = await make_inbox(db, "api")
    async with server.client(inbox.token) as client:
        for inbox_id in (inbox.id + 1, 0, 2**63 - 1, HUGE):
            response = await client.post(path(inbox_id), json=order())
            assert response.status_code == 404, (inbox_id, response.text)
            assert "error" in response.json()


def nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = [value]
    return value


INVALID_BODIES = {
    "not-json": b'{"external_id": "x", "customer": {"email": "a@example.com"',
    "not-utf8": b'{"external_id": "x", "text": "\xff\xfe", "customer": {"email": "a@b.co"}}',
    "empty-body": b"",
    "json-array": json.dumps([order()]).encode(),
    "json-string": json.dumps("hello").encode(),
    "json-null": b"null",
    "missing-external-id": json.dumps(
        {k: v for k, v in order().items() if k != "external_id"}
    ).encode(),
    "empty-external-id": json.dumps(order("")).encode(),
    "external-id-too-long": json.dumps(order("x" * 256)).encode(),
    "external-id-list": json.dumps(order(["a"])).encode(),  # type: ignore[arg-type]
    "external-id-bool": json.dumps(order(True)).encode(),  # type: ignore[arg-type]
    "missing-customer": json.dumps({"external_id": "x", "text": "hi"}).encode(),
    "customer-string": json.dumps(order(customer="a@example.com")).encode(),
    "customer-without-identity": json.dumps(order(customer={})).encode(),
    "customer-name-only": json.dumps(order(customer={"name": "Sarah"})).encode(),
    "bad-email": json.dumps(order(customer={"email": "not an email"})).encode(),
    "email-without-domain": json.dumps(order(customer={"email": "sarah@"})).encode(),
    "bad-phone": json.dumps(order(customer={"phone": "call me maybe"})).encode(),
    "impossible-phone": json.dumps(order(customer={"phone": "12"})).encode(),
    "one-good-one-bad-identity": json.dumps(
        order(customer={"email": "ok@example.com", "phone": "call me maybe"})
    ).encode(),
    "email-object": json.dumps(order(customer={"email": {"a": 1}})).encode(),
    "name-number": json.dumps(order(customer={"email": "a@example.com", "name": 7})).encode(),
    "text-number": json.dumps(order(text=42)).encode(),
    "text-list": json.dumps(order(text=["hi"])).encode(),
    "sent-at-number": json.dumps(order(sent_at=1700000000)).encode(),
    "sent-at-garbage": json.dumps(order(sent_at="yesterday-ish")).encode(),
    "text-over-limit": json.dumps(order(text="a" * 100_001)).encode(),
    "json-nested-65-levels": json.dumps(order(meta=nested(65))).encode(),
    "json-nested-100000-levels": (
        b'{"external_id": "x", "customer": {"email": "a@b.co"}, '
        b'"meta": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    ),
}


@pytest.mark.parametrize("body", INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
async def test_a_payload_that_cannot_be_a_message_is_refused_and_stores_nothing(server, db, body):
    inbox = await make_inbox(db, "api")
    admin = await make_agent(db, admin=True)
    async with server.client(inbox.token) as client:
        response = await client.post(
            path(inbox.id), content=body, headers={"Content-Type": "application/json"}
        )
    assert 400 <= response.status_code < 500, response.text
    assert response.status_code not in (401, 404), response.text
    assert isinstance(response.json().get("error"), str)
    async with server.client(admin.token) as client:
        assert await everything(client) == {"events": [], "customers": [], "conversations": []}


async def test_text_of_exactly_the_limit_is_accepted(server, db):
    inbox = await make_inbox(db, "api")
    async with server.client(inbox.token) as client:
        response = await client.post(path(inbox.id), json=order(text="가" * 100_000))
    assert response.status_code == 201, response.text


async def test_json_nested_64_levels_is_accepted(server, db):
    inbox = await make_inbox(db, "api")
    async with server.client(inbox.token) as client:
        # The object itself is level 1, "meta" adds 63 more.
        response = await client.post(path(inbox.id), json=order(meta=nested(63)))
    assert response.status_code == 201, response.text


async def test_a_body_over_one_mebibyte_is_413_and_stores_nothing(server, db):
    inbox = await make_inbox(db, "api")
    admin = await make_agent(db, admin=True)
    body = json.dumps(order(padding="x" * (1024 * 1024))).encode()
    assert len(body) > 1024 * 1024
    async with server.client(inbox.token) as client:
        response = await client.post(
            path(inbox.id), content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413, response.text
    async with server.client(admin.token) as client:
        assert await everything(client) == {"events": [], "customers": [], "conversations": []}


async def test_a_chunked_body_over_one_mebibyte_is_413_too(server, db):
    # Without a Content-Length the limit must hold while the body streams in.
    inbox = await make_inbox(db, "api")
    admin = await make_agent(db, admin=True)
    head = b'{"external_id": "big", "customer": {"email": "a@example.com"}, "text": "'

    async def stream():
        yield head
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    async with server.client(inbox.token) as client:
        response = await client.post(
            path(inbox.id), content=stream(), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413, response.text
    async with server.client(admin.token) as client:
        assert await everything(client) == {"events": [], "customers": [], "conversations": []}


@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("POST", "/api/v1/inboxes/{id}/messages"),
        ("GET", "/api/v1/conversations/{id}"),
        ("PATCH", "/api/v1/conversations/{id}"),
        ("GET", "/api/v1/conversations/{id}/messages"),
        ("POST", "/api/v1/conversations/{id}/messages"),
        ("GET", "/api/v1/customers/{id}"),
        ("GET", "/api/v1/customers/{id}/timeline"),
        ("POST", "/api/v1/customers/{id}/merge"),
        ("POST", "/api/v1/merges/{id}/undo"),
        ("POST", "/api/v1/merge-suggestions/{id}/accept"),
        ("POST", "/api/v1/merge-suggestions/{id}/reject"),
    ],
)
async def test_ids_no_row_can_have_are_404_never_5xx(server, db, method, template):
    inbox = await make_inbox(db, "api")
    admin = await make_agent(db, admin=True, inboxes=[inbox])
    token = inbox.token if "inboxes" in template else admin.token
    body = (
        {"status": "open"}
        if method == "PATCH"
        else (
            {"other_id": 1}
            if "merge" in template and "suggestions" not in template
            else order()
            if "inboxes" in template
            else {"text": "hello"}
        )
    )
    async with server.client(token) as client:
        # Past 64 bits, at the 64-bit edge, and past 32 bits (where an INTEGER column ends).
        for huge in (HUGE, str(2**63), str(2**64), "1" + "0" * 40, str(2**63 - 1), str(2**31)):
            response = await client.request(method, template.format(id=huge), json=body)
            assert response.status_code == 404, (huge, response.text)


def cursor(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def huge_number_requests(n: int) -> dict[str, tuple[str, str, dict | None, dict | None]]:
    """Requests carrying the number `n` in a query, a cursor or a JSON body."""
    return {
        "list-inbox_id": ("GET", "/api/v1/conversations", {"inbox_id": n}, None),
        "list-assignee": ("GET", "/api/v1/conversations", {"assignee": n}, None),
        "conversations-cursor": (
            "GET",
            "/api/v1/conversations",
            {"cursor": cursor("2024-01-01T00:00:00", n)},
            None,
        ),
        "customers-cursor": ("GET", "/api/v1/customers", {"cursor": cursor(n)}, None),
        "suggestions-cursor": ("GET", "/api/v1/merge-suggestions", {"cursor": cursor(n)}, None),
        "timeline-cursor": (
            "GET",
            "/api/v1/customers/{customer}/timeline",
            {"cursor": cursor("2024-01-01T00:00:00", n)},
            None,
        ),
        "messages-cursor": (
            "GET",
            "/api/v1/conversations/{conversation}/messages",
            {"cursor": cursor("2024-01-01T00:00:00", n)},
            None,
        ),
        "events-since": ("GET", "/api/v1/events", {"since": n}, None),
        "patch-assignee": (
            "PATCH",
            "/api/v1/conversations/{conversation}",
            None,
            {"assignee_id": n},
        ),
        "reply-inbox_id": (
            "POST",
            "/api/v1/conversations/{conversation}/messages",
            None,
            {"text": "hello", "inbox_id": n},
        ),
        "merge-other_id": ("POST", "/api/v1/customers/{customer}/merge", None, {"other_id": n}),
    }


@pytest.mark.parametrize("request_name", huge_number_requests(0).keys())
async def test_huge_numbers_in_queries_cursors_and_bodies_are_refused_never_5xx(
    server, db, request_name
):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, admin=True, inboxes=[inbox])
    async with server.client(inbox.token) as client:
        ack = (await client.post(path(inbox.id), json=order())).json()
    async with server.client(agent.token) as client:
        for n in (int(HUGE), 2**63, 2**31):
            method, template, params, body = huge_number_requests(n)[request_name]
            url = template.format(customer=ack["customer_id"], conversation=ack["conversation_id"])
            response = await client.request(method, url, params=params, json=body)
            assert response.status_code in (200, 400, 404), (n, response.text)
        # Whatever the answers, nothing changed.
        conversation = await client.get(f"/api/v1/conversations/{ack['conversation_id']}")
        assert conversation.json()["assignee_id"] is None
        assert len(await messages_of(client, ack["conversation_id"])) == 1
        assert len((await client.get("/api/v1/customers")).json()["items"]) == 1


@pytest.mark.parametrize(
    "body",
    [
        order("nul-text", text="before\x00after"),
        order("nul-external\x00id"),
        order("nul-name", customer={"email": "nul@example.com", "name": "Ann\x00Lee"}),
        order("nul-external-identity", customer={"external_id": "user\x0042"}),
    ],
    ids=["text", "external_id", "name", "external-identity"],
)
async def test_nul_characters_are_stored_or_refused_never_5xx(server, db, body):
    inbox = await make_inbox(db, "api")
    async with server.client(inbox.token) as client:
        response = await client.post(path(inbox.id), json=body)
    assert response.status_code in (201, 400), response.text
