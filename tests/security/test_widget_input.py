"""The chat widget's public endpoint decodes hostile JSON like every other channel: unpaired
surrogates, junk and deep nesting are a 4xx, never a 5xx, and store nothing."""

from __future__ import annotations

import pytest

from tests.factories import make_inbox
from tests.security.conftest import stored

VISITOR = "v-0123456789abcdef"


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "m-1", "visitor": "' + VISITOR.encode() + b'", "text": "\\ud800"}',
        b'{"id": "m-1", "visitor": "' + VISITOR.encode() + b'", "text": "hi", "name": "\\udfff"}',
        b'{"id": "m-1", "visitor": "' + VISITOR.encode() + b'", "text": "hi", "user_id": "\\ud800",'
        b' "signature": "\\ud800"}',
        b'{"id": "m-1", "visitor": "'
        + VISITOR.encode()
        + b'", "text": "hi", "email": "a\\ud800@b.c"}',
        b"[" * 200_000,
        b"\xff\xfe",
        b'{"\\ud800": 1}',
    ],
)
async def test_hostile_widget_json_is_4xx(server, db, body):
    inbox = await make_inbox(db, "webchat", config={"identity_secret": "s"})
    before = await stored(db)
    async with server.client() as client:
        response = await client.post(
            f"/widget/messages?inbox={inbox.token}",
            content=body,
            headers={"Content-Type": "text/plain"},
        )
    assert 400 <= response.status_code < 500, response.text
    assert await stored(db) == before


async def test_the_same_request_without_the_junk_is_accepted(server, db):
    inbox = await make_inbox(db, "webchat", config={"identity_secret": "s"})
    async with server.client() as client:
        response = await client.post(
            f"/widget/messages?inbox={inbox.token}",
            content=b'{"id": "m-1", "visitor": "' + VISITOR.encode() + b'", "text": "hi"}',
            headers={"Content-Type": "text/plain"},
        )
    assert response.status_code == 201, response.text
