"""Live updates between agents in headless Chromium: two agents on one conversation see a
customer's SMS within a second, one agent's reply reaches the other's view and the provider,
an SMS and a web chat from one verified person are one timeline, and a dropped websocket
catches up on reconnect without showing anything twice. Screenshots: $INBOX_SCREENSHOTS."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from twilio.request_validator import RequestValidator

from tests.browser.test_ui import browser, open_agent_page, playwright_api, shoot  # noqa: F401
from tests.connectors.fake_twilio import FakeTwilio
from tests.connectors.provider_server import Answer, ProviderServer
from tests.factories import make_agent, make_inbox
from tests.web.support import customer_writes, wait_for_message

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-live"
NUMBER = "+15005550006"
CUSTOMER = "+14155550142"
SECRET = "shop-identity-secret-0123456789"
_sids = itertools.count(1)
expect = playwright_api.expect

# Lets a test drop the page's live sockets and hold reconnection: while `__holdSockets` is
# true a new socket is an inert stand-in that never opens; `__releaseSockets()` closes the
# stand-ins, so app.js retries at once against the real server (with its `since=`).
HOLD_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__held = [];
  window.__socketUrls = [];
  window.__holdSockets = false;
  function Held(url) { this.url = url; this.readyState = 0; }
  Held.prototype.close = function () {};
  Held.prototype.send = function () {};
  function Wrapped(url, protocols) {
    window.__socketUrls.push(String(url));
    if (window.__holdSockets) {
      const held = new Held(url);
      window.__held.push(held);
      return held;
    }
    const socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    window.__sockets.push(socket);
    return socket;
  }
  Wrapped.prototype = Native.prototype;
  Object.assign(Wrapped, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  window.WebSocket = Wrapped;
  window.__dropSockets = function () {
    window.__holdSockets = true;
    window.__sockets.forEach(function (s) { s.close(); });
  };
  window.__openSockets = function () {
    return window.__sockets.filter(function (s) { return s.readyState === 1; }).length;
  };
  window.__releaseSockets = function () {
    window.__holdSockets = false;
    const held = window.__held.splice(0);
    held.forEach(function (h) { if (h.onclose) h.onclose({code: 1006}); });
  };
})();
"""


@pytest.fixture
def fake_twilio():
    with FakeTwilio() as peer:
        yield peer


@pytest.fixture
def shop():
    """The shop's own site on another loopback origin, embedding the chat widget."""
    with ProviderServer() as site:
        yield site


async def twilio_inbox(db, api_base_url: str, name: str = "SMS line"):
    return await make_inbox(
        db,
        "twilio",
        name,
        {
            "account_sid": SID,
            "auth_token": TOKEN,
            "phone_number": NUMBER,
            "api_base_url": api_base_url,
        },
    )


async def texts(server, inbox, body: str, sender: str = CUSTOMER) -> None:
    """The customer's SMS, posted to the Twilio webhook signed as Twilio signs it."""
    fields = {
        "MessageSid": f"SM{next(_sids):032d}",
        "AccountSid": SID,
        "From": sender,
        "To": NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
    await twilio_post(server, f"/webhooks/twilio/{inbox.id}", fields)


async def twilio_post(server, path: str, fields: dict[str, str]) -> None:
    # Twilio signs the URL it was configured with: the public URL, not the loopback one.
    signature = RequestValidator(TOKEN).compute_signature(server.settings.public_url + path, fields)
    async with server.client() as client:
        response = await client.post(path, data=fields, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.text


async def open_conversation(browser, server, agent, conversation_id, *, hold=False):
    context, page, errors = await open_agent_page(
        browser,
        server,
        agent.email,
        None if conversation_id is None else f"/conversations/{conversation_id}",
        init_script=HOLD_SOCKETS if hold else None,
        viewport={"width": 1100, "height": 800},
    )
    await expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    return context, page, errors


async def only_conversation(server, agent) -> dict:
    async with server.client(agent.token) as client:
        [conversation] = (await client.get("/api/v1/conversations")).json()["items"]
    return conversation


async def since_of(page) -> list[int]:
    """The `since=` of each socket the page opened, in order."""
    urls = await page.evaluate("window.__socketUrls")
    return [int(parse_qs(urlsplit(url).query)["since"][0]) for url in urls]


def message(page, text: str):
    return page.locator("#timeline li.msg", has_text=text)


@dataclass
class Desk:
    """One agent, signed in in their own browser context, with the conversation open."""

    agent: Any
    context: Any
    page: Any
    errors: list[str]  # uncaught script errors on `page`


@dataclass
class TwoAgentsOnSms:
    sms: Any
    conversation: dict
    minji: Desk
    joon: Desk


@pytest.fixture
async def two_agents_on_sms(
    server,
    db,
    browser,
    fake_twilio,
) -> AsyncIterator[Callable[[str], Awaitable[TwoAgentsOnSms]]]:
    """Start with: the customer texts the SMS (Twilio) inbox, and its two agents, Minji then
    Joon, each open the conversation in their own browser context. Contexts close afterwards."""
    contexts = []

    async def start(first_text: str) -> TwoAgentsOnSms:
        sms = await twilio_inbox(db, fake_twilio.url)
        minji = await make_agent(db, "minji@support.example", name="Minji Park", inboxes=[sms])
        joon = await make_agent(db, "joon@support.example", name="Joon Lee", inboxes=[sms])
        await texts(server, sms, first_text)
        conversation = await only_conversation(server, minji)
        desks = []
        for agent in (minji, joon):
            context, page, errors = await open_conversation(
                browser, server, agent, conversation["id"]
            )
            contexts.append(context)
            desks.append(Desk(agent, context, page, errors))
        return TwoAgentsOnSms(sms, conversation, *desks)

    yield start
    for context in contexts:
        await context.close()


async def test_two_agents_see_a_customer_sms_within_a_second_and_the_list_updates(
    server, two_agents_on_sms
):
    both = await two_agents_on_sms("Hi, my order 4411 has not arrived")
    minji, joon, sms, conversation = both.minji, both.joon, both.sms, both.conversation
    a_list = await minji.context.new_page()
    await a_list.goto(f"{server.url}/")
    await expect(a_list.locator("#live-state")).to_have_attribute("data-state", "live")
    card = a_list.locator(f"#list li[data-conversation='{conversation['id']}']")
    await expect(card.locator(".preview")).to_contain_text("has not arrived")
    for page in (minji.page, joon.page):
        await expect(message(page, "has not arrived")).to_have_count(1)

    started = time.monotonic()
    await texts(server, sms, "Can you check the courier please?")
    left = max(1, round(1000 - (time.monotonic() - started) * 1000))
    # Both views, measured from the post: the issue asks for "within a second".
    await asyncio.gather(
        expect(message(minji.page, "check the courier")).to_have_count(1, timeout=left),
        expect(message(joon.page, "check the courier")).to_have_count(1, timeout=left),
    )
    assert time.monotonic() - started < 1.0
    await expect(card.locator(".preview")).to_contain_text("check the courier", timeout=5000)
    await expect(a_list.locator("#list li[data-conversation]")).to_have_count(1)
    for page in (minji.page, joon.page):
        await expect(page.locator("#timeline li.msg")).to_have_count(2)
        assert await page.locator("#timeline li.msg").last.locator(".body").inner_text() == (
            "Can you check the courier please?"
        )
    await shoot(minji.page, "live-two-agents-minji")
    await shoot(joon.page, "live-two-agents-joon")
    await shoot(a_list, "live-two-agents-list")
    assert minji.errors == [] and joon.errors == []


async def test_one_agents_reply_reaches_the_others_view_the_provider_and_its_status(
    server, fake_twilio, two_agents_on_sms
):
    both = await two_agents_on_sms("Is the blue kettle back in stock?")
    minji, joon, sms, conversation = both.minji, both.joon, both.sms, both.conversation
    await joon.page.evaluate("window.__sameDocument = true")

    box = minji.page.locator("form.reply textarea")
    await box.fill("Yes, it arrived this morning.")
    await box.press("Enter")
    await expect(box).to_have_value("")
    sent = joon.page.locator("#timeline li.msg.out", has_text="Yes, it arrived this morning.")
    await expect(sent).to_have_count(1, timeout=5000)
    # Not a reload: the page Joon loaded is the one that shows it.
    assert await joon.page.evaluate("window.__sameDocument === true")

    # Through the connector: the Twilio SDK posted it to the (fake) Twilio API.
    [send] = await fake_twilio.wait_sends(1)
    assert send.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    form = send.form()
    assert (form["To"], form["From"], form["Body"]) == (
        CUSTOMER,
        NUMBER,
        "Yes, it arrived this morning.",
    )
    delivery = sent.locator(".delivery")
    await expect(delivery).to_have_text("queued", timeout=5000)
    async with server.client(minji.agent.token) as client:
        stored = await wait_for_message(
            client,
            conversation["id"],
            int((await sent.get_attribute("data-id")) or 0),
            lambda m: m["external_id"] is not None,
        )
    assert stored["external_id"], stored
    # Twilio's status callback moves it on; Joon sees "delivered" without a reload.
    await twilio_post(
        server,
        f"/webhooks/twilio/{sms.id}/status",
        {"MessageSid": stored["external_id"], "MessageStatus": "delivered", "AccountSid": SID},
    )
    await expect(delivery).to_have_text("delivered", timeout=5000)
    await expect(sent).to_have_attribute("data-status", "delivered")
    await expect(minji.page.locator("#timeline li.msg.out .delivery")).to_have_text(
        "delivered", timeout=5000
    )
    await expect(joon.page.locator("#timeline li.msg.out")).to_have_count(1)
    await shoot(joon.page, "live-reply-seen-by-other-agent")
    assert minji.errors == [] and joon.errors == []


WIDGET_PAGE = """<!doctype html><html lang="en"><head><title>Shop</title></head>
<body><h1>Shop</h1><script src="{src}" data-lang="en" data-user-id="{user}"
data-signature="{signature}" data-email="sarah@example.com" data-name="Sarah Kim" async></script>
</body></html>"""


async def test_an_sms_and_a_signed_in_web_chat_of_one_person_are_one_timeline(
    server,
    db,
    browser,
    fake_twilio,
    shop,
):
    sms = await twilio_inbox(db, fake_twilio.url)
    chat = await make_inbox(
        db, "webchat", "Shop chat", {"allowed_origins": [shop.url], "identity_secret": SECRET}
    )
    backend = await make_inbox(db, "api", "Shop backend")
    agent = await make_agent(
        db, "minji@support.example", name="Minji Park", inboxes=[sms, chat, backend]
    )
    await texts(server, sms, "Did my parcel leave yet?")
    # The only proof that a phone and a web visitor are one person is the shop's word: its
    # backend (integrator token, so verified) sends the signed-in user's contact form with
    # the user id and the phone on their account. A typed email would only be a suggestion.
    await customer_writes(
        server,
        backend,
        "Contact form: please call me about 4411",
        external="shop-user-42",
        phone=CUSTOMER,
        name="Sarah Kim",
    )
    conversation = await only_conversation(server, agent)
    context, desk, errors = await open_conversation(browser, server, agent, conversation["id"])
    await expect(desk.locator("#timeline li.msg")).to_have_count(2)

    signature = hmac.new(SECRET.encode(), b"shop-user-42", hashlib.sha256).hexdigest()
    html = WIDGET_PAGE.format(
        src=f"{server.url}/widget.js?inbox={chat.token}", user="shop-user-42", signature=signature
    )
    shop.route("GET", "/", Answer(200, html.encode(), {"Content-Type": "text/html"}))
    visitor = await browser.new_page()
    await visitor.goto(f"{shop.url}/")
    await visitor.click("button.bubble")
    await visitor.fill("textarea", "I am on your website now, any news?")
    await visitor.press("textarea", "Enter")
    await expect(visitor.locator(".m.in")).to_have_count(1)

    # The agent's open view takes the chat message live, below the SMS, in the same list.
    chatted = message(desk, "I am on your website now")
    await expect(chatted).to_have_count(1, timeout=5000)
    texted = message(desk, "Did my parcel leave yet?")
    await expect(texted.locator(".badge")).to_have_text("sms")
    await expect(chatted.locator(".badge")).to_have_text("webchat")
    await expect(texted.locator(".badge")).to_be_visible()
    assert await desk.locator("#timeline ol.timeline").count() == 1
    order = await desk.locator("#timeline ol.timeline > li.msg .body").all_inner_texts()
    assert order == [
        "Did my parcel leave yet?",
        "Contact form: please call me about 4411",
        "I am on your website now, any news?",
    ]
    assert await desk.locator("#timeline li.msg.other").count() == 0  # one conversation
    # The identity the chat brought shows in the customer panel without a reload.
    await expect(desk.locator("#customer-live")).to_contain_text("sarah@example.com")
    await shoot(desk, "live-sms-then-web-chat-one-timeline")
    async with server.client(agent.token) as client:
        customers = (await client.get("/api/v1/customers")).json()["items"]
        suggestions = (await client.get("/api/v1/merge-suggestions")).json()["items"]
        conversations = (await client.get("/api/v1/conversations")).json()["items"]
    assert len(customers) == 1 and len(conversations) == 1, (customers, conversations)
    kinds = {(i["kind"], i["value"], i["verified"]) for i in customers[0]["identities"]}
    assert {
        ("phone", CUSTOMER, True),
        ("external", "shop-user-42", True),
        ("email", "sarah@example.com", True),
    } <= kinds
    assert suggestions == []
    assert errors == []
    await context.close()


async def test_a_dropped_socket_replays_what_was_missed_exactly_once(
    server,
    db,
    browser,
):
    api = await make_inbox(db, "api", "Shop backend")
    minji = await make_agent(db, "minji@support.example", name="Minji Park", inboxes=[api])
    joon = await make_agent(db, "joon@support.example", name="Joon Lee", inboxes=[api])
    email = "long@example.org"
    await customer_writes(server, api, "First: where is order 4411?", email=email)
    conversation = await only_conversation(server, minji)
    context, page, errors = await open_conversation(
        browser, server, minji, conversation["id"], hold=True
    )
    await customer_writes(server, api, "Second: it was due on Monday", email=email)
    await expect(message(page, "Second: it was due")).to_have_count(1, timeout=5000)
    # Joon watches the list (he never opened the conversation: all four are unread for him).
    list_context, board, list_errors = await open_conversation(
        browser, server, joon, None, hold=True
    )
    card = board.locator(f"#list li[data-conversation='{conversation['id']}']")
    await expect(card.locator(".preview")).to_contain_text("Second: it was due")
    await expect(card.locator(".unread-badge")).to_have_text("2")

    for tab in (page, board):
        await tab.evaluate("window.__dropSockets()")
        await expect(tab.locator("#live-state")).to_have_attribute("data-state", "offline")
        assert await tab.evaluate("window.__openSockets()") == 0
    await customer_writes(server, api, "Third: the tracking page is blank", email=email)
    await customer_writes(server, api, "Fourth: please call me instead", email=email)
    # Offline, nothing can be pushed; half a second shows nothing leaks in another way.
    await page.wait_for_timeout(500)
    await expect(message(page, "Third:")).to_have_count(0)
    await expect(message(page, "Fourth:")).to_have_count(0)
    await expect(card.locator(".preview")).to_contain_text("Second: it was due")
    await expect(card.locator(".unread-badge")).to_have_text("2")
    await shoot(page, "live-offline-before-replay")

    for tab in (page, board):
        await tab.evaluate("window.__releaseSockets()")
        await expect(tab.locator("#live-state")).to_have_attribute(
            "data-state", "live", timeout=15000
        )
    for text in ("First:", "Second:", "Third:", "Fourth:"):
        await expect(message(page, text)).to_have_count(1, timeout=10000)
    await expect(page.locator("#timeline li.msg")).to_have_count(4)
    bodies = await page.locator("#timeline li.msg .body").all_inner_texts()
    assert [b.split(":")[0] for b in bodies] == ["First", "Second", "Third", "Fourth"]
    await expect(card.locator(".preview")).to_contain_text("Fourth: please call me", timeout=10000)
    await expect(card.locator(".unread-badge")).to_have_text("4")
    await expect(
        board.locator(f"#list li[data-conversation='{conversation['id']}']")
    ).to_have_count(1)
    await expect(card.locator(".unread-badge")).to_have_count(1)
    # Each tab came back asking only for what followed the last frame it had: the open
    # conversation had one live message since it loaded, the list none since it loaded.
    opened, listed = [await since_of(tab) for tab in (page, board)]
    assert opened[-1] > opened[0] > 0, opened
    assert listed[-1] == listed[0] > opened[0], listed
    await shoot(page, "live-after-replay")
    assert errors == [] and list_errors == []
    await context.close()
    await list_context.close()
