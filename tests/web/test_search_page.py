"""The search page: customers and messages in English and Korean, terms highlighted but never
markup, keyset "more" links, only the agent's inboxes, and bad input answered 400."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.factories import make_agent, make_inbox
from tests.web.support import customer_writes
from tests.web.test_pages import login


@pytest.fixture
async def found(server, db):
    shop = await make_inbox(db, "api", "Shop")
    other = await make_inbox(db, "api", "Other team")
    jo = await make_agent(db, "jo@support.example", inboxes=[shop])
    sent = {
        "jeju": await customer_writes(
            server, shop, "제주도까지 배송비가 얼마예요?", email="minji@example.com", name="김민지"
        ),
        "parcel": await customer_writes(
            server,
            shop,
            "My parcel never arrived <b>today</b>",
            email="hana@example.com",
            name="Hana Parcelworth",
        ),
        "hidden": await customer_writes(
            server,
            other,
            "Parcel for the other team",
            email="secret@example.com",
            name="Secret Person",
        ),
    }
    return jo, sent


async def search(server, agent, **params):
    async with server.client() as client:
        await login(client, agent.email)
        return await client.get("/search", params=params)


async def test_english_words_find_customers_and_messages_highlighted(server, found):
    jo, sent = found
    page = await search(server, jo, q="parcel")
    assert page.status_code == 200
    # The customer whose name starts with the word, and the message, each linking to it.
    conversation = sent["parcel"]["conversation_id"]
    assert f'href="/conversations/{conversation}"' in page.text
    assert f'href="/conversations/{conversation}#m{sent["parcel"]["message_id"]}"' in page.text
    assert "Hana <mark>Parcel</mark>worth" in page.text
    assert "My <mark>parcel</mark> never arrived &lt;b&gt;today&lt;/b&gt;" in page.text
    assert "<b>today</b>" not in page.text
    assert "Secret" not in page.text and "other team" not in page.text
    assert 'value="parcel"' in page.text  # the header's box keeps the query


async def test_korean_words_inside_longer_text_are_found(server, found):
    jo, sent = found
    page = await search(server, jo, q="배송비")
    assert page.status_code == 200
    assert "제주도까지 <mark>배송비</mark>가 얼마예요?" in page.text
    by_name = await search(server, jo, q="민지")
    assert "김<mark>민지</mark>" in by_name.text
    assert f'href="/conversations/{sent["jeju"]["conversation_id"]}"' in by_name.text


async def test_a_query_is_text_never_markup(server, found):
    jo, _ = found
    page = await search(server, jo, q='"><script>alert(1)</script> parcel')
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


async def test_more_links_walk_messages_without_repeats(server, db):
    shop = await make_inbox(db, "api")
    jo = await make_agent(db, inboxes=[shop])
    ids = []
    for n in range(25):
        ack = await customer_writes(server, shop, f"Refund number {n}", email=f"r{n}@example.com")
        ids.append(ack["message_id"])
    async with server.client() as client:
        await login(client, jo.email)
        first = await client.get("/search", params={"q": "refund"})
        more = re.search(
            r'<a class="more" href="(/search\?[^"]*section=messages[^"]*)"', first.text
        ).group(1)
        second = await client.get(unescape(more))
    shown = [int(i) for i in re.findall(r"#m(\d+)", first.text)]
    rest = [int(i) for i in re.findall(r"#m(\d+)", second.text)]
    assert shown == sorted(ids, reverse=True)[:20]
    assert rest == sorted(ids, reverse=True)[20:]
    assert "More messages" not in second.text
    assert "<h2>Customers</h2>" not in second.text


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * 201},
        {"q": "parcel", "section": "orders"},
        {"q": "parcel", "cursor": "abc"},
        {"q": "parcel", "section": "messages", "cursor": "!!"},
    ],
)
async def test_bad_search_input_is_400(server, found, params):
    jo, _ = found
    page = await search(server, jo, **params)
    assert page.status_code == 400


async def test_an_empty_search_explains_itself(server, found):
    jo, _ = found
    page = await search(server, jo, q="")
    assert page.status_code == 200 and "search box above" in page.text
