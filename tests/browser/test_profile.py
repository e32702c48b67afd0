"""The agent's own profile in headless Chromium: reached from the header, the picture saved and
the password changed without being signed out. Screenshots: $INBOX_SCREENSHOTS."""

from __future__ import annotations

from tests.browser.test_ui import PASSWORD, agent_page, browser, playwright_api, shoot  # noqa: F401
from tests.factories import make_agent


async def test_an_agent_changes_their_picture_and_password(server, db, browser):
    agent = await make_agent(db, name="Minji Park")
    async with agent_page(
        browser, server, agent.email, viewport={"width": 1100, "height": 900}
    ) as page:
        expect = playwright_api.expect
        await page.click("header .profile-link")
        await expect(page.locator("h1")).to_have_text("Your profile")

        await page.fill("input[name=avatar_url]", "https://cdn.example/minji.png")
        await page.click("#avatar-form button[type=submit]")
        await expect(page.locator(".notice")).to_have_text("Your picture is saved.")
        await expect(page.locator("input[name=avatar_url]")).to_have_value(
            "https://cdn.example/minji.png"
        )

        await page.fill("input[name=current_password]", "not my password")
        await page.fill("input[name=new_password]", "a much longer passphrase")
        await page.fill("input[name=repeat_password]", "a much longer passphrase")
        await page.click("#password-form button[type=submit]")
        await expect(page.locator("#password-form .error")).to_have_text(
            "the current password is wrong"
        )
        await shoot(page, "profile-wrong-password")

        await page.fill("input[name=current_password]", PASSWORD)
        await page.fill("input[name=new_password]", "a much longer passphrase")
        await page.fill("input[name=repeat_password]", "a much longer passphrase")
        await page.click("#password-form button[type=submit]")
        await expect(page.locator(".notice")).to_have_text("Your password is changed.")
        await page.goto(f"{server.url}/")  # still signed in: the session was renewed
        await expect(page.locator("header .profile-link")).to_be_visible()
        await shoot(page, "profile-list-after-password-change")

        await page.select_option("header select[name=language]", "ko")
        await page.click("header form.language button")
        await page.goto(f"{server.url}/profile")
        await expect(page.locator("h1")).to_have_text("내 프로필")
        await shoot(page, "profile-korean")
