"""The conversation list over HTTP: views with counts, filters by status, inbox and label,
unread badges per agent, channel icons, and only ever the agent's own inboxes."""

from __future__ import annotations

import re

import pytest

from inbox.ingest import ingest
from tests.factories import inbound, make_agent, make_inbox
from tests.web.support import customer_writes
from tests.web.test_pages import login


def cards(html: str) -> list[int]:
    """The conversation ids on a list page, top to bottom."""
    return [int(i) for i in re.findall(r'<li data-conversation="(\d+)"', html)]


async def view_counts(client, **params) -> dict[str, int]:
    """What the list page's script asks for once the list shows: each view's count."""
    response = await client.get("/view-counts", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def unread(html: str, conversation_id: int) -> int:
    item = re.search(rf'<li data-conversation="{conversation_id}".*?</li>', html, re.S).group(0)
    found = re.search(r'class="unread-badge"[^>]*>(\d+)<', item)
    return int(found.group(1)) if found else 0


@pytest.fixture
async def team(server, db, settings):
    """Jo works the shop inbox and SMS; another team's inbox holds a conversation Jo never sees."""
    shop = await make_inbox(db, "api", "Shop")
    sms = await make_inbox(db, "twilio", "SMS line")
    other = await make_inbox(db, "api", "Other team")
    jo = await make_agent(db, "jo@support.example", inboxes=[shop, sms])
    kim = await make_agent(db, "kim@support.example", inboxes=[shop, sms])
    stranger = await make_agent(db, "sam@support.example", inboxes=[other])
    mine = await customer_writes(server, shop, "Where is order 1?", email="a@example.com")
    waiting = await customer_writes(server, shop, "Order 2 please", email="b@example.com")
    done = await customer_writes(server, shop, "Order 3 thanks", email="c@example.com")
    texted = await ingest(
        db, inbound(sms, "Texting about 4", phone="+14155550142", channel="sms"), settings
    )
    hidden = await customer_writes(server, other, "Secret order", email="d@example.com")
    async with server.client(jo.token) as api:
        assert (
            await api.patch(
                f"/api/v1/conversations/{mine['conversation_id']}", json={"assignee_id": jo.id}
            )
        ).status_code == 200
        assert (
            await api.patch(
                f"/api/v1/conversations/{done['conversation_id']}", json={"status": "resolved"}
            )
        ).status_code == 200
    return {
        "shop": shop,
        "sms": sms,
        "other": other,
        "jo": jo,
        "kim": kim,
        "stranger": stranger,
        "mine": mine["conversation_id"],
        "waiting": waiting["conversation_id"],
        "done": done["conversation_id"],
        "texted": texted.conversation_id,
        "hidden": hidden["conversation_id"],
    }


async def test_views_split_mine_and_unassigned_and_count_only_visible_ones(server, team):
    async with server.client() as client:
        await login(client, team["jo"].email)
        everything = await client.get("/", params={"view": "all", "status": "open"})
        mine = await client.get("/", params={"view": "mine", "status": "open"})
        unassigned = await client.get("/", params={"view": "unassigned", "status": "open"})
        any_status = await client.get("/", params={"view": "all", "status": ""})
        open_counts = await view_counts(client, view="all", status="open")
        any_counts = await view_counts(client, view="all", status="")
        refused = await client.get("/view-counts", params={"status": "closed-ish"})
    assert everything.status_code == 200
    # Newest activity first; the other team's conversation is in no list and no count.
    assert cards(everything.text) == [team["texted"], team["waiting"], team["mine"]]
    assert cards(mine.text) == [team["mine"]]
    assert cards(unassigned.text) == [team["texted"], team["waiting"]]
    assert set(cards(any_status.text)) == {
        team["texted"],
        team["waiting"],
        team["mine"],
        team["done"],
    }
    assert open_counts == {"mine": 1, "unassigned": 2, "all": 3, "cap": 1000}
    assert any_counts["all"] == 4
    assert refused.status_code == 400
    assert "Secret order" not in any_status.text and "Other team" not in any_status.text
    assert 'aria-current="page"' in mine.text


async def test_filters_by_inbox_and_status_and_shows_channel_icons(server, team):
    async with server.client() as client:
        await login(client, team["jo"].email)
        by_sms = await client.get("/", params={"inbox": team["sms"].id, "status": ""})
        resolved = await client.get("/", params={"status": "resolved"})
        theirs = await client.get("/", params={"inbox": team["other"].id})
    assert cards(by_sms.text) == [team["texted"]]
    assert 'class="chan ch-sms" role="img" aria-label="SMS"' in by_sms.text
    assert cards(resolved.text) == [team["done"]]
    assert 'class="chan ch-api" role="img" aria-label="API"' in resolved.text
    assert theirs.status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"view": "everyone"},
        {"status": "closed"},
        {"inbox": "1 OR 1=1"},
        {"inbox": "99999999999999"},
        {"label": "<b>"},
        {"label": "x" * 41},
        {"cursor": "not-a-cursor"},
    ],
)
async def test_bad_filter_values_are_400(server, team, params):
    async with server.client() as client:
        await login(client, team["jo"].email)
        response = await client.get("/", params=params)
    assert response.status_code == 400, response.text


async def test_more_link_pages_by_last_activity_without_repeats(server, db, settings):
    shop = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[shop])
    for n in range(55):
        await ingest(db, inbound(shop, f"Question {n}", email=f"p{n}@example.com"), settings)
    async with server.client() as client:
        await login(client, agent.email)
        first = await client.get("/")
        more = re.search(r'<a class="more" href="([^"]+)"', first.text).group(1)
        second = await client.get(more.replace("&amp;", "&"))
    assert len(cards(first.text)) == 50 and len(cards(second.text)) == 5
    assert not set(cards(first.text)) & set(cards(second.text))
    assert 'class="more"' not in second.text


async def test_unread_counts_follow_each_agents_read_marker(server, db, team, settings):
    waiting = team["waiting"]
    async with server.client() as jo, server.client() as kim:
        await login(jo, team["jo"].email)
        await login(kim, team["kim"].email)
        await customer_writes(server, team["shop"], "Hello again?", email="b@example.com")
        assert unread((await jo.get("/")).text, waiting) == 2
        opened = await jo.get(f"/conversations/{waiting}")
        assert opened.status_code == 200
        assert unread((await jo.get("/")).text, waiting) == 0
        # Kim has not opened it; Jo's reply is not something either has to read.
        async with server.client(team["jo"].token) as api:
            reply = await api.post(
                f"/api/v1/conversations/{waiting}/messages",
                json={"text": "Looking into it", "private": True},
            )
            assert reply.status_code == 201
        assert unread((await kim.get("/")).text, waiting) == 2
        await customer_writes(server, team["shop"], "Any news?", email="b@example.com")
        listing = await jo.get("/?partial=1")
        assert unread(listing.text, waiting) == 1
        assert f'<li data-conversation="{waiting}" class="unread">' in listing.text
        assert 'title="Unread messages" aria-label="1 unread"' in listing.text
        # The open page marks live arrivals read through its script's POST.
        page = await jo.get(f"/conversations/{waiting}/read")
        assert page.status_code in (404, 405)
        csrf = jo.cookies.get("inbox_csrf")
        marked = await jo.post(f"/conversations/{waiting}/read", headers={"x-csrftoken": csrf})
        assert marked.status_code == 204
        assert unread((await jo.get("/")).text, waiting) == 0
        assert unread((await kim.get("/")).text, waiting) == 3


async def test_read_marker_needs_access_and_a_csrf_token(server, team):
    async with server.client() as client:
        await login(client, team["jo"].email)
        csrf = client.cookies.get("inbox_csrf")
        hidden = await client.post(
            f"/conversations/{team['hidden']}/read", headers={"x-csrftoken": csrf}
        )
        forged = await client.post(f"/conversations/{team['waiting']}/read")
    assert hidden.status_code == 404
    assert forged.status_code == 403
