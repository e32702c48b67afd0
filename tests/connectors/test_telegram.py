"""Telegram through the live server: secret-token webhooks in, python-telegram-bot's real `Bot`
out, files and setWebhook, all against a local fake Bot API that records every request."""

from __future__ import annotations

import asyncio
import json
from email import policy
from email.parser import BytesParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import text
from websockets.asyncio.client import connect

from inbox.settings import Limits
from tests.connectors.provider_server import Answer, ProviderServer
from tests.factories import count, make_agent, make_inbox
from tests.web.support import customer_writes, messages_of, run_cli, wait_for_message

FIXTURES = Path(__file__).parent / "fixtures" / "telegram"
ROOT = Path(__file__).resolve().parents[2]
BOT_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
SECRET = "webhook-secret_token-1"
PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 80


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def form(body: bytes) -> dict[str, str]:
    """python-telegram-bot posts its parameters as a form; one value each."""
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}


@pytest.fixture
def settings(settings):
    return settings.with_(limits=Limits(attachment=64 * 1024))


@pytest.fixture
def bot_api():
    with ProviderServer() as fake:
        yield fake


@pytest.fixture
async def inbox(db, bot_api):
    return await make_inbox(
        db,
        "telegram",
        "Telegram bot",
        {"bot_token": BOT_TOKEN, "secret_token": SECRET, "api_base_url": bot_api.url},
    )


@pytest.fixture
async def agent(db, inbox):
    return await make_agent(db, inboxes=[inbox])


async def deliver(
    server, inbox, update: Any = None, *, body: bytes | None = None, secret: str | None = SECRET
):
    body = json.dumps(update).encode() if body is None else body
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    async with server.client() as client:
        return await client.post(f"/webhooks/telegram/{inbox.id}", content=body, headers=headers)


async def only_conversation(server, agent) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    async with server.client(agent.token) as client:
        [conversation] = (await client.get("/api/v1/conversations")).json()["items"]
        return conversation, await messages_of(client, conversation["id"])


# --- the secret token and parsing ------------------------------------------------------------


async def test_a_message_with_the_secret_token_is_stored_with_name_and_telegram_id(
    server, inbox, agent
):
    response = await deliver(server, inbox, fixture("text"))
    assert response.status_code == 200, response.text
    _, [message] = await only_conversation(server, agent)
    assert message["text"] == "Hello! Where is my order #1042?"
    assert (message["channel"], message["direction"]) == ("telegram", "in")
    async with server.client(agent.token) as client:
        customer = (await client.get(f"/api/v1/customers/{message['customer_id']}")).json()
    assert customer["name"] == "Minji Kim"
    assert [(i["kind"], i["value"], i["verified"]) for i in customer["identities"]] == [
        ("telegram", "777001", True)
    ]


@pytest.mark.parametrize("secret", [None, "", "webhook-secret_token-2", SECRET + "x"])
async def test_a_wrong_or_missing_secret_token_is_403_and_stores_nothing(server, db, inbox, secret):
    response = await deliver(server, inbox, fixture("text"), secret=secret)
    assert response.status_code == 403
    assert await count(db, "message") == 0
    assert await count(db, "customer") == 0


async def test_an_inbox_without_a_secret_refuses_every_update(server, db, bot_api):
    bare = await make_inbox(
        db, "telegram", config={"bot_token": BOT_TOKEN, "api_base_url": bot_api.url}
    )
    response = await deliver(server, bare, fixture("text"), secret="")
    assert response.status_code == 403
    assert await count(db, "message") == 0


async def test_an_update_retried_ten_times_at_once_is_stored_once(server, db, inbox):
    responses = await asyncio.gather(*(deliver(server, inbox, fixture("text")) for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    assert await count(db, "message") == 1


async def test_updates_that_are_not_private_messages_are_acknowledged_and_ignored(
    server, db, inbox
):
    group = fixture("text")
    group["message"]["chat"] = {"id": -100123, "title": "Fans", "type": "supergroup"}
    callback = {
        "update_id": 871290009,
        "callback_query": {
            "id": "4382bfdwdsb323b2d9",
            "from": {"id": 777001, "is_bot": False, "first_name": "M"},
            "chat_instance": "-1",
            "data": "yes",
        },
    }
    channel = {
        "update_id": 871290010,
        "channel_post": {
            "message_id": 5,
            "date": 1749416383,
            "text": "news",
            "chat": {"id": -100200, "title": "News", "type": "channel"},
        },
    }
    for update in (group, callback, channel):
        response = await deliver(server, inbox, update)
        assert response.status_code == 200, response.text
    assert await count(db, "message") == 0


def broken_updates() -> list[bytes]:
    no_update_id = fixture("text")
    del no_update_id["update_id"]
    no_chat = fixture("text")
    del no_chat["message"]["chat"]
    string_ids = fixture("text")
    string_ids["message"]["message_id"] = "4021; DROP"
    text_object = fixture("text")
    text_object["message"]["text"] = {"nested": True}
    bad_date = fixture("text")
    bad_date["message"]["date"] = "yesterday"
    return [b"{not json", b"\xff\xfe garbage", b"[1, 2]", b'"update"'] + [
        json.dumps(u).encode() for u in (no_update_id, no_chat, string_ids, text_object, bad_date)
    ]


@pytest.mark.parametrize("body", broken_updates())
async def test_a_malformed_update_is_400_and_stores_nothing(server, db, inbox, body):
    response = await deliver(server, inbox, body=body)
    assert response.status_code == 400, response.text
    assert await count(db, "message") == 0


# --- identities, edits, files ----------------------------------------------------------------


async def test_a_shared_own_contact_links_the_telegram_user_to_their_sms_history(
    server, db, inbox, agent
):
    api = await make_inbox(db, "api")
    earlier = await customer_writes(server, api, "Texted before", phone="+82 10-1234-5678")
    assert (await deliver(server, inbox, fixture("text"))).status_code == 200
    assert (await deliver(server, inbox, fixture("contact"))).status_code == 200
    async with server.client(agent.token) as client:
        customers = (await client.get("/api/v1/customers")).json()["items"]
        customer = (await client.get(f"/api/v1/customers/{earlier['customer_id']}")).json()
    assert [c["id"] for c in customers] == [earlier["customer_id"]]  # merged into one
    assert {(i["kind"], i["value"]) for i in customer["identities"]} >= {
        ("telegram", "777001"),
        ("phone", "+821012345678"),
    }


async def test_someone_elses_contact_adds_no_phone(server, db, inbox, agent):
    update = fixture("contact")
    update["message"]["contact"]["user_id"] = 999999
    assert (await deliver(server, inbox, update)).status_code == 200
    _, [message] = await only_conversation(server, agent)
    async with server.client(agent.token) as client:
        customer = (await client.get(f"/api/v1/customers/{message['customer_id']}")).json()
    assert [i["kind"] for i in customer["identities"]] == ["telegram"]


async def test_an_edit_changes_the_stored_message_in_place(server, db, inbox, agent):
    assert (await deliver(server, inbox, fixture("text"))).status_code == 200
    edit = fixture("text")
    edit["update_id"] += 1
    edit["edited_message"] = dict(
        edit.pop("message"), edit_date=1749416999, text="Hello! Where is my order #1043?"
    )
    async with connect(f"{server.ws_url}/ws?token={agent.token}") as socket:
        for _ in range(2):  # Telegram retries: the second delivery changes nothing
            assert (await deliver(server, inbox, edit)).status_code == 200
        frame = json.loads(await asyncio.wait_for(socket.recv(), 5))
    assert frame["type"] == "message.updated"
    assert frame["payload"]["text"] == "Hello! Where is my order #1043?"
    _, messages = await only_conversation(server, agent)
    assert [m["text"] for m in messages] == ["Hello! Where is my order #1043?"]
    async with server.client(agent.token) as client:
        found = (await client.get("/api/v1/search", params={"q": "1043"})).json()["messages"]
        stale = (await client.get("/api/v1/search", params={"q": "1042"})).json()["messages"]
    assert [m["id"] for m in found] == [messages[0]["id"]] and stale == []


async def test_an_edit_of_a_message_never_received_stores_nothing(server, db, inbox, agent):
    edit = fixture("text")
    edit["edited_message"] = dict(edit.pop("message"), edit_date=1749416999, text="changed")
    assert (await deliver(server, inbox, edit)).status_code == 200
    async with server.client(agent.token) as client:
        assert (await client.get("/api/v1/conversations")).json()["items"] == []


async def test_a_photo_is_fetched_through_get_file(server, db, inbox, agent, bot_api):
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
                    "file_size": len(PNG),
                    "file_path": "photos/file_7.jpg",
                },
            },
        ),
    )
    bot_api.route(
        "GET",
        f"/file/bot{BOT_TOKEN}/photos/file_7.jpg",
        Answer(200, PNG, {"Content-Type": "image/jpeg"}),
    )
    response = await deliver(server, inbox, fixture("photo"))
    assert response.status_code == 200, response.text
    get_file, download = bot_api.requests
    assert get_file.path == f"/bot{BOT_TOKEN}/getFile"
    assert form(get_file.body) == {"file_id": "AgACAgQAAxkBAAIBlarge"}  # the largest size
    assert download.path == f"/file/bot{BOT_TOKEN}/photos/file_7.jpg"
    _, [message] = await only_conversation(server, agent)
    assert message["text"] == "The box arrived broken"
    [attachment] = message["attachments"]
    assert (attachment["filename"], attachment["size"]) == ("photo.jpg", len(PNG))
    async with server.client(agent.token) as client:
        stored = await client.get(f"/api/v1/attachments/{attachment['id']}")
    assert stored.content == PNG


async def test_a_file_over_the_limit_is_not_downloaded(server, db, inbox, agent, bot_api):
    update = fixture("photo")
    update["message"]["photo"][-1]["file_size"] = 64 * 1024 + 1
    response = await deliver(server, inbox, update)
    assert response.status_code == 200, response.text
    assert bot_api.requests == []
    _, [message] = await only_conversation(server, agent)
    assert message["attachments"] == []
    assert message["text"] == "The box arrived broken"


async def test_a_file_path_leading_off_the_bot_api_is_refused(server, db, inbox, agent, bot_api):
    # getFile's path is joined to the file endpoint, so it cannot name another host; a
    # redirect from the file endpoint to a private address is refused.
    with ProviderServer() as internal:
        internal.route("GET", "/secret", Answer(200, b"internal"))
        bot_api.route(
            "POST",
            f"/bot{BOT_TOKEN}/getFile",
            Answer(
                200,
                {
                    "ok": True,
                    "result": {
                        "file_id": "x",
                        "file_unique_id": "y",
                        "file_path": "photos/file_8.jpg",
                    },
                },
            ),
        )
        bot_api.route(
            "GET",
            f"/file/bot{BOT_TOKEN}/photos/file_8.jpg",
            Answer(302, b"", {"Location": f"{internal.url}/secret"}),
        )
        response = await deliver(server, inbox, fixture("photo"))
        assert internal.requests == []
    assert response.status_code == 200
    _, [message] = await only_conversation(server, agent)
    assert message["attachments"] == []


# --- outbound --------------------------------------------------------------------------------


def sent_message(request) -> Answer:
    fields = form(request.body)
    return Answer(
        200,
        {
            "ok": True,
            "result": {
                "message_id": 4100,
                "date": 1749417000,
                "text": fields["text"],
                "chat": {"id": int(fields["chat_id"]), "type": "private", "first_name": "Minji"},
                "from": {"id": 123456, "is_bot": True, "first_name": "Shop"},
            },
        },
    )


async def reply(server, agent, text_: str) -> dict[str, Any]:
    conversation, _ = await only_conversation(server, agent)
    async with server.client(agent.token) as client:
        response = await client.post(
            f"/api/v1/conversations/{conversation['id']}/messages", json={"text": text_}
        )
        assert response.status_code == 201, response.text
        return await wait_for_message(
            client,
            conversation["id"],
            response.json()["id"],
            lambda m: m["status"] != "queued" and not (m["error"] or "").startswith("retrying"),
        )


async def test_a_reply_goes_out_through_send_message(server, db, inbox, agent, bot_api):
    bot_api.route("POST", f"/bot{BOT_TOKEN}/sendMessage", sent_message)
    assert (await deliver(server, inbox, fixture("text"))).status_code == 200
    sent = await reply(server, agent, "It ships today 🚚")
    assert sent["status"] == "sent"
    [request] = bot_api.requests
    assert request.method == "POST"
    assert request.path == f"/bot{BOT_TOKEN}/sendMessage"
    assert form(request.body) == {"chat_id": "777001", "text": "It ships today 🚚"}
    async with db.read() as session:
        external = await session.scalar(
            text("SELECT external_id FROM message WHERE id = :id"), {"id": sent["id"]}
        )
    assert external == "777001:4100"


async def test_a_bot_blocked_by_the_user_fails_without_retrying(server, db, inbox, agent, bot_api):
    bot_api.route(
        "POST",
        f"/bot{BOT_TOKEN}/sendMessage",
        Answer(
            403,
            {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            },
        ),
    )
    assert (await deliver(server, inbox, fixture("text"))).status_code == 200
    failed = await reply(server, agent, "Hello?")
    assert failed["status"] == "failed"
    assert "bot was blocked by the user" in failed["error"]
    assert len(bot_api.requests) == 1


async def test_a_bot_api_outage_is_retried(server, db, inbox, agent, bot_api):
    answers = [
        Answer(502, b"Bad Gateway"),
        Answer(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 0",
                "parameters": {"retry_after": 0},
            },
        ),
    ]

    def flaky(request):
        return answers.pop(0) if answers else sent_message(request)

    bot_api.route("POST", f"/bot{BOT_TOKEN}/sendMessage", flaky)
    assert (await deliver(server, inbox, fixture("text"))).status_code == 200
    sent = await reply(server, agent, "Third time lucky")
    assert sent["status"] == "sent"
    assert len(bot_api.requests) == 3


# --- create-inbox registers the webhook ------------------------------------------------------


async def stored_config(db, inbox_id: int) -> dict[str, Any]:
    async with db.read() as session:
        raw = await session.scalar(
            text("SELECT config FROM inbox WHERE id = :id"), {"id": inbox_id}
        )
    return raw if isinstance(raw, dict) else json.loads(raw)


async def test_create_inbox_calls_set_webhook_with_a_generated_secret(
    server, settings, db, bot_api
):
    bot_api.route(
        "POST",
        f"/bot{BOT_TOKEN}/setWebhook",
        Answer(200, {"ok": True, "result": True, "description": "Webhook was set"}),
    )
    code, out, err = await run_cli(
        settings,
        "create-inbox",
        "--kind",
        "telegram",
        "--name",
        "Shop bot",
        "--json",
        "--config",
        json.dumps({"bot_token": BOT_TOKEN, "api_base_url": bot_api.url}),
    )
    assert code == 0, err
    created = json.loads(out)
    config = await stored_config(db, created["id"])
    secret = config["secret_token"]
    assert len(secret) >= 32
    [request] = bot_api.requests
    assert request.path == f"/bot{BOT_TOKEN}/setWebhook"
    fields = form(request.body)
    assert fields["url"] == f"https://inbox.test/webhooks/telegram/{created['id']}"
    assert fields["url"] == created["webhook_url"]
    assert fields["secret_token"] == secret
    assert json.loads(fields["allowed_updates"]) == ["message", "edited_message"]
    # The generated secret is the one the webhook now demands.
    new_inbox = SimpleNamespace(id=created["id"])
    assert (await deliver(server, new_inbox, fixture("text"), secret=secret)).status_code == 200
    assert (await deliver(server, new_inbox, fixture("text"), secret=SECRET)).status_code == 403


async def test_create_inbox_with_register_webhook_false_calls_nothing(settings, db, bot_api):
    code, out, err = await run_cli(
        settings,
        "create-inbox",
        "--kind",
        "telegram",
        "--name",
        "Dev bot",
        "--json",
        "--config",
        json.dumps(
            {
                "bot_token": BOT_TOKEN,
                "api_base_url": bot_api.url,
                "secret_token": "my-own-secret",
                "register_webhook": False,
            }
        ),
    )
    assert code == 0, err
    assert bot_api.requests == []
    assert (await stored_config(db, json.loads(out)["id"]))["secret_token"] == "my-own-secret"


async def test_a_refused_set_webhook_is_reported(settings, db, bot_api):
    bot_api.route(
        "POST",
        f"/bot{BOT_TOKEN}/setWebhook",
        Answer(
            400,
            {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: bad webhook: HTTPS url must be provided for webhook",
            },
        ),
    )
    code, _, err = await run_cli(
        settings,
        "create-inbox",
        "--kind",
        "telegram",
        "--name",
        "Shop bot",
        "--config",
        json.dumps({"bot_token": BOT_TOKEN, "api_base_url": bot_api.url}),
    )
    assert code == 1
    assert "https url must be provided" in err.lower()
    assert len(bot_api.requests) == 1


async def test_create_inbox_without_a_bot_token_is_refused(settings, db):
    code, _, err = await run_cli(settings, "create-inbox", "--kind", "telegram", "--name", "x")
    assert code == 1
    assert "bot_token" in err
    assert await count(db, "inbox") == 0


# --- polling mode (development without a public URL) ------------------------------------------


async def test_polling_stores_updates_once_across_restarts(db, settings, bot_api):
    from connectors.telegram import TelegramConnector
    from connectors.telegram_polling import poll_updates

    polled = await make_inbox(
        db,
        "telegram",
        "Polled bot",
        {"bot_token": BOT_TOKEN, "api_base_url": bot_api.url, "polling": True},
    )
    first, second = fixture("text"), fixture("text")
    second["update_id"] += 1
    second["message"] = dict(
        second["message"],
        message_id=second["message"]["message_id"] + 1,
        text="Still waiting for #1042",
    )
    callback = {
        "update_id": second["update_id"] + 1,
        "callback_query": {
            "id": "1",
            "from": first["message"]["from"],
            "chat_instance": "1",
            "data": "x",
        },
    }
    queue = [[first, second, callback]]
    offsets = []

    def get_updates(request):
        offset = form(request.body).get("offset")
        offsets.append(int(offset) if offset else None)
        return Answer(200, {"ok": True, "result": queue.pop(0) if queue else []})

    bot_api.route("POST", f"/bot{BOT_TOKEN}/getUpdates", get_updates)
    bot_api.route(
        "POST", f"/bot{BOT_TOKEN}/deleteWebhook", Answer(200, {"ok": True, "result": True})
    )
    connector = TelegramConnector(settings)

    async def run_until(requests: int) -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(poll_updates(db, settings, connector, polled, stop, long_poll=0))
        for _ in range(250):  # at most 5 s
            if len(offsets) >= requests:
                break
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, 10)

    await run_until(2)
    queue.append([first, second])  # Telegram hands out the same updates again after a restart
    await run_until(len(offsets) + 2)
    assert await count(db, "message") == 2
    assert offsets[0] is None and offsets[1] == callback["update_id"] + 1
    assert "/bot" + BOT_TOKEN + "/deleteWebhook" in bot_api.paths()


async def test_a_polling_inbox_registers_no_webhook(db, settings, bot_api):
    from connectors.telegram import TelegramConnector
    from inbox.channel import ChannelInbox

    inbox = ChannelInbox(
        1,
        "telegram",
        "Polled",
        {"bot_token": BOT_TOKEN, "api_base_url": bot_api.url, "polling": True},
        "t",
    )
    assert await TelegramConnector(settings).register(inbox, "http://inbox.test/x") is False
    assert bot_api.requests == []


# --- agents' files ---------------------------------------------------------------------------

PDF = b"%PDF-1.4\n% receipt\n%%EOF\n"


def _parts(request) -> dict[str, tuple[str | None, bytes]]:
    """The multipart form python-telegram-bot uploaded: field → (filename, bytes)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=policy.default).parsebytes(head + request.body)
    return {
        part.get_param("name", header="content-disposition"): (
            part.get_filename(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    }


def _sent(kind: str, message_id: int):
    def answer(request) -> Answer:
        result = {
            "message_id": message_id,
            "date": 1749417000,
            "chat": {"id": 777001, "type": "private", "first_name": "Minji"},
            "from": {"id": 123456, "is_bot": True, "first_name": "Shop"},
        }
        if kind == "photo":
            result["photo"] = [{"file_id": "p1", "file_unique_id": "u1", "width": 1, "height": 1}]
        else:
            result["document"] = {"file_id": "d1", "file_unique_id": "u2"}
        return Answer(200, {"ok": True, "result": result})

    return answer


async def test_a_reply_with_files_sends_a_photo_and_a_document(server, db, inbox, agent, bot_api):
    bot_api.route("POST", f"/bot{BOT_TOKEN}/sendPhoto", _sent("photo", 4201))
    bot_api.route("POST", f"/bot{BOT_TOKEN}/sendDocument", _sent("document", 4202))
    assert (await deliver(server, inbox, fixture("text"))).status_code == 200
    conversation, _ = await only_conversation(server, agent)
    async with server.client(agent.token) as client:
        response = await client.post(
            f"/api/v1/conversations/{conversation['id']}/messages",
            data={"text": "Your receipt and a photo of the parcel"},
            files=[
                ("files", ("parcel.png", PNG, "image/png")),
                ("files", ("영수증.pdf", PDF, "application/pdf")),
            ],
        )
        assert response.status_code == 201, response.text
        sent = await wait_for_message(
            client, conversation["id"], response.json()["id"], lambda m: m["status"] != "queued"
        )
    assert sent["status"] == "sent", sent
    photo, document = bot_api.requests[-2:]
    assert photo.path == f"/bot{BOT_TOKEN}/sendPhoto"
    assert document.path == f"/bot{BOT_TOKEN}/sendDocument"
    photo_form, document_form = _parts(photo), _parts(document)
    assert photo_form["chat_id"][1] == b"777001"
    assert photo_form["caption"][1].decode() == "Your receipt and a photo of the parcel"
    [photo_file] = [v for k, v in photo_form.items() if v[0]]
    assert photo_file == ("parcel.png", PNG)
    assert "caption" not in document_form
    [document_file] = [v for k, v in document_form.items() if v[0]]
    assert document_file == ("영수증.pdf", PDF)
    assert not any(r.path.endswith("/sendMessage") for r in bot_api.requests)


async def test_text_too_long_for_a_caption_goes_first_as_its_own_message(
    server, db, inbox, agent, bot_api
):
    bot_api.route("POST", f"/bot{BOT_TOKEN}/sendMessage", sent_message)
    bot_api.route("POST", f"/bot{BOT_TOKEN}/sendDocument", _sent("document", 4301))
    assert (await deliver(server, inbox, fixture("text"))).status_code == 200
    conversation, _ = await only_conversation(server, agent)
    long_text = "Details follow. " * 100  # 1,600 characters: past the 1,024 of a caption
    async with server.client(agent.token) as client:
        response = await client.post(
            f"/api/v1/conversations/{conversation['id']}/messages",
            data={"text": long_text},
            files=[("files", ("terms.pdf", PDF, "application/pdf"))],
        )
        sent = await wait_for_message(
            client, conversation["id"], response.json()["id"], lambda m: m["status"] != "queued"
        )
    assert sent["status"] == "sent", sent
    text_request, document = bot_api.requests[-2:]
    assert text_request.path.endswith("/sendMessage")
    assert document.path.endswith("/sendDocument")
    assert "caption" not in _parts(document)
