"""SSRF through media URLs in their encoded forms: decimal, hex, octal, short, IPv6 loopback and
IPv4-mapped, `user@host`, and redirects to each. A local listener stands in for the internal
service and must see no connection. (tests/connectors/test_twilio.py and test_whatsapp.py hold
the plain private, link-local and redirect cases; these are the encodings they leave out.)"""

from __future__ import annotations

import pytest

from tests.connectors.fake_twilio import Answer, FakeTwilio
from tests.connectors.test_twilio import (
    SID,
    admin,  # noqa: F401 - fixtures used by name
    conversation_of,
    deliver,
    fake,  # noqa: F401
    inbox,  # noqa: F401
    settings,  # noqa: F401
    sms,
)


def _encodings(port: int) -> list[str]:
    return [
        f"http://2130706433:{port}/secret",
        f"http://0x7f000001:{port}/secret",
        f"http://0177.0.0.1:{port}/secret",
        f"http://127.1:{port}/secret",
        f"http://[::1]:{port}/secret",
        f"http://[::ffff:127.0.0.1]:{port}/secret",
        f"http://[::ffff:7f00:1]:{port}/secret",
        f"http://0.0.0.0:{port}/secret",
        f"http://api.twilio.com@127.0.0.1:{port}/secret",
        f"http://127.0.0.1:{port}#@api.twilio.com/secret",
    ]


@pytest.mark.parametrize("via", ["direct", "redirect"])
async def test_encoded_internal_addresses_are_never_contacted(
    server,
    inbox,
    admin,
    fake,
    via,
):
    with FakeTwilio() as internal:
        internal.routes["/secret"] = lambda seen: Answer(200, b"internal data")
        targets = _encodings(int(internal.url.rsplit(":", 1)[1]))
        urls = {}
        for n, target in enumerate(targets):
            if via == "direct":
                urls[f"MediaUrl{n}"] = target
            else:
                path = f"/2010-04-01/Accounts/{SID}/Messages/MM{'9' * 32}/Media/ME{n:032d}"
                fake.routes[path] = lambda seen, target=target: Answer(
                    302, headers={"Location": target}
                )
                urls[f"MediaUrl{n}"] = fake.url + path
        sid = ("MM" if via == "direct" else "MN") + "8" * 32
        response = await deliver(
            server, inbox, sms(sid, "see the pictures", NumMedia=str(len(urls)), **urls)
        )
        assert response.status_code == 200, response.text
        assert internal.requests == []
    _, message = await conversation_of(server, admin, sid)
    assert message["attachments"] == []
    assert message["text"].startswith("see the pictures")
