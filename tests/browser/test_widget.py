"""The chat widget embedded in a shop's page, in Debian's headless Chromium: a visitor writes,
the agent's reply appears in the widget, and a reload keeps the conversation."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_ui import (  # noqa: F401  (fixtures and the chromium skip mark)
    SCREENS,
    _screens_folder,
    browser,
    playwright_api,
    pytestmark,
    sign_in,
)
from tests.connectors.provider_server import Answer, ProviderServer
from tests.connectors.test_webchat import png
from tests.factories import make_agent, make_inbox
from tests.web.support import wait_for_message

PAGE = """<!doctype html><html lang="en"><head><style>*{color:red!important}</style></head>
<body><h1>Shop</h1><script src="{src}" data-lang="en" async></script></body></html>"""


@pytest.fixture
def shop():
    """The shop's own site: another origin (port) than the support server, on loopback."""
    with ProviderServer() as site:
        yield site


async def shop_chat(db, shop):
    """The webchat inbox the shop's site (its only allowed origin) embeds."""
    return await make_inbox(
        db, "webchat", "Shop chat", {"allowed_origins": [shop.url], "identity_secret": "s" * 32}
    )


async def open_shop_widget(page, server, shop, inbox, *, lang: str = "en") -> None:
    """The shop serves its page with `inbox`'s widget (in `lang`); the visitor goes there and
    opens the chat."""
    html = PAGE.replace("{src}", f"{server.url}/widget.js?inbox={inbox.token}").replace(
        'data-lang="en"', f'data-lang="{lang}"'
    )
    shop.route("GET", "/", Answer(200, html.encode(), {"Content-Type": "text/html"}))
    await page.goto(f"{shop.url}/")
    await page.click("button.bubble")


async def test_a_visitor_chats_with_an_agent_and_keeps_the_conversation(server, db, browser, shop):
    inbox = await shop_chat(db, shop)
    agent = await make_agent(db, inboxes=[inbox])
    expect = playwright_api.expect
    page = await browser.new_page()
    await open_shop_widget(page, server, shop, inbox)
    await page.fill("textarea", "Is the blue kettle in stock?")
    await page.press("textarea", "Enter")
    await expect(page.locator(".m.in")).to_have_count(1)
    async with server.client(agent.token) as client:
        [conversation] = (await client.get("/api/v1/conversations")).json()["items"]
        await client.post(f"/api/v1/conversations/{conversation['id']}/typing")
        await expect(page.get_by_text("Jamie Agent is typing…")).to_be_visible()
        response = await client.post(
            f"/api/v1/conversations/{conversation['id']}/messages", json={"text": "Yes, 3 left!"}
        )
        assert response.status_code == 201
        await expect(page.locator(".m.out")).to_contain_text("Yes, 3 left!")
        # The open panel showed the reply: the agent sees it read.
        read = await wait_for_message(
            client, conversation["id"], response.json()["id"], lambda m: m["status"] == "read"
        )
        assert read["status"] == "read"
    # The host page's CSS does not reach inside the widget.
    colour = await page.locator(".m.out").evaluate("e => getComputedStyle(e).color")
    assert colour != "rgb(255, 0, 0)"
    await page.reload()
    await page.click("button.bubble")
    await expect(page.locator(".m")).to_have_count(2)
    await expect(page.locator(".m.in")).to_contain_text("Is the blue kettle in stock?")


async def test_the_faq_bot_answers_first_and_hands_over_on_request(server, db, browser, shop):
    inbox = await shop_chat(db, shop)
    admin = await make_agent(db, admin=True)
    async with server.client(admin.token) as client:
        entry = {
            "question": "How much does shipping cost?",
            "answer": "Shipping is 3,000 KRW.",
            "language": "en",
        }
        assert (await client.post("/api/v1/faq", json=entry)).status_code == 201
    expect = playwright_api.expect
    page = await browser.new_page()
    await open_shop_widget(page, server, shop, inbox)
    await page.fill("textarea", "How much does shipping cost?")
    await page.press("textarea", "Enter")
    # The bot matches, the outbox sends, the bus carries it to the widget: on a loaded 2-core
    # machine that chain has taken over 5 s.
    await expect(page.locator(".m.out").first).to_contain_text(
        "Shipping is 3,000 KRW.", timeout=15000
    )
    await page.click("button.human")
    await expect(page.locator(".m.out")).to_have_count(2, timeout=15000)
    await expect(page.locator(".m.out").last).to_contain_text("connecting you with a person")
    await expect(page.locator("button.human")).to_be_hidden()


async def test_a_visitors_image_and_typing_reach_the_agent_and_the_agents_face_the_widget(
    server, db, browser, shop
):
    inbox = await shop_chat(db, shop)
    agent = await make_agent(db, inboxes=[inbox], name="Minji Park")
    expect = playwright_api.expect
    visitor = await browser.new_page(viewport={"width": 900, "height": 700})
    await open_shop_widget(visitor, server, shop, inbox)
    await visitor.fill("textarea", "The kettle arrived like this")
    await visitor.press("textarea", "Enter")
    await expect(visitor.locator(".m.in")).to_have_count(1)
    async with server.client(agent.token) as client:
        [conversation] = (await client.get("/api/v1/conversations")).json()["items"]

    desk = await browser.new_page(viewport={"width": 1200, "height": 800})
    await sign_in(desk, server.url, agent.email)
    await desk.goto(f"{server.url}/conversations/{conversation['id']}")
    await expect(desk.locator("#live-state")).to_have_attribute("data-state", "live")

    # Typing in the widget shows on the agent's conversation, and goes when the file arrives.
    await visitor.type("textarea", "look")
    typing = desk.locator("#customer-typing")
    await expect(typing).to_be_visible()
    await expect(typing).to_have_text("The customer is typing…")  # they gave no name
    await desk.screenshot(path=str(SCREENS / "agent-visitor-typing.png"))
    await visitor.set_input_files(
        "input[type=file]",
        files=[
            {"name": "kettle.png", "mimeType": "image/png", "buffer": png(160, 120, (234, 88, 12))}
        ],
    )
    thumb = visitor.locator(".m.in img.thumb")
    await expect(thumb).to_have_count(1)
    await expect(thumb).to_have_attribute("src", re.compile(r"^blob:"))
    assert await thumb.evaluate("img => img.decode().then(() => img.naturalWidth)") == 160
    await expect(typing).to_be_hidden()
    agent_thumb = desk.locator("#timeline img.thumb")
    await expect(agent_thumb).to_have_count(1)
    assert await agent_thumb.evaluate("img => img.decode().then(() => img.naturalWidth)") == 160

    # The agent's reply carries their name and initials (no avatar set) into the open widget.
    async with server.client(agent.token) as client:
        await client.post(f"/api/v1/conversations/{conversation['id']}/typing")
        await expect(visitor.get_by_text("Minji Park is typing…")).to_be_visible()
        response = await client.post(
            f"/api/v1/conversations/{conversation['id']}/messages",
            json={"text": "Sorry! A new one ships today."},
        )
        assert response.status_code == 201
    reply = visitor.locator(".m.out")
    await expect(reply).to_contain_text("Sorry! A new one ships today.")
    await expect(reply.locator(".who")).to_contain_text("Minji Park")
    await expect(reply.locator(".av")).to_have_text("MP")
    await visitor.screenshot(path=str(SCREENS / "widget-attachment.png"))
    await desk.screenshot(path=str(SCREENS / "agent-widget-image.png"), full_page=True)


async def test_the_widget_shows_an_agents_files_as_links_and_thumbnails(server, db, browser, shop):
    inbox = await shop_chat(db, shop)
    agent = await make_agent(db, inboxes=[inbox])
    expect = playwright_api.expect
    page = await browser.new_page()
    await open_shop_widget(page, server, shop, inbox)
    await page.fill("textarea", "Can I get the manual?")
    await page.press("textarea", "Enter")
    await expect(page.locator(".m.in")).to_have_count(1)
    async with server.client(agent.token) as client:
        [conversation] = (await client.get("/api/v1/conversations")).json()["items"]
        response = await client.post(
            f"/api/v1/conversations/{conversation['id']}/messages",
            data={"text": "Here it is"},
            files=[
                ("files", ("manual.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")),
                ("files", ("diagram.png", png(40, 30), "image/png")),
            ],
        )
        assert response.status_code == 201, response.text
    reply = page.locator(".m.out")
    await expect(reply).to_contain_text("Here it is")
    await expect(reply.locator("a.file")).to_contain_text("manual.pdf")
    await expect(reply.locator("img.thumb")).to_have_attribute("src", re.compile(r"^blob:"))
    async with page.expect_download() as download:
        await reply.locator("a.file").click()
    assert (await download.value).suggested_filename == "manual.pdf"


async def test_a_refused_file_is_explained_in_korean_and_stores_nothing(server, db, browser, shop):
    inbox = await shop_chat(db, shop)
    agent = await make_agent(db, inboxes=[inbox])
    expect = playwright_api.expect
    page = await browser.new_page(viewport={"width": 900, "height": 700})
    await open_shop_widget(page, server, shop, inbox, lang="ko")
    await page.set_input_files(
        "input[type=file]",
        files=[{"name": "setup.exe", "mimeType": "image/png", "buffer": b"MZ\x90\x00" * 64}],
    )
    await expect(
        page.get_by_text("이미지, PDF, 오피스 문서, 텍스트 파일만 보낼 수 있습니다.")
    ).to_be_visible()
    await expect(page.locator("button.attach")).to_have_attribute("aria-label", "파일 첨부")
    await page.screenshot(path=str(SCREENS / "widget-refused-ko.png"))
    async with server.client(agent.token) as client:
        assert (await client.get("/api/v1/conversations")).json()["items"] == []
