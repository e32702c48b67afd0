"""The agent UI speaks English or Korean: the browser's choice before login, the agent's after."""

import re
from pathlib import Path

from jinja2 import Environment

from tests.factories import make_agent
from tests.web.test_pages import csrf_from, login
from web.ui.language import catalog

TEMPLATES = Path(__file__).parents[2] / "web" / "ui" / "templates"


async def test_the_login_page_follows_accept_language(server):
    async with server.client() as client:
        korean = await client.get("/login", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"})
        english = await client.get("/login", headers={"Accept-Language": "fr, en;q=0.5"})
        weighted = await client.get("/login", headers={"Accept-Language": "en;q=0.3, ko;q=0.7"})
    assert '<html lang="ko">' in korean.text and "로그인" in korean.text
    assert '<html lang="en">' in english.text and "Log in" in english.text
    assert "비밀번호" in weighted.text


async def test_a_failed_login_is_explained_in_the_browsers_language(server, db):
    agent = await make_agent(db)
    async with server.client() as client:
        page = await client.get("/login", headers={"Accept-Language": "ko"})
        response = await client.post(
            "/login",
            headers={"Accept-Language": "ko"},
            data={
                "email": agent.email,
                "password": "wrong password!",
                "_csrf_token": csrf_from(page.text),
            },
        )
    assert response.status_code == 401
    assert "비밀번호가 올바르지 않습니다" in response.text


async def test_an_agent_chooses_korean_and_keeps_it_in_any_browser(server, db):
    agent = await make_agent(db)
    async with server.client() as client:
        await login(client, agent.email)
        page = await client.get("/")
        assert "Conversations" in page.text
        chosen = await client.post(
            "/language", data={"language": "ko", "next": "/", "_csrf_token": csrf_from(page.text)}
        )
        assert chosen.status_code == 303 and chosen.headers["location"] == "/"
        korean = await client.get("/", headers={"Accept-Language": "en"})
    assert '<html lang="ko">' in korean.text and "대화가 없습니다" in korean.text
    async with server.client() as other_browser:
        await login(other_browser, agent.email)
        again = await other_browser.get("/")
    assert "로그아웃" in again.text


async def test_a_new_agent_follows_the_browser_until_choosing_english(server, db):
    agent = await make_agent(db)
    korean_browser = {"Accept-Language": "ko-KR,ko;q=0.9"}
    async with server.client() as client:
        await login(client, agent.email)
        before = await client.get("/", headers=korean_browser)
        await client.post(
            "/language",
            data={"language": "en", "next": "/", "_csrf_token": csrf_from(before.text)},
        )
        after = await client.get("/", headers=korean_browser)
    # Signed in, a new agent keeps the login page's language: the browser's.
    assert '<html lang="ko">' in before.text
    # Once English is chosen, it sticks even in a Korean browser.
    assert '<html lang="en">' in after.text and "Conversations" in after.text


async def test_an_unknown_language_is_refused_and_changes_nothing(server, db):
    agent = await make_agent(db)
    async with server.client() as client:
        await login(client, agent.email)
        page = await client.get("/")
        refused = await client.post(
            "/language", data={"language": "xx", "_csrf_token": csrf_from(page.text)}
        )
        after = await client.get("/")
    assert refused.status_code == 400
    assert '<html lang="en">' in after.text


def test_every_template_string_has_a_korean_translation():
    environment = Environment(extensions=["jinja2.ext.i18n"])
    korean = catalog("ko")
    missing = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for _, _, message in environment.extract_translations(path.read_text("utf-8")):
            for text in message if isinstance(message, tuple) else (message,):
                if text and text not in korean:
                    missing.append(f"{path.relative_to(TEMPLATES)}: {text!r}")
    assert not missing, "\n".join(missing)


def test_every_translation_keeps_the_placeholders_of_its_english_source():
    # A Korean string filled with the English string's values must find each one (a missing
    # or renamed %(name)s would turn a refusal into a 500).
    placeholder = re.compile(r"%\((\w+)\)s")
    broken = [
        english
        for english, korean in catalog("ko").items()
        if sorted(placeholder.findall(english)) != sorted(placeholder.findall(korean))
    ]
    assert broken == []
