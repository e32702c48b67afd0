"""Domain errors reach a Korean agent in Korean (JSON for the page's scripts, admin forms);
the REST API keeps answering in English, and a message carrying user input stays escaped."""

import pytest

from inbox.ingest import ingest
from inbox.models import LABEL_MAX
from tests.factories import inbound, make_agent, make_inbox
from tests.web.test_pages import csrf_from, login

JSON = {"Accept": "application/json"}
KOREAN = {"Accept-Language": "ko"}
PAST = "2020-01-01T09:00"


async def choose_korean(client) -> str:
    """Switch the signed-in agent to Korean, as the header's picker does; a fresh CSRF token."""
    token = csrf_from((await client.get("/")).text)
    await client.post("/language", data={"language": "ko", "_csrf_token": token})
    return token


@pytest.fixture
async def korean_agent(server, db, settings):
    """An agent who chose Korean, and a conversation of their inbox."""
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    result = await ingest(db, inbound(api, "hello", email="k@example.org"), settings)
    async with server.client() as client:
        await login(client, agent.email)
        await choose_korean(client)
    return agent, result.conversation_id


@pytest.fixture
async def korean_admin(server, db):
    """An admin's browser session in Korean, and its CSRF token."""
    admin = await make_agent(db, "ada@support.example", name="Ada", admin=True)
    async with server.client() as client:
        await login(client, admin.email)
        yield client, await choose_korean(client)


async def invite(client, token, email, name):
    """The admin page's form that adds an agent."""
    data = {"email": email, "name": name, "password": "long enough!", "_csrf_token": token}
    return await client.post("/admin/agents", data=data)


async def test_the_conversation_pages_scripts_get_domain_errors_in_korean(server, korean_agent):
    agent, conversation_id = korean_agent
    url = f"/conversations/{conversation_id}"
    async with server.client() as client:
        await login(client, agent.email)
        token = csrf_from((await client.get(url)).text)
        past = await client.post(
            f"{url}/manage",
            headers=JSON,
            data={"snooze_until": PAST, "tz_offset": "0", "_csrf_token": token},
        )
        no_time = await client.post(
            f"{url}/manage", headers=JSON, data={"status": "snoozed", "_csrf_token": token}
        )
        label = await client.post(
            f"{url}/labels", headers=JSON, data={"label": "a/b", "_csrf_token": token}
        )
    assert past.status_code == 400
    assert past.json()["error"] == "다시 알림 시각은 미래의 시간이어야 합니다"
    assert no_time.json()["error"] == "다시 알림 시각을 선택하세요"
    assert label.status_code == 400
    assert label.json()["error"] == "라벨에는 문자, 숫자, '-', '_'만 쓸 수 있습니다"
    assert label.json()["detail"] == label.json()["error"]


async def test_the_api_answers_in_english_even_to_a_korean_agent(server, korean_agent):
    agent, conversation_id = korean_agent
    url = f"/api/v1/conversations/{conversation_id}"
    async with server.client(agent.token) as api:
        past = await api.patch(url, headers=KOREAN, json={"snoozed_until": "2020-01-01T00:00:00Z"})
        label = await api.post(f"{url}/labels", headers=KOREAN, json={"label": "a/b"})
    assert past.status_code == 400
    assert past.json()["error"] == "snooze until a time in the future"
    assert label.json()["error"] == "a label has only letters, digits, '-' and '_'"


async def test_admin_forms_explain_refusals_in_the_agents_language(korean_admin):
    client, token = korean_admin
    agent = await invite(client, token, "new@support.example", " ")
    inbox = await client.post(
        "/admin/inboxes", data={"kind": "api", "name": "", "_csrf_token": token}
    )
    canned = await client.post(
        "/admin/canned-replies",
        data={"shortcut": "no spaces", "title": "T", "body": "B", "_csrf_token": token},
    )
    faq_import = await client.post(
        "/admin/faq/import",
        data={"_csrf_token": token},
        files={"file": ("", b"", "application/octet-stream")},
    )
    for page in (agent, inbox, canned, faq_import):
        assert page.status_code == 400 and '<html lang="ko">' in page.text
    assert '<p class="error" role="alert" id="admin-error">이름을 입력하세요</p>' in agent.text
    assert '<p class="error" role="alert" id="admin-error">이름을 입력하세요</p>' in inbox.text
    assert "단축어는 문자, 숫자, - 또는 _로 된 1~32자여야 합니다" in canned.text
    assert "가져올 .csv 또는 .yaml 파일을 고르세요" in faq_import.text


async def test_an_error_carrying_user_input_stays_escaped_in_the_page(korean_admin):
    client, token = korean_admin
    refused = await invite(client, token, "<script>alert(1)</script>", "Mallory")
    assert refused.status_code == 400 and '<html lang="ko">' in refused.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in refused.text
    assert "<script>alert(1)" not in refused.text


async def test_a_message_with_values_is_translated_around_them(server, db, korean_agent):
    agent, conversation_id = korean_agent
    long_label = "x" * (LABEL_MAX + 1)
    async with server.client() as client:
        await login(client, agent.email)
        url = f"/conversations/{conversation_id}"
        token = csrf_from((await client.get(url)).text)
        zone = await client.post(
            "/time-zone", headers=JSON, data={"time_zone": "Mars/Olympus", "_csrf_token": token}
        )
        label = await client.post(
            f"{url}/labels", headers=JSON, data={"label": long_label, "_csrf_token": token}
        )
    async with server.client(agent.token) as api:
        english = await api.post(
            f"/api/v1/conversations/{conversation_id}/labels",
            headers=KOREAN,
            json={"label": long_label},
        )
    assert zone.status_code == 400
    assert zone.json()["error"] == "알 수 없는 시간대: Mars/Olympus"
    assert label.json()["error"] == f"라벨은 {LABEL_MAX}자까지 쓸 수 있습니다"
    assert english.json()["error"] == f"a label has at most {LABEL_MAX} characters"


async def test_an_admin_sees_a_taken_email_in_korean_with_the_email_in_it(db, korean_admin):
    client, token = korean_admin
    await make_agent(db, "bo@support.example")
    again = await invite(client, token, "bo@support.example", "Bo")
    assert again.status_code == 400
    assert "이메일이 bo@support.example인 상담원이 이미 있습니다" in again.text
