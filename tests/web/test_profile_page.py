"""An agent's own profile page: the picture the chat widget shows, and changing their own
password (which ends their other sessions and revokes their API token)."""

from tests.factories import make_agent
from tests.web.test_pages import PASSWORD, csrf_from, login

NEW_PASSWORD = "a much longer passphrase"


async def post_form(client, path, fields):
    page = await client.get("/profile")
    return await client.post(path, data={**fields, "_csrf_token": csrf_from(page.text)})


def change(current=PASSWORD, new=NEW_PASSWORD, repeat=None):
    return {
        "current_password": current,
        "new_password": new,
        "repeat_password": new if repeat is None else repeat,
    }


async def test_an_agent_sets_and_clears_their_picture(server, db):
    agent = await make_agent(db, name="Minji Park")
    async with server.client() as client:
        await login(client, agent.email)
        saved = await post_form(
            client, "/profile/avatar", {"avatar_url": "https://cdn.example/m.png"}
        )
        page = await client.get("/profile")
        refused = await post_form(client, "/profile/avatar", {"avatar_url": "javascript:alert(1)"})
        kept = await client.get("/profile")
        cleared = await post_form(client, "/profile/avatar", {"avatar_url": ""})
        after = await client.get("/profile")
    assert saved.status_code == 303 and saved.headers["location"] == "/profile?saved=avatar"
    assert 'value="https://cdn.example/m.png"' in page.text
    assert "Minji Park" in page.text and agent.email in page.text
    assert refused.status_code == 400
    assert "avatar_url must be an http(s) URL" in refused.text
    assert 'value="https://cdn.example/m.png"' in kept.text  # nothing stored by the refusal
    assert cleared.status_code == 303
    assert 'name="avatar_url" value=""' in after.text


async def test_changing_the_password_keeps_this_browser_and_ends_the_rest(server, db):
    agent = await make_agent(db)
    async with server.client() as other, server.client() as client:
        await login(other, agent.email)
        assert (await other.get("/")).status_code == 200
        await login(client, agent.email)
        changed = await post_form(client, "/profile/password", change())
        still_here = await client.get("/profile?saved=password")
        signed_out = await other.get("/", follow_redirects=False)
    async with server.client(agent.token) as api:
        old_token = await api.get("/api/v1/conversations")
    async with server.client() as fresh:
        old_login = await login(fresh, agent.email)
        new_login = await login(fresh, agent.email, NEW_PASSWORD)
    assert changed.status_code == 303
    assert still_here.status_code == 200 and "Your password is changed." in still_here.text
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")
    assert old_token.status_code == 401
    assert old_login.status_code == 401
    assert new_login.status_code == 303


async def test_a_wrong_or_mismatched_password_changes_nothing(server, db):
    agent = await make_agent(db)
    async with server.client() as client:
        await login(client, agent.email)
        wrong = await post_form(client, "/profile/password", change(current="not my password"))
        mismatch = await post_form(client, "/profile/password", change(repeat="something else"))
        short = await post_form(client, "/profile/password", change(new="short"))
        still_signed_in = await client.get("/profile")
    async with server.client() as fresh:
        old_login = await login(fresh, agent.email)
    assert wrong.status_code == 400 and "the current password is wrong" in wrong.text
    assert mismatch.status_code == 400 and "the new passwords do not match" in mismatch.text
    assert short.status_code == 400 and "at least 8 characters" in short.text
    assert still_signed_in.status_code == 200
    assert old_login.status_code == 303  # the old password still works


async def test_guessing_the_current_password_is_throttled(server, db):
    agent = await make_agent(db)
    async with server.client() as client:
        await login(client, agent.email)
        answers = [
            (await post_form(client, "/profile/password", change(current=f"guess {n}"))).status_code
            for n in range(11)
        ]
        right_but_late = await post_form(client, "/profile/password", change())
    assert answers[:10] == [400] * 10
    assert answers[10] == 429
    assert right_but_late.status_code == 429  # not even the right one, until the wait is over


async def test_the_profile_page_is_in_korean_and_needs_a_session(server, db):
    agent = await make_agent(db)
    async with server.client() as anonymous:
        away = await anonymous.get("/profile", follow_redirects=False)
    async with server.client() as client:
        await login(client, agent.email)
        await post_form(client, "/language", {"language": "ko", "next": "/profile"})
        wrong = await post_form(client, "/profile/password", change(current="not my password"))
    assert away.status_code == 303 and away.headers["location"].startswith("/login")
    assert "비밀번호 변경" in wrong.text
    assert "현재 비밀번호가 틀렸습니다" in wrong.text
