"""Script payloads where agents write them, in Debian's headless Chromium: a canned reply's title
and body in the `/` picker and the reply box, and an agent's name and reply in the visitor's
widget, all show as text. A `dialog` listener (checked live at the end) proves nothing ran, and
no element the payload spells out exists in the page."""

from __future__ import annotations

from tests.browser.test_ui import browser, playwright_api, pytestmark, shoot, sign_in  # noqa: F401
from tests.browser.test_widget import SCREENS, open_shop_widget, shop, shop_chat  # noqa: F401
from tests.factories import make_agent, make_inbox
from tests.web.support import customer_writes

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = '<script>alert("canned")</script>'
SVG = '"><svg onload=alert(3)>'
# Elements only the payloads would create: the pages themselves hold none of these.
INJECTED = "img[src=x], script:not([src]):not([type]), svg[onload], [onerror], [onload]"


def watch_dialogs(page) -> list[str]:
    """Every alert/confirm/prompt the page opens, dismissed so the page goes on."""
    seen: list[str] = []

    async def opened(dialog) -> None:
        seen.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", opened)
    return seen


async def assert_nothing_ran(page, seen: list[str]) -> None:
    """No dialog so far, none of the payloads' elements, and the listener does hear dialogs."""
    await page.wait_for_timeout(300)  # an onerror fires once the image fails to load
    assert seen == []
    assert await page.locator(INJECTED).count() == 0
    await page.evaluate("() => alert('probe')")
    assert seen == ["probe"]


async def test_a_canned_reply_with_script_payloads_is_inserted_as_text(
    server,
    db,
    browser,
):
    inbox = await make_inbox(db, "api", "Shop")
    admin = await make_agent(db, "ada@support.example", name="Ada", admin=True)
    jo = await make_agent(db, "jo@support.example", name="Jo Park", inboxes=[inbox])
    sent = await customer_writes(
        server, inbox, "Hello?", name=f"Eve {IMG}", email="eve@example.com"
    )
    title = f"Oops {SCRIPT}{IMG}"
    body = f"Hi {{{{customer.name}}}} {SCRIPT} {SVG} {IMG}"
    async with server.client(admin.token) as api:
        created = await api.post(
            "/api/v1/canned-replies",
            json={"shortcut": "xss", "title": title, "body": body, "shared": True},
        )
        assert created.status_code == 201, created.text
    filled = f"Hi Eve {IMG} {SCRIPT} {SVG} {IMG}"

    expect = playwright_api.expect
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    seen = watch_dialogs(page)
    await sign_in(page, server.url, jo.email)
    await page.goto(f"{server.url}/conversations/{sent['conversation_id']}")
    box = page.locator("form.reply textarea[name=text]")
    picker = page.locator("#canned-picker")
    await box.click()
    await box.type("/xss")
    item = picker.locator(".canned-item")
    await expect(item).to_have_count(1)
    await expect(item).to_contain_text(title)
    await expect(item).to_contain_text(filled)
    assert await picker.locator("img, script, svg").count() == 0
    await shoot(page, "xss-canned-picker")
    await page.keyboard.press("Enter")
    await expect(picker).to_be_hidden()
    await expect(box).to_have_value(filled)

    await page.click("form.reply button[type=submit]")
    timeline = page.locator("#timeline")
    await expect(timeline).to_contain_text(filled, timeout=15000)
    await shoot(page, "xss-canned-sent")
    await assert_nothing_ran(page, seen)
    await context.close()


async def test_an_agents_name_and_reply_with_script_payloads_show_as_text_in_the_widget(
    server,
    db,
    browser,
    shop,
):
    inbox = await shop_chat(db, shop)
    name = f"{IMG}<script>alert(2)</script>"
    agent = await make_agent(db, inboxes=[inbox], name=name)
    expect = playwright_api.expect
    page = await browser.new_page(viewport={"width": 900, "height": 700})
    seen = watch_dialogs(page)
    await open_shop_widget(page, server, shop, inbox)
    await page.fill("textarea", "Is this safe?")
    await page.press("textarea", "Enter")
    await expect(page.locator(".m.in")).to_have_count(1)

    text = f"Sure {SCRIPT} {IMG} {SVG}"
    async with server.client(agent.token) as client:
        [conversation] = (await client.get("/api/v1/conversations")).json()["items"]
        await client.post(f"/api/v1/conversations/{conversation['id']}/typing")
        await expect(page.get_by_text(f"{name} is typing…")).to_be_visible(timeout=15000)
        response = await client.post(
            f"/api/v1/conversations/{conversation['id']}/messages", json={"text": text}
        )
        assert response.status_code == 201, response.text
    reply = page.locator(".m.out")
    # Outbox, bus and socket on a loaded 2-core machine: give the push time.
    await expect(reply).to_contain_text(text, timeout=15000)
    await expect(reply.locator(".who")).to_contain_text(name)
    await page.screenshot(path=str(SCREENS / "xss-widget.png"))
    await assert_nothing_ran(page, seen)
    # After a reload the history comes from the server's JSON, rendered the same way.
    await page.reload()
    await page.click("button.bubble")
    await expect(page.locator(".m.out")).to_contain_text(text)
    await expect(page.locator(".m.out .who")).to_contain_text(name)
    seen.clear()
    await assert_nothing_ran(page, seen)
