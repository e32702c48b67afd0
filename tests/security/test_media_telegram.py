"""SSRF through Telegram's getFile: the Bot API (a local fake) answers with a `file_path` that
tries to leave the Bot API's file endpoint (an absolute internal URL in every encoded form, a
scheme-relative or traversing path, a local file). The file is only ever fetched from the
configured Bot API origin: a local listener standing in for an internal service sees no
connection, no local file is read, and no attachment is stored."""

from __future__ import annotations

import pytest

from tests.connectors.provider_server import Answer, ProviderServer
from tests.connectors.test_telegram import (
    BOT_TOKEN,
    agent,  # noqa: F401 - fixtures used by name
    bot_api,  # noqa: F401
    deliver,
    fixture,
    inbox,  # noqa: F401
    only_conversation,
    settings,  # noqa: F401
)
from tests.factories import count
from tests.security.conftest import encoded_internal_urls


def _file_paths(port: int) -> dict[str, str]:
    return {
        **encoded_internal_urls(port, "api.telegram.org"),
        "scheme-relative": f"//127.0.0.1:{port}/secret",
        "traversal": f"../../../..//127.0.0.1:{port}/secret",
        "traversal-to-a-bot-method": f"../../bot{BOT_TOKEN}/sendMessage?chat_id=1&text=hi",
        "encoded-traversal": "%2e%2e/%2e%2e/secret",
        "local-file": "/etc/hostname",
        "file-url": "file:///etc/hostname",
    }


@pytest.fixture(scope="module")
def internal():
    with ProviderServer() as listener:
        listener.route("GET", "/secret", Answer(200, b"internal data"))
        yield listener


@pytest.mark.parametrize("name", list(_file_paths(1)))
async def test_a_file_path_never_leaves_the_bot_api(
    server,
    db,
    inbox,
    agent,
    bot_api,
    internal,
    name,
):
    internal.requests.clear()
    file_path = _file_paths(internal.port)[name]
    bot_api.route(
        "POST",
        f"/bot{BOT_TOKEN}/getFile",
        Answer(
            200,
            {
                "ok": True,
                "result": {
                    "file_id": "AgACAgQAAxkBAAIBlarge",
                    "file_unique_id": "AQADlarge",
                    "file_size": 10,
                    "file_path": file_path,
                },
            },
        ),
    )
    response = await deliver(server, inbox, fixture("photo"))
    assert response.status_code == 200, response.text
    assert internal.requests == []
    # After getFile, nothing but the Bot API's own file endpoint may be asked for.
    get_file, *downloads = bot_api.paths()
    assert get_file == f"/bot{BOT_TOKEN}/getFile"
    assert all(path.startswith(f"/file/bot{BOT_TOKEN}/") for path in downloads), downloads
    assert await count(db, "attachment") == 0
    _, [message] = await only_conversation(server, agent)
    assert message["text"] == "The box arrived broken"
    assert message["attachments"] == []
