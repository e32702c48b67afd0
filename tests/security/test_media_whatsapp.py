"""SSRF through the WhatsApp Cloud API's media URL: the Graph API (a local fake) answers the media
lookup with an internal address in every encoded form, directly or as a redirect from the
media host. A local listener stands in for the internal service and must see no connection; the
message is kept without the file, and no attachment is stored."""

from __future__ import annotations

import pytest

from tests.connectors.provider_server import Answer, ProviderServer
from tests.connectors.test_whatsapp import (
    MEDIA_ID,
    agent,  # noqa: F401 - fixtures used by name
    deliver,
    fixture,
    graph,  # noqa: F401
    inbox,  # noqa: F401
    serve_media,
    settings,  # noqa: F401
)
from tests.factories import count
from tests.security.conftest import encoded_internal_urls
from tests.web.support import messages_of

NAMES = list(encoded_internal_urls(1, "x"))


@pytest.fixture(scope="module")
def internal():
    """The internal service nothing may reach; one per module, its log checked per test."""
    with ProviderServer() as listener:
        listener.route("GET", "/secret", Answer(200, b"internal data"))
        yield listener


@pytest.mark.parametrize("via", ["graph-answer", "redirect"])
@pytest.mark.parametrize("encoding", NAMES)
async def test_an_encoded_internal_media_url_is_never_contacted(
    server,
    db,
    inbox,
    agent,
    graph,
    internal,
    encoding,
    via,
):
    internal.requests.clear()
    target = encoded_internal_urls(internal.port, "lookaside.fbsbx.com")[encoding]
    if via == "graph-answer":
        serve_media(graph, target)
    else:
        serve_media(graph, f"{graph.url}/media/photo-1")
        graph.route("GET", "/media/photo-1", Answer(302, b"", {"Location": target}))
    response = await deliver(server, inbox, fixture("image"))
    assert response.status_code == 200, response.text
    assert internal.requests == []
    assert graph.paths()[0] == f"/v21.0/{MEDIA_ID}"
    assert await count(db, "attachment") == 0
    async with server.client(agent.token) as client:
        [conversation] = (await client.get("/api/v1/conversations")).json()["items"]
        [message] = await messages_of(client, conversation["id"])
    assert message["text"] == "The box arrived broken"
    assert message["attachments"] == []
