"""Labels: normalised names created on first use, an event per change, the REST API, the list's
chips and filter, the panel's forms, and nothing of another inbox's labels leaking."""

from __future__ import annotations

import re

import pytest

from inbox import queries
from tests.factories import make_agent, make_inbox
from tests.web.support import customer_writes, walk
from tests.web.test_pages import csrf_from, login

CONVERSATIONS = "/api/v1/conversations"


@pytest.fixture
async def setup(server, db):
    shop = await make_inbox(db, "api", "Shop")
    other = await make_inbox(db, "api", "Other team")
    jo = await make_agent(db, "jo@support.example", inboxes=[shop])
    sam = await make_agent(db, "sam@support.example", inboxes=[other])
    ours = [
        (await customer_writes(server, shop, f"Refund for order {n}", email=f"c{n}@example.com"))[
            "conversation_id"
        ]
        for n in range(3)
    ]
    theirs = (await customer_writes(server, other, "VIP question", email="v@example.com"))[
        "conversation_id"
    ]
    return {"jo": jo, "sam": sam, "ours": ours, "theirs": theirs}


async def events_after(client, seq: int) -> list[dict]:
    response = await client.get("/api/v1/events", params={"since": seq})
    assert response.status_code == 200
    return response.json()["items"]


async def last_event_seq(client) -> int:
    items = (await client.get("/api/v1/events", params={"since": 0, "limit": 200})).json()["items"]
    return items[-1]["seq"] if items else 0


async def test_labels_are_normalised_created_once_and_announced(server, setup):
    first, second, _ = setup["ours"]
    async with server.client(setup["jo"].token) as api:
        seq = await last_event_seq(api)
        added = await api.post(
            f"{CONVERSATIONS}/{first}/labels", json={"label": " Refund  Request "}
        )
        again = await api.post(f"{CONVERSATIONS}/{second}/labels", json={"label": "REFUND request"})
        korean = await api.post(f"{CONVERSATIONS}/{first}/labels", json={"label": "배송 지연"})
        events = await events_after(api, seq)
        shown = await api.get(f"{CONVERSATIONS}/{first}")
        labels = await api.get("/api/v1/labels")
    assert added.status_code == 200 and added.json()["labels"] == ["refund-request"]
    assert again.json()["labels"] == ["refund-request"]
    assert korean.json()["labels"] == ["refund-request", "배송-지연"]
    assert shown.json()["labels"] == ["refund-request", "배송-지연"]
    assert [n["name"] for n in labels.json()["items"]] == ["refund-request", "배송-지연"]
    updates = [e for e in events if e["type"] == "conversation.updated"]
    assert [e["payload"]["labels"] for e in updates] == [
        ["refund-request"],
        ["refund-request"],
        ["refund-request", "배송-지연"],
    ]


@pytest.mark.parametrize("common", [False, True], ids=["rare-label", "common-label"])
async def test_the_label_filter_pages_through_labelled_conversations(
    server, setup, monkeypatch, common
):
    if common:  # every label counts as common: the list walks conversations and probes labels
        monkeypatch.setattr(queries, "LABEL_WALK", 0)
    async with server.client(setup["jo"].token) as api:
        for cid in setup["ours"]:
            assert (
                await api.post(f"{CONVERSATIONS}/{cid}/labels", json={"label": "vip"})
            ).status_code == 200
        pages = await walk(api, CONVERSATIONS, 2, label="VIP")
        nobody = await api.get(CONVERSATIONS, params={"label": "never-used"})
        removed = await api.delete(f"{CONVERSATIONS}/{setup['ours'][0]}/labels/VIP")
        after = await api.get(CONVERSATIONS, params={"label": "vip"})
    assert [len(p) for p in pages] == [2, 1]
    assert sorted(c["id"] for p in pages for c in p) == sorted(setup["ours"])
    assert all(c["labels"] == ["vip"] for p in pages for c in p)
    assert nobody.json() == {"items": [], "next": None}
    assert removed.status_code == 200 and removed.json()["labels"] == []
    assert sorted(c["id"] for c in after.json()["items"]) == sorted(setup["ours"][1:])


@pytest.mark.parametrize("label", ["", "   ", "x" * 41, "<script>", "a/b", "party🎉", "nul\x00"])
async def test_bad_label_names_are_400_and_store_nothing(server, setup, label):
    cid = setup["ours"][0]
    async with server.client(setup["jo"].token) as api:
        seq = await last_event_seq(api)
        response = await api.post(f"{CONVERSATIONS}/{cid}/labels", json={"label": label})
        shown = await api.get(f"{CONVERSATIONS}/{cid}")
        labels = await api.get("/api/v1/labels")
        events = await events_after(api, seq)
    assert response.status_code == 400, response.text
    assert shown.json()["labels"] == []
    assert labels.json()["items"] == [] and events == []


async def test_another_inbox_can_neither_label_nor_see_labels(server, setup):
    async with server.client(setup["sam"].token) as sam, server.client(setup["jo"].token) as jo:
        assert (
            await sam.post(
                f"{CONVERSATIONS}/{setup['theirs']}/labels", json={"label": "secret-vip"}
            )
        ).status_code == 200
        refused = await jo.post(f"{CONVERSATIONS}/{setup['theirs']}/labels", json={"label": "x"})
        removal = await jo.delete(f"{CONVERSATIONS}/{setup['theirs']}/labels/secret-vip")
        jo_labels = await jo.get("/api/v1/labels")
        jo_filtered = await jo.get(CONVERSATIONS, params={"label": "secret-vip"})
        still = await sam.get(f"{CONVERSATIONS}/{setup['theirs']}")
    assert refused.status_code == 404 and removal.status_code == 404
    assert jo_labels.json()["items"] == []
    assert jo_filtered.json()["items"] == []
    assert still.json()["labels"] == ["secret-vip"]
    async with server.client() as browser:
        await login(browser, setup["jo"].email)
        listing = await browser.get("/", params={"label": "secret-vip"})
        everything = await browser.get("/")
        counted = await browser.get("/view-counts", params={"label": "secret-vip"})
    assert listing.status_code == 200 and "No conversations here." in listing.text
    assert "secret-vip" not in everything.text
    assert counted.json()["all"] == 0


async def test_the_panel_adds_and_removes_labels_and_the_list_shows_chips(server, setup):
    cid = setup["ours"][1]
    async with server.client() as browser:
        await login(browser, setup["jo"].email)
        page = await browser.get(f"/conversations/{cid}")
        assert '<section class="labels"' in page.text
        csrf = csrf_from(page.text)
        added = await browser.post(
            f"/conversations/{cid}/labels", data={"label": "Follow up", "_csrf_token": csrf}
        )
        bad = await browser.post(
            f"/conversations/{cid}/labels", data={"label": "<b>", "_csrf_token": csrf}
        )
        page = await browser.get(f"/conversations/{cid}")
        listing = await browser.get("/", params={"label": "follow-up"})
        removed = await browser.post(
            f"/conversations/{cid}/labels/remove", data={"label": "follow-up", "_csrf_token": csrf}
        )
        after = await browser.get(f"/conversations/{cid}")
    assert added.status_code == 303 and added.headers["location"] == f"/conversations/{cid}"
    assert bad.status_code == 400
    assert '<li class="label-chip">follow-up' in page.text
    assert re.findall(r'<li data-conversation="(\d+)"', listing.text) == [str(cid)]
    assert '<span class="label-chip">follow-up</span>' in listing.text
    assert '<option value="follow-up" selected>' in listing.text
    assert removed.status_code == 303
    assert '<li class="label-chip">follow-up' not in after.text
