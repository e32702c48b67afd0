"""Hostile email HTML in the agent UI, in Debian's headless chromium: each mail arrives through
the email webhook, an agent opens the conversation and unfolds the whole email. Nothing may run
(no dialog, no marker set, nothing logged by the payload), the page may not navigate, and nothing
is fetched from anywhere but the app: a local listener standing in for a tracking server must
see no request (the UI holds remote images back and offers no way to load them)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from tests.browser.test_ui import CHROMIUM, SCREENS, playwright_api, sign_in
from tests.connectors.email_peers import mime, post_mime
from tests.connectors.provider_server import ProviderServer
from tests.factories import make_agent, make_inbox

pytestmark = pytest.mark.skipif(playwright_api is None, reason="playwright is not installed")

# {L} is the listener's URL. Every payload that runs sets window.pwned, alerts or logs "pwned".
PAYLOADS = {
    "script": "<script>window.pwned=1;alert('pwned')</script>",
    "img-onerror": "<img src=x onerror=\"window.pwned=2;alert('pwned')\">",
    "body-onload": '<body onload="window.pwned=3">hi</body>',
    "input-autofocus": '<input autofocus onfocus="window.pwned=4">',
    "details-ontoggle": '<details open ontoggle="window.pwned=5"><summary>s</summary></details>',
    "svg-onload": '<svg onload="window.pwned=6"><script>window.pwned=6</script></svg>',
    "svg-animate-href": "<svg><a><animate attributeName=href values=\"javascript:alert('pwned')\"/>"
    "<text y=20>click</text></a></svg>",
    "math-mxss": '<math><mtext><table><mglyph><style><img src=x onerror="window.pwned=7">'
    "</style></mglyph></table></mtext></math>",
    "noscript-mxss": '<noscript><p title="</noscript><img src=x onerror=window.pwned=8>">',
    "javascript-urls": '<a href="javascript:window.pwned=9">a</a>'
    '<a href="JaVaScRiPt:alert(\'pwned\')">b</a><a href="java&#x09;script:alert(1)">c</a>'
    '<a href="&#106;avascript:alert(1)">d</a><a href="javascript&colon;alert(1)">e</a>',
    "data-urls": "<a href=\"data:text/html,<script>alert('pwned')</script>\">x</a>"
    "<img src=\"data:image/svg+xml,<svg onload=alert('pwned')>\">",
    "iframe-srcdoc": '<iframe srcdoc="<script>parent.pwned=10</script>"></iframe>'
    '<iframe src="{L}/frame"></iframe>',
    "object-embed": '<object data="{L}/object"></object><embed src="{L}/embed">',
    "base-href": '<base href="{L}/base/"><a href="relative">r</a><img src="pixel.gif">',
    "meta-refresh": '<meta http-equiv="refresh" content="0;url={L}/refresh">',
    "css": "<div style=\"background:url({L}/css-bg);width:expression(alert('pwned'))\">x</div>"
    "<style>@import url({L}/css-import); body {{ background: url({L}/css-body) }}</style>"
    '<link rel=stylesheet href="{L}/style.css">',
    "form-action": '<form action="{L}/form"><input name=q value=1>'
    "<button formaction=\"javascript:alert('pwned')\">go</button></form>",
    "remote-images": '<img src="{L}/pixel.gif">'
    '<img src="//127.0.0.1:{port}/proto-relative.gif">'
    '<img srcset="{L}/srcset.gif 1x"><picture><source srcset="{L}/source.gif"></picture>'
    '<video poster="{L}/poster.jpg"></video><table background="{L}/table.gif"><tr><td>t'
    "</td></tr></table>",
    "nested-encoding": "<img src=x onerror=&#x61;&#x6c;&#x65;&#x72;&#x74;(1)>"
    "&lt;script&gt;window.pwned=11&lt;/script&gt;"
    "<scr<script>ipt>window.pwned=12</scr</script>ipt>",
    "comment-and-cdata": "<!--><img src=x onerror=window.pwned=13>-->"
    "<![CDATA[><img src=x onerror=window.pwned=14>]]>",
    "console-log": "<img src=x onerror=\"console.log('pwned')\">",
}
FORBIDDEN_ELEMENTS = (
    "script, iframe, object, embed, form, base, meta, link, style, svg, math, "
    "input, button, video, picture, source"
)


@pytest.fixture
async def browser():
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        await chromium.close()


@pytest.mark.parametrize("name", list(PAYLOADS))
async def test_hostile_email_html_neither_runs_nor_fetches_nor_navigates(server, db, browser, name):
    with ProviderServer() as tracker:
        html = PAYLOADS[name].format(L=tracker.url, port=tracker.port)
        inbox = await make_inbox(db, "email", config={"address": "support@shop.example"})
        agent = await make_agent(db, inboxes=[inbox])
        response = await post_mime(
            server,
            inbox,
            mime(
                subject=f"html {name}",
                body="see the HTML part",
                html=f"<p>hello</p>{html}",
                message_id=f"<{name}@customer.example>",
            ),
        )
        assert response.status_code == 201, response.text
        conversation = response.json()["conversation_id"]

        context = await browser.new_context()
        page = await context.new_page()
        dialogs, logs, foreign, navigations, images = [], [], [], [], []
        page.on(
            "dialog",
            lambda dialog: (
                dialogs.append(dialog.message),
                asyncio.ensure_future(dialog.dismiss()),
            ),
        )
        page.on("console", lambda message: logs.append(message.text))
        page.on(
            "request",
            lambda request: (
                None if request.url.startswith(server.url) else foreign.append(request.url)
            ),
        )
        # Even on the app itself, the mail may not make the agent's browser request anything.
        page.on(
            "request",
            lambda request: (
                images.append(request.url) if request.resource_type == "image" else None
            ),
        )
        await sign_in(page, server.url, agent.email)
        url = f"{server.url}/conversations/{conversation}"
        await page.goto(url)
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
        await page.click("details.full summary")
        shown = page.locator(".email-html")
        await playwright_api.expect(shown).to_contain_text("hello")
        await page.wait_for_timeout(500)  # time for a refresh, a late onerror or a fetch
        SCREENS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENS / f"email-html-{name}.png"), full_page=True)

        assert dialogs == []
        assert not [line for line in logs if "pwned" in line]
        assert await page.evaluate("window.pwned === undefined")
        assert navigations == [] and page.url == url
        assert foreign == []
        assert not [u for u in images if not urlsplit(u).path.startswith("/static/")], images
        assert tracker.requests == []
        # The sanitiser, not only the CSP, removed the dangerous parts.
        assert await shown.locator(FORBIDDEN_ELEMENTS).count() == 0
        attributes = await shown.evaluate("""root => [...root.querySelectorAll('*')].flatMap(
            el => [...el.attributes].map(a => [a.name, a.value]))""")
        assert not [
            a
            for a in attributes
            if a[0].startswith("on")
            or a[0] in ("style", "srcset", "background", "formaction", "action", "srcdoc", "poster")
        ]
        for attribute, value in attributes:
            if attribute in ("href", "src"):  # relative links stay on the app
                assert urlsplit(value).scheme in ("", "http", "https", "mailto", "cid"), value
        await context.close()
