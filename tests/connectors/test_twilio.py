"""Twilio SMS and WhatsApp through the live server: signed webhooks in (signatures made with the
SDK's own RequestValidator), the real SDK out to a fake Twilio on loopback, media, STOP/START,
the WhatsApp 24-hour window, status callbacks and SMS segment counts."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from inbox.ingest import ingest
from inbox.models import utcnow
from inbox.settings import Limits
from tests.connectors.fake_twilio import Answer, FakeTwilio, error_answer
from tests.factories import count, inbound, make_agent, make_inbox
from tests.web.support import messages_of, wait_for_message

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-1234"
NUMBER = "+15005550006"
CUSTOMER = "+821012345678"
CAP = 64 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(settings):
    return settings.with_(limits=Limits(attachment=CAP))


@pytest.fixture
def fake():
    with FakeTwilio() as peer:
        yield peer


@pytest.fixture
async def inbox(db, fake):
    return await make_inbox(
        db,
        "twilio",
        "Support line",
        {"account_sid": SID, "auth_token": TOKEN, "phone_number": NUMBER, "api_base_url": fake.url},
    )


@pytest.fixture
async def admin(db):
    return await make_agent(db, admin=True)


def sms(
    sid: str, body: str = "Hi, where is my parcel?", sender: str = CUSTOMER, **extra: str
) -> dict[str, str]:
    fields = {
        "MessageSid": sid,
        "AccountSid": SID,
        "From": sender,
        "To": NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
    fields.update(extra)
    return fields


def whatsapp(sid: str, body: str = "Hello from WhatsApp", **extra: str) -> dict[str, str]:
    return sms(
        sid,
        body,
        f"whatsapp:{CUSTOMER}",
        To=f"whatsapp:{NUMBER}",
        ProfileName="Minji Park",
        WaId=CUSTOMER.lstrip("+"),
        **extra,
    )


def signature(server, path: str, fields: dict[str, str], token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(server.settings.public_url + path, fields)


async def deliver(
    server,
    inbox,
    fields,
    *,
    action: str = "",
    sign_as: dict | None = None,
    headers: dict | None = None,
):
    """POST the form to the webhook, signed over INBOX_PUBLIC_URL + path like Twilio does."""
    path = f"/webhooks/twilio/{inbox.id}" + (f"/{action}" if action else "")
    if headers is None:
        headers = {"X-Twilio-Signature": signature(server, path, sign_as or fields)}
    async with server.client() as client:
        return await client.post(path, data=fields, headers=headers)


async def conversation_of(server, admin, message_sid: str) -> tuple[int, dict]:
    async with server.client(admin.token) as client:
        body = (await client.get("/api/v1/conversations")).json()
        for conversation in body["items"]:
            for message in await messages_of(client, conversation["id"]):
                if message["external_id"] == message_sid:
                    return conversation["id"], message
    raise AssertionError(f"{message_sid} was not stored")


async def reply(server, admin, conversation_id: int, text: str):
    async with server.client(admin.token) as client:
        return await client.post(
            f"/api/v1/conversations/{conversation_id}/messages", json={"text": text}
        )


async def test_a_signed_sms_is_stored_and_answered_with_empty_twiml(server, db, inbox, admin):
    response = await deliver(server, inbox, sms("SM" + "1" * 32))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text.endswith("<Response />")
    _, message = await conversation_of(server, admin, "SM" + "1" * 32)
    assert (message["channel"], message["direction"], message["text"]) == (
        "sms",
        "in",
        "Hi, where is my parcel?",
    )
    async with server.client(admin.token) as client:
        customer = (await client.get(f"/api/v1/customers/{message['customer_id']}")).json()
    assert customer["identities"] == [{"kind": "phone", "value": CUSTOMER, "verified": True}]


@pytest.mark.parametrize("case", ["tampered", "wrong url", "wrong token", "missing", "garbage"])
async def test_a_bad_or_missing_signature_is_403_and_stores_nothing(server, db, inbox, case):
    fields = sms("SM" + "2" * 32)
    path = f"/webhooks/twilio/{inbox.id}"
    headers = {
        "tampered": {"X-Twilio-Signature": signature(server, path, {**fields, "Body": "other"})},
        "wrong url": {"X-Twilio-Signature": signature(server, path + "/status", fields)},
        "wrong token": {"X-Twilio-Signature": signature(server, path, fields, "not-the-token")},
        "missing": {},
        "garbage": {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    }[case]

    response = await deliver(server, inbox, fields, headers=headers)

    assert response.status_code == 403, response.text
    assert "signature" in response.json()["error"].lower()
    assert await count(db, "message") == 0
    assert await count(db, "customer") == 0


async def test_the_signature_is_checked_against_the_public_url_not_the_local_one(server, db, inbox):
    fields = sms("SM" + "3" * 32)
    local = server.url + f"/webhooks/twilio/{inbox.id}"
    headers = {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(local, fields)}
    response = await deliver(server, inbox, fields, headers=headers)
    assert response.status_code == 403
    assert await count(db, "message") == 0


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe\xfd",
        b"From=%FF%FE&MessageSid=SM1",
        b"not a form",
        b"From=a&From=b&MessageSid=SM1",
    ],
)
async def test_malformed_form_data_is_a_4xx_never_a_500(server, db, inbox, body):
    async with server.client() as client:
        response = await client.post(
            f"/webhooks/twilio/{inbox.id}",
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": "c2lnbmF0dXJl",
            },
        )
    assert 400 <= response.status_code < 500, response.text
    assert await count(db, "message") == 0


async def test_signed_but_incomplete_or_invalid_fields_are_400(server, db, inbox):
    no_sender = {"MessageSid": "SM" + "4" * 32, "Body": "hi"}
    bad_media = sms("SM" + "5" * 32, NumMedia="lots")
    not_a_phone = sms("SM" + "6" * 32, sender="hello")
    for fields in (no_sender, bad_media, not_a_phone):
        response = await deliver(server, inbox, fields)
        assert response.status_code == 400, response.text
    assert await count(db, "message") == 0


async def test_a_retried_message_sid_is_stored_once_even_ten_at_a_time(server, db, inbox, admin):
    fields = sms("SM" + "7" * 32, "Is the shop open on Sunday?")
    responses = await asyncio.gather(*(deliver(server, inbox, fields) for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    again = await deliver(server, inbox, fields)
    assert again.status_code == 200
    assert await count(db, "message") == 1


async def test_sms_and_whatsapp_from_one_number_are_one_customer(server, db, inbox, admin):
    assert (await deliver(server, inbox, sms("SM" + "8" * 32))).status_code == 200
    assert (await deliver(server, inbox, whatsapp("SM" + "9" * 32))).status_code == 200

    _, by_sms = await conversation_of(server, admin, "SM" + "8" * 32)
    _, by_whatsapp = await conversation_of(server, admin, "SM" + "9" * 32)
    assert by_sms["customer_id"] == by_whatsapp["customer_id"]
    assert (by_sms["channel"], by_whatsapp["channel"]) == ("sms", "whatsapp")
    async with server.client(admin.token) as client:
        customer = (await client.get(f"/api/v1/customers/{by_sms['customer_id']}")).json()
    assert customer["name"] == "Minji Park"  # WhatsApp's ProfileName
    assert customer["identities"] == [{"kind": "phone", "value": CUSTOMER, "verified": True}]
    assert await count(db, "customer") == 1


def media_path(n: int) -> str:
    return f"/2010-04-01/Accounts/{SID}/Messages/MM{'0' * 32}/Media/ME{n:032d}"


async def test_media_is_downloaded_with_the_inbox_credentials_and_stored(
    server, db, inbox, admin, fake
):
    fake.routes[media_path(1)] = lambda seen: Answer(200, PNG, {"Content-Type": "image/png"})
    fields = sms(
        "MM" + "0" * 32,
        "",
        NumMedia="1",
        MediaUrl0=fake.url + media_path(1),
        MediaContentType0="image/png",
    )

    assert (await deliver(server, inbox, fields)).status_code == 200

    [fetch] = [r for r in fake.requests if r.path == media_path(1)]
    expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert fetch.headers["authorization"] == f"Basic {expected}"
    _, message = await conversation_of(server, admin, "MM" + "0" * 32)
    [attachment] = message["attachments"]
    assert attachment["content_type"] == "image/png"
    assert attachment["size"] == len(PNG)
    assert attachment["filename"].endswith(".png")
    async with server.client(admin.token) as client:
        stored = await client.get(f"/api/v1/attachments/{attachment['id']}")
    assert stored.content == PNG


async def test_media_past_the_size_cap_or_redirected_to_a_private_address_is_refused(
    server, db, inbox, admin, fake
):
    with FakeTwilio() as internal:
        internal.routes["/secret"] = lambda seen: Answer(200, b"internal data")
        fake.routes[media_path(1)] = lambda seen: Answer(200, b"x" * (CAP + 1))
        fake.routes[media_path(2)] = lambda seen: Answer(
            307, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
        )
        fake.routes[media_path(3)] = lambda seen: Answer(
            302, headers={"Location": internal.url + "/secret"}
        )
        fake.routes[media_path(4)] = lambda seen: Answer(200, PNG, {"Content-Type": "image/png"})
        urls = {f"MediaUrl{i}": fake.url + media_path(i + 1) for i in range(4)}
        urls["MediaUrl4"] = internal.url + "/secret"  # not Twilio's host at all
        fields = sms("MM" + "1" * 32, "photos attached", NumMedia="5", **urls)

        response = await deliver(server, inbox, fields)

        assert response.status_code == 200, response.text
        assert internal.requests == []  # never contacted: neither redirected to nor fetched
    _, message = await conversation_of(server, admin, "MM" + "1" * 32)
    assert [a["size"] for a in message["attachments"]] == [len(PNG)]
    assert message["text"] == "photos attached"


async def test_a_message_whose_only_media_is_refused_says_so(server, db, inbox, admin, fake):
    fields = sms("MM" + "2" * 32, "", NumMedia="1", MediaUrl0="http://10.0.0.7/media.jpg")
    assert (await deliver(server, inbox, fields)).status_code == 200
    _, message = await conversation_of(server, admin, "MM" + "2" * 32)
    assert message["attachments"] == []
    assert message["text"].startswith("(media could not be downloaded")


async def test_a_reply_goes_out_through_the_twilio_sdk_with_a_status_callback(
    server, db, inbox, admin, fake
):
    await deliver(server, inbox, sms("SM" + "a" * 32))
    conversation_id, _ = await conversation_of(server, admin, "SM" + "a" * 32)

    response = await reply(server, admin, conversation_id, "It ships tomorrow.")

    assert response.status_code == 201, response.text
    [send] = await fake.wait_sends(1)
    assert send.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert send.headers["authorization"] == f"Basic {expected}"
    assert send.form() == {
        "To": CUSTOMER,
        "From": NUMBER,
        "Body": "It ships tomorrow.",
        "StatusCallback": f"http://inbox.test/webhooks/twilio/{inbox.id}/status",
    }
    async with server.client(admin.token) as client:
        sent = await wait_for_message(
            client, conversation_id, response.json()["id"], lambda m: m["external_id"] is not None
        )
    assert sent["external_id"] == "SMout" + "1".zfill(29)
    assert (sent["status"], sent["channel"]) == ("queued", "sms")


async def test_a_reply_to_a_whatsapp_conversation_goes_out_on_whatsapp(
    server, db, inbox, admin, fake
):
    await deliver(server, inbox, whatsapp("SM" + "b" * 32))
    conversation_id, _ = await conversation_of(server, admin, "SM" + "b" * 32)

    response = await reply(server, admin, conversation_id, "안녕하세요, 도와드릴게요.")

    assert response.status_code == 201, response.text
    assert response.json()["channel"] == "whatsapp"
    [send] = await fake.wait_sends(1)
    form = send.form()
    assert (form["To"], form["From"], form["Body"]) == (
        f"whatsapp:{CUSTOMER}",
        f"whatsapp:{NUMBER}",
        "안녕하세요, 도와드릴게요.",
    )


async def test_status_callbacks_move_forward_only_and_failures_show_the_error(
    server, db, inbox, admin, fake
):
    await deliver(server, inbox, sms("SM" + "c" * 32))
    conversation_id, _ = await conversation_of(server, admin, "SM" + "c" * 32)
    first = (await reply(server, admin, conversation_id, "First")).json()
    second = (await reply(server, admin, conversation_id, "Second")).json()
    await fake.wait_sends(2)
    async with server.client(admin.token) as client:
        first = await wait_for_message(
            client, conversation_id, first["id"], lambda m: m["external_id"] is not None
        )
        second = await wait_for_message(
            client, conversation_id, second["id"], lambda m: m["external_id"] is not None
        )

    async def status(message, value, **extra):
        fields = {
            "MessageSid": message["external_id"],
            "MessageStatus": value,
            "AccountSid": SID,
            **extra,
        }
        response = await deliver(server, inbox, fields, action="status")
        assert response.status_code == 200, response.text

    await status(first, "delivered")
    await status(first, "sent")  # late and out of order
    await status(first, "queued")
    await status(second, "undelivered", ErrorCode="30003")
    await status(second, "delivered")  # after failed: failed is final

    async with server.client(admin.token) as client:
        by_id = {m["id"]: m for m in await messages_of(client, conversation_id)}
    assert by_id[first["id"]]["status"] == "delivered"
    assert by_id[first["id"]]["error"] is None
    assert by_id[second["id"]]["status"] == "failed"
    assert by_id[second["id"]]["error"].startswith("Twilio error 30003")


async def test_an_unsigned_status_callback_is_refused(server, db, inbox, admin, fake):
    response = await deliver(
        server, inbox, {"MessageSid": "SM1", "MessageStatus": "failed"}, action="status", headers={}
    )
    assert response.status_code == 403


async def test_twilio_refusing_a_send_is_shown_on_the_message(server, db, inbox, admin, fake):
    fake.send_answers.append(error_answer(400, 21211, "The 'To' number is not valid."))
    await deliver(server, inbox, sms("SM" + "d" * 32))
    conversation_id, _ = await conversation_of(server, admin, "SM" + "d" * 32)
    sent = (await reply(server, admin, conversation_id, "Hello?")).json()
    async with server.client(admin.token) as client:
        failed = await wait_for_message(
            client, conversation_id, sent["id"], lambda m: m["status"] == "failed"
        )
    assert failed["status"] == "failed"
    assert "21211" in failed["error"] and "not a valid phone number" in failed["error"]
    assert len(fake.sends()) == 1  # a permanent refusal is not retried


async def test_a_twilio_outage_is_retried_until_the_send_succeeds(server, db, inbox, admin, fake):
    fake.send_answers.append(error_answer(503, 20500, "Service unavailable"))
    await deliver(server, inbox, sms("SM" + "d" * 31 + "e"))
    conversation_id, _ = await conversation_of(server, admin, "SM" + "d" * 31 + "e")
    sent = (await reply(server, admin, conversation_id, "Hello?")).json()
    async with server.client(admin.token) as client:
        done = await wait_for_message(
            client, conversation_id, sent["id"], lambda m: m["external_id"] is not None
        )
    assert done["external_id"] is not None and done["error"] is None
    assert [s.form()["Body"] for s in fake.sends()] == ["Hello?", "Hello?"]


@pytest.mark.parametrize("keyword", ["STOP", "stop", "Unsubscribe", "수신거부", "QUIT"])
async def test_stop_refuses_further_sms_and_start_allows_them_again(
    server, db, inbox, admin, fake, keyword
):
    await deliver(server, inbox, sms("SM" + "e" * 32, "Where is my order?"))
    await deliver(server, inbox, sms("SM" + "f" * 32, keyword))
    conversation_id, _ = await conversation_of(server, admin, "SM" + "e" * 32)

    refused = await reply(server, admin, conversation_id, "Your order shipped.")

    assert refused.status_code == 409, refused.text
    assert "opted out" in refused.json()["error"]
    assert "START" in refused.json()["error"]
    await asyncio.sleep(0.2)
    assert fake.sends() == []

    # A retried STOP and an unrelated message change nothing.
    await deliver(server, inbox, sms("SM" + "f" * 32, keyword))
    await deliver(server, inbox, sms("SM" + "0" * 31 + "1", "stop it, please"))
    assert (await reply(server, admin, conversation_id, "Still?")).status_code == 409

    await deliver(server, inbox, sms("SM" + "0" * 31 + "2", "START"))
    allowed = await reply(server, admin, conversation_id, "Your order shipped.")
    assert allowed.status_code == 201, allowed.text
    [send] = await fake.wait_sends(1)
    assert send.form()["Body"] == "Your order shipped."


async def test_an_opted_out_number_can_still_be_reached_on_another_inbox(
    server, db, inbox, admin, fake
):
    other = await make_inbox(
        db,
        "twilio",
        "Sales line",
        {
            "account_sid": SID,
            "auth_token": TOKEN,
            "phone_number": "+15005550009",
            "api_base_url": fake.url,
        },
    )
    await deliver(server, inbox, sms("SM" + "1" * 31 + "0", "STOP"))
    await deliver(server, other, sms("SM" + "1" * 31 + "2", "Do you sell gift cards?"))
    conversation_id, _ = await conversation_of(server, admin, "SM" + "1" * 31 + "2")
    async with server.client(admin.token) as client:
        response = await client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"text": "We do!", "inbox_id": other.id},
        )
    assert response.status_code == 201, response.text


async def test_an_unsigned_start_does_not_opt_back_in(server, db, fake, admin):
    open_inbox = await make_inbox(
        db,
        "twilio",
        "Unsigned line",
        {
            "account_sid": SID,
            "auth_token": TOKEN,
            "phone_number": NUMBER,
            "api_base_url": fake.url,
            "verify_signatures": False,
        },
    )
    for sid, body in (
        ("SM" + "2" * 31 + "0", "hello"),
        ("SM" + "2" * 31 + "1", "STOP"),
        ("SM" + "2" * 31 + "2", "START"),
    ):
        response = await deliver(server, open_inbox, sms(sid, body), headers={})
        assert response.status_code == 200, response.text
    conversation_id, message = await conversation_of(server, admin, "SM" + "2" * 31 + "0")
    assert (await reply(server, admin, conversation_id, "hi")).status_code == 409
    async with server.client(admin.token) as client:
        customer = (await client.get(f"/api/v1/customers/{message['customer_id']}")).json()
    # Without signatures nothing proves the sender.
    assert customer["identities"][0]["verified"] is False


async def test_whatsapp_free_form_replies_are_refused_after_24_hours(
    server, db, settings, inbox, admin, fake
):
    old = inbound(
        inbox,
        "Any news?",
        external_id="SM" + "3" * 32,
        phone=f"whatsapp:{CUSTOMER}",
        channel="whatsapp",
        sent_at=utcnow() - timedelta(hours=25),
    )
    stored = await ingest(db, old, settings)

    refused = await reply(server, admin, stored.conversation_id, "Sorry for the wait!")

    assert refused.status_code == 409, refused.text
    assert "24-hour" in refused.json()["error"] and "template" in refused.json()["error"]
    await asyncio.sleep(0.2)
    assert fake.sends() == []

    await deliver(server, inbox, whatsapp("SM" + "4" * 32, "Hello again"))
    conversation_id, _ = await conversation_of(server, admin, "SM" + "4" * 32)
    allowed = await reply(server, admin, conversation_id, "Sorry for the wait!")
    assert allowed.status_code == 201, allowed.text
    assert (await fake.wait_sends(1))[0].form()["To"] == f"whatsapp:{CUSTOMER}"


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "units"),
    [
        ("Hello, your order shipped.", "GSM-7", 1, 26),
        ("a" * 160, "GSM-7", 1, 160),
        ("a" * 161, "GSM-7", 2, 161),
        ("a" * 306, "GSM-7", 2, 306),
        ("a" * 307, "GSM-7", 3, 307),
        ("Price: 5€ [sale]", "GSM-7", 1, 19),  # €, [ and ] take two septets each
        # The escape septet and € never straddle two parts: 152 + [€] + 152 needs three.
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 3, 306),
        ("안녕하세요", "UCS-2", 1, 5),
        ("가" * 70, "UCS-2", 1, 70),
        ("가" * 71, "UCS-2", 2, 71),
        ("가" * 134, "UCS-2", 2, 134),
        ("가" * 135, "UCS-2", 3, 135),
        ("Thanks 👍", "UCS-2", 1, 9),  # an emoji is a surrogate pair: two units
        ("", "GSM-7", 0, 0),
    ],
)
async def test_sms_length_reports_encoding_and_segments(
    server, admin, text, encoding, segments, units
):
    async with server.client(admin.token) as client:
        response = await client.post("/api/v1/sms/length", json={"text": text})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["encoding"], body["segments"], body["units"]) == (encoding, segments, units)


async def test_sms_length_needs_an_agent_and_a_string(server, admin, inbox):
    async with server.client() as client:
        assert (await client.post("/api/v1/sms/length", json={"text": "hi"})).status_code == 401
    async with server.client(inbox.token) as client:
        assert (await client.post("/api/v1/sms/length", json={"text": "hi"})).status_code == 401
    async with server.client(admin.token) as client:
        assert (await client.post("/api/v1/sms/length", json={"text": 5})).status_code == 400


async def test_create_inbox_warns_loudly_when_signatures_are_off(settings):
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOX_")}
    env.update(INBOX_DATABASE_URL=settings.database_url, INBOX_PUBLIC_URL="http://inbox.test")

    async def create(config: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "web.cli",
            "create-inbox",
            "--kind",
            "twilio",
            "--name",
            "SMS",
            "--config",
            config,
            "--json",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode or 0, out.decode(), err.decode()

    code, out, err = await create('{"auth_token": "t", "verify_signatures": false}')
    assert code == 0, err
    assert "signature checks are OFF" in err
    assert out.strip().startswith("{") and len(out.strip().splitlines()) == 1
    code, out, err = await create('{"auth_token": "t"}')
    assert code == 0, err
    assert "OFF" not in err
