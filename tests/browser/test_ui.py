"""The agent UI in a real headless Chromium (Debian's package): login, a conversation, a reply,
and a simulated customer message arriving live over the websocket. Screenshots go to
$INBOX_SCREENSHOTS (default /tmp/screens) for a reviewer to look at."""

from __future__ import annotations

import os
import shutil
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from inbox.ingest import ingest
from tests.factories import inbound, make_agent, make_inbox

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed (pip install -e '.[test]')"
)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"Debian's chromium is missing at {CHROMIUM} (scripts/install-test-tools installs it)",
)
SCREENS = Path(os.environ.get("INBOX_SCREENSHOTS", "/tmp/screens"))
PASSWORD = "correct horse battery"
TWILIO = {
    "phone_number": "+14155550100",
    "account_sid": "AC" + "1" * 32,
    "auth_token": "twilio-secret",
}


@pytest.fixture
async def browser():
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        await chromium.close()


@pytest.fixture(autouse=True, scope="module")
def _screens_folder():
    SCREENS.mkdir(parents=True, exist_ok=True)


async def shoot(page, name: str) -> None:
    await page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


async def sign_in(page, url: str, email: str) -> None:
    await page.goto(f"{url}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{url}/")


async def open_agent_page(
    browser,
    server,
    email: str,
    path: str | None = None,
    *,
    init_script: str | None = None,
    **context_options,
):
    """A page in a fresh browser context (`context_options` go to `new_context`: viewport,
    timezone_id, locale...; `init_script` runs before every page script), signed in as `email`
    and, given a `path`, gone to it. Returns the context, the page and the list its uncaught
    script errors are collected into; the caller closes the context (see `agent_page`)."""
    context = await browser.new_context(**context_options)
    try:
        if init_script is not None:
            await context.add_init_script(init_script)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await sign_in(page, server.url, email)
        if path is not None:
            await page.goto(f"{server.url}{path}")
    except BaseException:
        await context.close()
        raise
    return context, page, errors


@asynccontextmanager
async def agent_page(browser, server, email: str, path: str | None = None, **options):
    """`open_agent_page` for one block: yields the page; on leaving, asserts the page raised no
    uncaught script error, and closes the context either way."""
    context, page, errors = await open_agent_page(browser, server, email, path, **options)
    try:
        yield page
        assert errors == []
    finally:
        await context.close()


async def test_login_conversation_reply_and_a_live_simulated_message(server, db, settings, browser):
    sms = await make_inbox(
        db,
        "twilio",
        "SMS +1 415 555 0100",
        {**TWILIO, "api_base_url": f"{server.url}/simulator/provider/twilio"},
    )
    api = await make_inbox(db, "api", "Shop backend")
    admin = await make_agent(db, "ada@support.example", name="Ada", admin=True)
    first = await ingest(
        db,
        inbound(api, "Order 4411 has not shipped", phone="+14155550142", name="Sarah Kim"),
        settings,
    )
    await ingest(
        db, inbound(sms, "Any news on 4411?", phone="+14155550142", channel="sms"), settings
    )
    expect = playwright_api.expect
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    agent_tab = await context.new_page()
    await sign_in(agent_tab, server.url, admin.email)
    await expect(agent_tab.locator("#list")).to_contain_text("Sarah Kim")
    await shoot(agent_tab, "1-conversation-list")

    await agent_tab.goto(f"{server.url}/conversations/{first.conversation_id}")
    timeline = agent_tab.locator("#timeline")
    await expect(timeline).to_contain_text("Order 4411 has not shipped")
    await expect(timeline).to_contain_text("Any news on 4411?")
    await expect(agent_tab.locator("#live-state")).to_have_attribute("data-state", "live")

    await agent_tab.fill("form.reply textarea", "It left the warehouse today.")
    # The last channel used is SMS, so the box counts segments as the agent types.
    await expect(agent_tab.locator("#sms-count")).to_contain_text("1 SMS segment")
    await shoot(agent_tab, "2-reply-box")
    await agent_tab.click("form.reply button[type=submit]")
    await expect(timeline).to_contain_text("It left the warehouse today.")

    customer_tab = await context.new_page()
    await customer_tab.goto(f"{server.url}/simulator")
    await customer_tab.select_option("select[name=channel]", "sms")
    await customer_tab.select_option("select[name=inbox_id]", str(sms.id))
    await customer_tab.fill("input[name=sender]", "+1 415 555 0142")
    await customer_tab.fill("textarea[name=text]", "Great, thanks!")
    await customer_tab.click("form.sim-form button[type=submit]")
    await expect(customer_tab.locator("#sim-result")).to_contain_text("200")
    # The open conversation shows it without a reload: the websocket told the tab.
    await expect(timeline).to_contain_text("Great, thanks!", timeout=3000)
    await shoot(agent_tab, "3-conversation-live")
    await expect(customer_tab.locator("#sim-sent")).to_contain_text("It left the warehouse today.")
    # A later reply reaches the customer's devices on the open simulator page without a reload.
    await agent_tab.fill("form.reply textarea", "Tracking number: 1Z999")
    await agent_tab.click("form.reply button[type=submit]")
    await expect(customer_tab.locator("#sim-sent")).to_contain_text("Tracking number: 1Z999")
    await shoot(customer_tab, "4-simulator")
    await context.close()


async def test_script_in_a_message_or_name_is_text_and_other_inboxes_are_404(
    server, db, settings, browser
):
    api = await make_inbox(db, "api")
    hidden = await make_inbox(db, "api", "Another team")
    agent = await make_agent(db, "jo@support.example", inboxes=[api])
    payload = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    mine = await ingest(
        db, inbound(api, f"Hi {payload}", email="eve@example.org", name=f"Eve {payload}"), settings
    )
    theirs = await ingest(db, inbound(hidden, "Secret", email="other@example.org"), settings)
    context = await browser.new_context()
    page = await context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await sign_in(page, server.url, agent.email)
    await page.goto(f"{server.url}/conversations/{mine.conversation_id}")
    await playwright_api.expect(page.locator("#timeline")).to_contain_text(payload)
    await playwright_api.expect(page.locator("h1")).to_contain_text(f"Eve {payload}")
    assert await page.evaluate("window.pwned === undefined") and dialogs == []
    assert await page.locator("#timeline img, #timeline script").count() == 0
    other = await page.goto(f"{server.url}/conversations/{theirs.conversation_id}")
    assert other.status == 404
    await context.close()
