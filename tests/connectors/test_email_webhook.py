"""`POST /webhooks/email/{inbox_id}`: raw MIME in with the inbox token, one message per mail.

Bad tokens and oversized bodies store nothing; charsets, encoded headers, attachments and
quoted replies come out readable; machines' mail is flagged so no automation answers it."""

from __future__ import annotations

import base64

from tests.connectors.email_peers import mime, post_mime
from tests.factories import count, make_agent, make_inbox
from tests.web.support import everything, messages_of

CONFIG = {"address": "support@shop.example"}


async def _stored(server, db, ack):
    admin = await make_agent(db, admin=True)
    async with server.client(admin.token) as client:
        [message] = await messages_of(client, ack["conversation_id"])
        customer = (await client.get(f"/api/v1/customers/{ack['customer_id']}")).json()
    return message, customer


async def test_a_mail_becomes_a_message_of_the_sender(server, db):
    inbox = await make_inbox(db, "email", config=CONFIG)
    response = await post_mime(server, inbox, mime())

    assert response.status_code == 201, response.text
    ack = response.json()
    assert set(ack) == {"message_id", "conversation_id", "customer_id", "duplicate"}
    message, customer = await _stored(server, db, ack)
    assert message["channel"] == "email"
    assert message["subject"] == "Where is my order?"
    assert message["text"] == message["stripped_text"] == "Hello, my order #1001 has not arrived."
    assert message["external_id"] == "c1@customer.example"
    assert message["created_at"].startswith("2025-01-06T00:00:00")
    assert customer["name"] == "Sarah Kim"
    # The receiving server's DKIM pass for the From domain proves the address.
    assert customer["identities"] == [
        {"kind": "email", "value": "sarah@customer.example", "verified": True}
    ]


async def test_a_bad_or_missing_token_is_401_and_stores_nothing(server, db):
    inbox = await make_inbox(db, "email", config=CONFIG)
    other = await make_inbox(db, "email", config={"address": "sales@shop.example"})
    api = await make_inbox(db, "api")
    for token in ("", "wrong", other.token, api.token):
        response = await post_mime(server, inbox, mime(), token=token)
        assert response.status_code == 401, (token, response.text)
    assert await count(db, "message") == 0
    assert await count(db, "customer") == 0


async def test_a_body_over_the_mime_limit_is_413_and_stores_nothing(server, db, settings):
    inbox = await make_inbox(db, "email", config=CONFIG)
    limit = settings.limits.mime_body
    huge = mime(body="x" * 10) + b"A" * limit
    response = await post_mime(server, inbox, huge)
    assert response.status_code == 413, response.text
    assert await count(db, "message") == 0


async def test_an_empty_body_is_400(server, db):
    inbox = await make_inbox(db, "email", config=CONFIG)
    response = await post_mime(server, inbox, b"  \r\n")
    assert response.status_code == 400, response.text
    assert await count(db, "message") == 0


async def test_the_same_mail_delivered_to_two_of_our_addresses_is_one_message(server, db):
    inbox = await make_inbox(db, "email", config=CONFIG)
    to_cc = {"Cc": "help@shop.example"}
    first = mime(headers={**to_cc, "Delivered-To": "support@shop.example"}, message_id=None)
    second = mime(headers={**to_cc, "Delivered-To": "help@shop.example"}, message_id=None)
    # The trace headers differ per delivery; the dedupe key ignores them.
    second = b"Received: from mx2.shop.example by mx.shop.example\r\n" + second

    a = await post_mime(server, inbox, first)
    b = await post_mime(server, inbox, second)
    assert a.status_code == 201 and b.status_code == 200, (a.text, b.text)
    assert b.json() == {**a.json(), "duplicate": True}
    again = await post_mime(server, inbox, mime())  # with a Message-ID: keyed on it
    replay = await post_mime(server, inbox, mime(body="edited in transit"))
    assert again.status_code == 201 and replay.json()["duplicate"] is True
    assert await count(db, "message") == 2


async def test_korean_and_japanese_charsets_and_encoded_headers_read_right(server, db):
    inbox = await make_inbox(db, "email", config=CONFIG)
    # 똠 exists only in CP949, the superset real Korean mail labelled euc-kr uses.
    body = "안녕하세요, 똠방각하 주문 건 문의드립니다.".encode("cp949")
    subject = "=?ks_c_5601-1987?B?" + base64.b64encode("주문 문의".encode("cp949")).decode() + "?="
    name = "=?EUC-KR?B?" + base64.b64encode("김민수".encode("cp949")).decode() + "?="
    raw = (
        f"From: {name} <minsu@customer.example>\r\nTo: support@shop.example\r\n"
        f"Subject: {subject}\r\nMessage-ID: <kr1@customer.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=euc-kr\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + body
    response = await post_mime(server, inbox, raw)
    assert response.status_code == 201, response.text
    message, customer = await _stored(server, db, response.json())
    assert message["subject"] == "주문 문의"
    assert message["text"] == "안녕하세요, 똠방각하 주문 건 문의드립니다."
    assert customer["name"] == "김민수"

    undeclared = (
        b"From: a@customer.example\r\nTo: support@shop.example\r\nSubject: x\r\n"
        b"Message-ID: <kr2@customer.example>\r\n\r\n" + "배송 언제 되나요?".encode("cp949")
    )
    response = await post_mime(server, inbox, undeclared)
    message, _ = await _stored(server, db, response.json())
    assert message["text"] == "배송 언제 되나요?"

    jp = (
        b"From: t@customer.example\r\nTo: support@shop.example\r\nMessage-ID: <jp1@x>\r\n"
        b"Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=ISO-2022-JP\r\n\r\n" + "こんにちは".encode("iso2022_jp")
    )
    response = await post_mime(server, inbox, jp)
    message, _ = await _stored(server, db, response.json())
    assert (message["subject"], message["text"]) == ("日本語", "こんにちは")


async def test_a_broken_charset_declaration_still_reads_and_is_flagged(server, db):
    inbox = await make_inbox(db, "email", config=CONFIG)
    raw = (
        b"From: a@customer.example\r\nTo: support@shop.example\r\nSubject: x\r\n"
        b"Message-ID: <bad-cs@customer.example>\r\nContent-Type: text/plain; charset=x-bogus\r\n"
        b"\r\n" + "Grüße aus Köln".encode()
    )
    response = await post_mime(server, inbox, raw)
    assert response.status_code == 201, response.text
    message, _ = await _stored(server, db, response.json())
    assert message["text"] == "Grüße aus Köln"


async def test_attachments_and_inline_images_are_stored_with_safe_names(server, db):
    inbox = await make_inbox(db, "email", config=CONFIG)
    pdf = base64.b64encode(b"%PDF-1.4 invoice").decode()
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    raw = (
        "From: a@customer.example\r\nTo: support@shop.example\r\nSubject: invoice\r\n"
        "Message-ID: <att@customer.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
        '--m\r\nContent-Type: multipart/related; boundary="r"\r\n\r\n'
        "--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        '<p>See <img src="cid:logo@x"></p>\r\n'
        "--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n"
        "Content-Transfer-Encoding: base64\r\nContent-Disposition: inline\r\n\r\n"
        f"{png}\r\n--r--\r\n"
        "--m\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment; "
        "filename*=UTF-8''..%2F..%2F%EC%B2%AD%EA%B5%AC%EC%84%9C.pdf\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n--m--\r\n"
    ).encode()
    response = await post_mime(server, inbox, raw)
    assert response.status_code == 201, response.text
    message, _ = await _stored(server, db, response.json())
    files = {(a["filename"], a["content_type"], a["size"]) for a in message["attachments"]}
    assert files == {("청구서.pdf", "application/pdf", 16), ("attachment.png", "image/png", 12)}
    assert message["text"] == "See"
    assert 'src="cid:logo@x"' in message["html"]


async def test_malformed_mime_is_stored_with_what_could_be_read(server, db):
    inbox = await make_inbox(db, "email", config=CONFIG)
    raw = (
        b"From: a@customer.example\r\nTo: support@shop.example\r\nSubject: broken\r\n"
        b"Message-ID: <broken@customer.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="never-closed"\r\n\r\n'
        b"--never-closed\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"SGVsbG8gd29ybGQ=\r\n--never-closed\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\ntruncated =E2=8"
    )
    response = await post_mime(server, inbox, raw)
    assert response.status_code == 201, response.text
    message, _ = await _stored(server, db, response.json())
    assert message["text"].startswith("Hello world")
    async with db.read() as session:
        from inbox.models import Message

        stored = await session.get(Message, message["id"])
    assert stored.meta["malformed"] is True
    assert "CloseBoundaryNotFoundDefect" in stored.meta["mime_defects"]


async def test_quoted_replies_and_signatures_fold_away_but_text_keeps_them(server, db):
    inbox = await make_inbox(db, "email", config=CONFIG)
    cases = {
        "en": (
            "Thanks, that fixed it.\r\n\r\nOn Mon, Jan 6, 2025 at 9:00 AM Shop Support "
            "<support@shop.example> wrote:\r\n> Please restart the router.\r\n",
            "Thanks, that fixed it.",
        ),
        "ko-gmail": (
            "네 확인했습니다.\r\n\r\n2025년 1월 6일 (월) 오전 9:00, Shop Support "
            "<support@shop.example>님이 작성:\r\n> 라우터를 재시작해 주세요.\r\n",
            "네 확인했습니다.",
        ),
        "ko-outlook": (
            "감사합니다.\r\n\r\n-----원본 메시지-----\r\n보낸 사람: Shop Support "
            "<support@shop.example>\r\n받는 사람: 김민수\r\n제목: 주문\r\n\r\n"
            "재시작해 주세요.\r\n",
            "감사합니다.",
        ),
        "signature": ("It works now.\r\n\r\n-- \r\nMinsu Kim\r\nACME Corp\r\n", "It works now."),
        "mobile": ("Got it\r\n\r\niPhone에서 보냄\r\n", "Got it"),
    }
    for n, (body, expected) in enumerate(cases.values()):
        response = await post_mime(server, inbox, mime(body=body, message_id=f"<q{n}@x>"))
        assert response.status_code == 201, response.text
        admin = await make_agent(db, admin=True)
        async with server.client(admin.token) as client:
            found = next(
                m
                for m in await messages_of(client, response.json()["conversation_id"])
                if m["id"] == response.json()["message_id"]
            )
        assert found["stripped_text"] == expected, body
        assert found["text"] == body.replace("\r\n", "\n").rstrip("\n")


async def test_auto_replies_lists_and_own_mail_are_flagged_for_no_automation(server, db):
    inbox = await make_inbox(db, "email", config=CONFIG)
    cases = [
        ({"Auto-Submitted": "auto-replied"}, "a@customer.example", "auto-submitted"),
        ({"Precedence": "bulk"}, "a@customer.example", "precedence-bulk"),
        ({"List-Id": "<news.customer.example>"}, "a@customer.example", "mailing-list"),
        ({}, "support@shop.example", "own-address"),
        ({"Auto-Submitted": "no"}, "a@customer.example", None),
    ]
    from inbox.models import Message

    for n, (headers, sender, reason) in enumerate(cases):
        response = await post_mime(
            server, inbox, mime(sender=sender, headers=headers, message_id=f"<auto{n}@x>")
        )
        assert response.status_code == 201, response.text
        async with db.read() as session:
            stored = await session.get(Message, response.json()["message_id"])
        assert stored.meta["auto_generated"] is (reason is not None), headers
        assert stored.meta.get("auto_reason") == reason


async def test_an_unauthenticated_sender_is_unverified_and_badged(server, db):
    inbox = await make_inbox(db, "email", config=CONFIG)
    forged_results = "mx.evil.example; dkim=pass header.d=customer.example"
    raw = mime(dkim_pass=False, headers={"X-Spam": "1"})
    # A forged Authentication-Results below ours proves nothing; ours says fail.
    raw = (
        b"Authentication-Results: mx.shop.example; dkim=fail header.d=customer.example\r\n"
        + raw.replace(b"X-Spam: 1", f"Authentication-Results: {forged_results}".encode())
    )
    response = await post_mime(server, inbox, raw)
    assert response.status_code == 201, response.text
    message, customer = await _stored(server, db, response.json())
    assert customer["identities"] == [
        {"kind": "email", "value": "sarah@customer.example", "verified": False}
    ]
    from inbox.models import Message

    async with db.read() as session:
        stored = await session.get(Message, message["id"])
    assert stored.meta["sender_verified"] is False
    assert stored.meta["warning"] == "sender-unverified"


async def test_an_encoded_display_name_cannot_claim_another_address(server, db):
    inbox = await make_inbox(db, "email", config=CONFIG)
    evil = "=?utf-8?q?ceo=40shop=2Eexample_=3Cceo=40shop=2Eexample=3E?="
    response = await post_mime(server, inbox, mime(sender=f"{evil} <eve@evil.example>"))
    assert response.status_code == 201, response.text
    _, customer = await _stored(server, db, response.json())
    assert [i["value"] for i in customer["identities"]] == ["eve@evil.example"]
    assert customer["name"] is None


async def test_a_bounce_stores_no_message(server, db):
    inbox = await make_inbox(db, "email", config=CONFIG)
    raw = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\n"
        b"To: support@shop.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <bounce1@mx.customer.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="d"\r\n\r\n'
        b"--d\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n"
        b"--d\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        b"Final-Recipient: rfc822; gone@customer.example\r\nAction: failed\r\n"
        b"Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        b"--d\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <someone-else@x>\r\n"
        b"--d--\r\n"
    )
    response = await post_mime(server, inbox, raw)
    assert response.status_code == 200, response.text
    assert response.json() == {"bounce": True, "updated": []}
    admin = await make_agent(db, admin=True)
    async with server.client(admin.token) as client:
        assert (await everything(client))["customers"] == []
