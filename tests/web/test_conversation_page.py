"""The conversation page over HTTP: the timeline opens at its newest end and pages back by
cursor, live messages by id, snooze and assignment rules, customer edits, merge and undo."""

import html
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from inbox.ingest import ingest
from tests.factories import customer, events, inbound, make_agent, make_inbox
from tests.web.support import wait_for_message
from tests.web.test_pages import csrf_from, login

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def message_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="msg[^"]*" id="m(\d+)"', page)]


def before_cursor(page: str) -> str:
    return html.unescape(re.search(r'<ol[^>]* data-before="([^"]*)"', page).group(1))


async def history(db, settings, inbox, count, email="long@example.org"):
    """`count` messages of one customer, an hour apart, oldest first; their ingest results."""
    results = []
    for n in range(count):
        results.append(
            await ingest(
                db,
                inbound(
                    inbox,
                    f"message number {n}",
                    email=email,
                    name="Long History",
                    sent_at=START + timedelta(hours=n),
                ),
                settings,
            )
        )
    return results


async def test_the_page_opens_at_the_newest_messages_and_pages_back_by_cursor(server, db, settings):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    results = await history(db, settings, api, 120)
    newest = results[-1]
    async with server.client() as client:
        await login(client, agent.email)
        page = await client.get(f"/conversations/{newest.conversation_id}")
        assert page.status_code == 200
        shown = message_ids(page.text)
        # The newest 50, oldest of them first; the first messages are not on the first page.
        assert shown == [r.message_id for r in results[-50:]]
        assert "message number 119" in page.text and "message number 0<" not in page.text
        seen = list(shown)
        cursor = before_cursor(page.text)
        pages = 0
        while cursor:
            older = await client.get(
                f"/conversations/{newest.conversation_id}/timeline", params={"before": cursor}
            )
            assert older.status_code == 200
            ids = message_ids(older.text)
            assert ids and ids == sorted(ids)
            seen = ids + seen
            cursor = before_cursor(older.text)
            pages += 1
        bad = await client.get(
            f"/conversations/{newest.conversation_id}/timeline", params={"before": "not-a-cursor"}
        )
    assert pages == 2
    assert seen == [r.message_id for r in results]  # every message exactly once, in order
    assert bad.status_code == 400


async def test_day_separators_say_today_yesterday_and_localised_dates(server, db, settings):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    now = datetime.now(UTC)
    for when in (now - timedelta(days=9), now - timedelta(days=1), now - timedelta(minutes=1)):
        result = await ingest(
            db, inbound(api, "hello", email="d@example.org", sent_at=when), settings
        )
    old = (now - timedelta(days=9)).date()
    async with server.client() as client:
        await login(client, agent.email)
        english = await client.get(f"/conversations/{result.conversation_id}")
        korean = await client.get(
            f"/conversations/{result.conversation_id}", headers={"Accept-Language": "ko"}
        )
        page = await client.get("/")
        await client.post(
            "/language", data={"language": "ko", "next": "/", "_csrf_token": csrf_from(page.text)}
        )
        korean = await client.get(f"/conversations/{result.conversation_id}")
    days = re.findall(r'<li class="day" data-day="[^"]+">([^<]+)</li>', english.text)
    assert days == [f"{old:%A}, {old:%B} {old.day}, {old.year}", "Yesterday", "Today"]
    korean_days = re.findall(r'<li class="day" data-day="[^"]+">([^<]+)</li>', korean.text)
    assert korean_days[1:] == ["어제", "오늘"]
    assert korean_days[0].startswith(f"{old.year}년 {old.month}월 {old.day}일")


async def test_live_messages_are_fetched_by_id_and_only_the_customers_visible_ones(
    server, db, settings
):
    api = await make_inbox(db, "api")
    hidden = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    mine = await ingest(db, inbound(api, "first", email="live@example.org"), settings)
    again = await ingest(db, inbound(api, "second", email="live@example.org"), settings)
    theirs = await ingest(db, inbound(hidden, "secret", email="live@example.org"), settings)
    stranger = await ingest(db, inbound(api, "someone else", email="x@example.org"), settings)
    ids = f"{again.message_id},{theirs.message_id},{stranger.message_id}"
    async with server.client() as client:
        await login(client, agent.email)
        live = await client.get(
            f"/conversations/{mine.conversation_id}/timeline", params={"ids": ids}
        )
        junk = await client.get(
            f"/conversations/{mine.conversation_id}/timeline", params={"ids": "1,x"}
        )
    assert live.status_code == 200
    assert message_ids(live.text) == [again.message_id]
    assert "secret" not in live.text and "someone else" not in live.text
    assert junk.status_code == 400


async def test_snoozing_in_the_past_is_refused_and_changes_nothing(server, db, settings):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    result = await ingest(db, inbound(api, "hello", email="s@example.org"), settings)
    url = f"/conversations/{result.conversation_id}"
    async with server.client() as client:
        await login(client, agent.email)
        token = csrf_from((await client.get(url)).text)
        past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        refused = await client.post(
            f"{url}/manage", data={"snooze_until": past, "tz_offset": "0", "_csrf_token": token}
        )
        junk = await client.post(
            f"{url}/manage", data={"snooze_until": "tomorrow-ish", "_csrf_token": token}
        )
        unchanged = await client.get(
            f"/api/v1/conversations/{result.conversation_id}",
            headers={"Authorization": f"Bearer {agent.token}"},
        )
        # Seoul is UTC+9: the browser sends its offset (-540 minutes) with the local time.
        ahead = datetime.now(UTC) + timedelta(days=1)
        local = (ahead + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M")
        snoozed = await client.post(
            f"{url}/manage",
            headers={"Accept": "application/json"},
            data={"snooze_until": local, "tz_offset": "-540", "_csrf_token": token},
        )
    assert refused.status_code == 400 and "future" in refused.json()["error"]
    assert junk.status_code == 400
    assert unchanged.json()["status"] == "open" and unchanged.json()["snoozed_until"] is None
    assert snoozed.status_code == 200
    assert snoozed.json()["status"] == "snoozed"
    assert snoozed.json()["snoozed_until"].startswith(ahead.strftime("%Y-%m-%dT%H:%M"))


async def test_assign_to_any_agent_of_the_inbox_but_not_to_an_outsider(server, db, settings):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    colleague = await make_agent(db, "colleague@support.example", name="Colleague", inboxes=[api])
    outsider = await make_agent(
        db, "outsider@support.example", name="Outsider", inboxes=[await make_inbox(db, "api")]
    )
    result = await ingest(db, inbound(api, "hello", email="a@example.org"), settings)
    url = f"/conversations/{result.conversation_id}"
    async with server.client() as client:
        await login(client, agent.email)
        page = await client.get(url)
        token = csrf_from(page.text)
        refused = await client.post(
            f"{url}/manage", data={"assign": str(outsider.id), "_csrf_token": token}
        )
        after_refusal = await client.get(
            f"/api/v1/conversations/{result.conversation_id}",
            headers={"Authorization": f"Bearer {agent.token}"},
        )
        assigned = await client.post(
            f"{url}/manage", data={"assign": str(colleague.id), "_csrf_token": token}
        )
        mine = await client.post(
            f"{url}/manage",
            headers={"Accept": "application/json"},
            data={"assign": "me", "status": "pending", "_csrf_token": token},
        )
    # The select offers the inbox's agents, never one who cannot see the conversation.
    assert f'<option value="{colleague.id}"' in page.text
    assert f'<option value="{outsider.id}"' not in page.text
    assert refused.status_code == 400
    assert after_refusal.json()["assignee_id"] is None
    assert assigned.status_code == 303
    assert mine.json()["assignee_id"] == agent.id and mine.json()["status"] == "pending"


async def test_customer_name_and_attributes_are_edited_and_announced(server, db, settings):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    result = await ingest(
        db, inbound(api, "hello", email="c@example.org", name="Old Name"), settings
    )
    url = f"/conversations/{result.conversation_id}"
    async with server.client() as client:
        await login(client, agent.email)
        token = csrf_from((await client.get(url)).text)
        renamed = await client.post(
            f"{url}/customer", data={"name": "민지 Park", "_csrf_token": token}
        )
        await client.post(
            f"{url}/customer", data={"key": "plan", "value": "Gold", "_csrf_token": token}
        )
        await client.post(
            f"{url}/customer", data={"key": "city", "value": "Seoul", "_csrf_token": token}
        )
        removed = await client.post(
            f"{url}/customer", data={"remove": "city", "_csrf_token": token}
        )
        bad = await client.post(
            f"{url}/customer", data={"key": "", "value": "x", "_csrf_token": token}
        )
        control = await client.post(
            f"{url}/customer", data={"name": "a\x07b", "_csrf_token": token}
        )
        page = await client.get(url)
    assert renamed.status_code == 303 and removed.status_code == 303
    assert bad.status_code == 400 and control.status_code == 400
    stored = await customer(db, result.customer_id)
    assert stored["name"] == "민지 Park" and stored["attributes"] == {"plan": "Gold"}
    assert "민지 Park" in page.text and "<dt>plan</dt><dd>Gold" in page.text
    updates = [e for e in await events(db) if e.type == "customer.updated"]
    assert len(updates) == 4 and updates[-1].payload["attributes"] == {"plan": "Gold"}


async def test_customer_edits_need_a_customer_the_agent_can_see(server, db, settings):
    theirs = await make_inbox(db, "api")
    outsider = await make_agent(db, inboxes=[await make_inbox(db, "api")])
    result = await ingest(
        db, inbound(theirs, "hello", email="h@example.org", name="Hidden"), settings
    )
    url = f"/conversations/{result.conversation_id}"
    async with server.client() as client:
        await login(client, outsider.email)
        token = csrf_from((await client.get("/")).text)
        rename = await client.post(f"{url}/customer", data={"name": "Hacked", "_csrf_token": token})
        older = await client.get(f"{url}/timeline", params={"ids": str(result.message_id)})
        snooze = await client.post(
            f"{url}/manage", data={"status": "resolved", "_csrf_token": token}
        )
    assert rename.status_code == 404 and older.status_code == 404 and snooze.status_code == 404
    assert (await customer(db, result.customer_id))["name"] == "Hidden"


async def test_merge_a_customer_found_by_search_then_undo_it(server, db, settings):
    api = await make_inbox(db, "api")
    sms = await make_inbox(db, "twilio")
    agent = await make_agent(db, inboxes=[api, sms])
    mine = await ingest(
        db, inbound(api, "order 5 is late", email="kim@example.org", name="Kim Mail"), settings
    )
    other = await ingest(
        db,
        inbound(sms, "still waiting", phone="+14155550177", name="Kim Phone", channel="sms"),
        settings,
    )
    url = f"/conversations/{mine.conversation_id}"
    async with server.client() as client:
        await login(client, agent.email)
        found = await client.get(url, params={"merge_q": "Kim Phone"})
        assert f'href="{url}/merge/{other.customer_id}"' in found.text
        confirm = await client.get(f"{url}/merge/{other.customer_id}")
        assert confirm.status_code == 200 and "Kim Phone" in confirm.text
        merged = await client.post(
            f"{url}/merge/{other.customer_id}", data={"_csrf_token": csrf_from(confirm.text)}
        )
        assert merged.status_code == 303
        page = await client.get(url)
        merge_id = int(re.search(rf'action="{url}/merges/(\d+)/undo"', page.text).group(1))
        undone = await client.post(
            f"{url}/merges/{merge_id}/undo", data={"_csrf_token": csrf_from(page.text)}
        )
        again = await client.post(
            f"{url}/merges/{merge_id}/undo", data={"_csrf_token": csrf_from(page.text)}
        )
        after = await client.get(url)
    # Merged: one timeline with both channels, and the other conversation listed.
    assert (
        "still waiting" in page.text
        and f'href="/conversations/{other.conversation_id}"' in page.text
    )
    assert (await customer(db, other.customer_id))["merged_into_id"] is None
    assert undone.status_code == 303 and again.status_code == 409
    assert "still waiting" not in after.text
    assert f"/merges/{merge_id}/undo" not in after.text


async def test_an_agent_cannot_merge_a_customer_they_cannot_see(server, db, settings):
    api = await make_inbox(db, "api")
    hidden = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    mine = await ingest(db, inbound(api, "mine", email="m@example.org", name="Visible"), settings)
    theirs = await ingest(
        db, inbound(hidden, "theirs", email="t@example.org", name="Visible Too"), settings
    )
    url = f"/conversations/{mine.conversation_id}"
    async with server.client() as client:
        await login(client, agent.email)
        found = await client.get(url, params={"merge_q": "Visible"})
        confirm = await client.get(f"{url}/merge/{theirs.customer_id}")
        merged = await client.post(
            f"{url}/merge/{theirs.customer_id}", data={"_csrf_token": csrf_from(found.text)}
        )
    assert "Visible Too" not in found.text
    assert confirm.status_code == 404 and merged.status_code == 404
    assert (await customer(db, theirs.customer_id))["merged_into_id"] is None


async def test_a_failed_reply_shows_its_reason_and_retry_queues_it_again(server, db, settings):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    result = await ingest(db, inbound(api, "hello", email="r@example.org"), settings)
    url = f"/conversations/{result.conversation_id}"
    async with server.client(agent.token) as api_client:
        reply = (
            await api_client.post(
                f"/api/v1/conversations/{result.conversation_id}/messages",
                json={"text": "On its way"},
            )
        ).json()
        # Let the dispatcher finish with it first, so nothing races the failure written below.
        await wait_for_message(
            api_client, result.conversation_id, reply["id"], lambda m: m["status"] != "queued"
        )
    # What the dispatcher leaves after its last attempt (the outbox's own tests cover that).
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE message SET status = 'failed', error = 'callback "
                "answered 500' WHERE id = :id"
            ),
            {"id": reply["id"]},
        )
        await conn.execute(
            text("UPDATE outbox SET state = 'failed', attempts = 5 WHERE message_id = :id"),
            {"id": reply["id"]},
        )
    async with server.client() as client:
        await login(client, agent.email)
        page = await client.get(url)
        retried = await client.post(
            f"{url}/messages/{reply['id']}/retry",
            headers={"Accept": "application/json"},
            data={"_csrf_token": csrf_from(page.text)},
        )
        twice = await client.post(
            f"{url}/messages/{reply['id']}/retry", data={"_csrf_token": csrf_from(page.text)}
        )
        inbound_retry = await client.post(
            f"{url}/messages/{result.message_id}/retry", data={"_csrf_token": csrf_from(page.text)}
        )
    assert "callback answered 500" in page.text
    assert f'action="{url}/messages/{reply["id"]}/retry"' in page.text
    assert retried.status_code == 200 and retried.json()["status"] == "queued"
    assert twice.status_code == 400 and inbound_retry.status_code == 400


async def test_the_rest_api_refuses_a_snooze_in_the_past_too(server, db, settings):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    result = await ingest(db, inbound(api, "hello", email="p@example.org"), settings)
    url = f"/api/v1/conversations/{result.conversation_id}"
    async with server.client(agent.token) as client:
        refused = await client.patch(url, json={"snoozed_until": "2020-01-01T00:00:00Z"})
        shown = (await client.get(url)).json()
    assert refused.status_code == 400 and "future" in refused.json()["error"]
    assert shown["status"] == "open" and shown["snoozed_until"] is None
