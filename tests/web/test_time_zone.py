"""Agents' own time zone: set from the login form, changed on its page, and every time and day
separator rendered in it; snooze times are read in it too. Stored times stay UTC."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from inbox.ingest import ingest
from tests.factories import inbound, make_agent, make_inbox
from tests.web.test_pages import PASSWORD, csrf_from


async def login_from(client, email, zone):
    """The login form as the browser's script fills it: with the browser's time zone."""
    page = await client.get("/login")
    assert 'name="time_zone"' in page.text
    return await client.post(
        "/login",
        data={
            "email": email,
            "password": PASSWORD,
            "next": "/",
            "time_zone": zone,
            "_csrf_token": csrf_from(page.text),
        },
    )


async def stored_zone(db, agent_id):
    async with db.read() as session:
        row = await session.execute(
            text("SELECT time_zone FROM agent WHERE id = :i"), {"i": agent_id}
        )
        return row.scalar_one()


async def test_the_login_form_sets_the_zone_once(server, db):
    agent = await make_agent(db)
    async with server.client() as client:
        assert (await login_from(client, agent.email, "Asia/Seoul")).status_code == 303
    assert await stored_zone(db, agent.id) == "Asia/Seoul"
    async with server.client() as client:  # a later login from elsewhere keeps the agent's choice
        await login_from(client, agent.email, "Europe/Berlin")
    assert await stored_zone(db, agent.id) == "Asia/Seoul"


async def test_an_unknown_zone_at_login_is_ignored_and_login_works(server, db):
    agent = await make_agent(db)
    async with server.client() as client:
        response = await login_from(client, agent.email, "Mars/Olympus_Mons")
        assert response.status_code == 303
        assert (await client.get("/")).status_code == 200
    assert await stored_zone(db, agent.id) is None


async def test_an_invalid_zone_is_a_400_and_changes_nothing(server, db):
    agent = await make_agent(db)
    async with server.client() as client:
        await login_from(client, agent.email, "Asia/Seoul")
        page = await client.get("/time-zone")
        assert page.status_code == 200 and '<option value="Asia/Seoul" selected>' in page.text
        token = csrf_from(page.text)
        for bad in ("Not/AZone", "../../etc/passwd", "", "x" * 80):
            response = await client.post(
                "/time-zone", data={"time_zone": bad, "_csrf_token": token}
            )
            assert response.status_code == 400, bad
        assert await stored_zone(db, agent.id) == "Asia/Seoul"
        changed = await client.post(
            "/time-zone", data={"time_zone": "America/New_York", "next": "/", "_csrf_token": token}
        )
        assert changed.status_code == 303
        assert await stored_zone(db, agent.id) == "America/New_York"
        no_csrf = await client.post("/time-zone", data={"time_zone": "UTC"})
        assert no_csrf.status_code == 403
    assert await stored_zone(db, agent.id) == "America/New_York"


async def test_a_seoul_agent_sees_a_late_utc_message_under_the_next_day(server, db, settings):
    api = await make_inbox(db, "api")
    seoul = await make_agent(db, inboxes=[api])
    utc = await make_agent(db, inboxes=[api])
    # 08:30 yesterday in Seoul is 23:30 UTC the day before: "Yesterday" there, not in UTC.
    seoul_today = datetime.now(ZoneInfo("Asia/Seoul")).date()
    day = seoul_today - timedelta(days=2)
    sent = datetime(day.year, day.month, day.day, 23, 30, tzinfo=UTC)
    result = await ingest(
        db, inbound(api, "late one", email="late@example.org", sent_at=sent), settings
    )
    url = f"/conversations/{result.conversation_id}"
    async with server.client() as client:
        await login_from(client, seoul.email, "Asia/Seoul")
        page = (await client.get(url)).text
        listing = (await client.get("/")).text
        found = (await client.get("/search", params={"q": "late"})).text
    local_day = (day + timedelta(days=1)).isoformat()
    assert f'<li class="day" data-day="{local_day}">Yesterday</li>' in page
    assert re.search(r'<time datetime="[^"]+"[^>]*>08:30</time>', page)
    assert f"{local_day} 08:30" in found
    stamp, shown = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', listing).groups()
    in_seoul = datetime.fromisoformat(stamp).astimezone(ZoneInfo("Asia/Seoul"))
    assert shown == in_seoul.strftime("%Y-%m-%d %H:%M")
    async with server.client() as client:
        await login_from(client, utc.email, "UTC")
        page = (await client.get(url)).text
    assert f'<li class="day" data-day="{day.isoformat()}">' in page and ">23:30</time>" in page
    assert f'data-day="{local_day}"' not in page


async def test_snooze_is_read_in_the_agents_zone(server, db, settings):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    result = await ingest(db, inbound(api, "snooze me", email="snz@example.org"), settings)
    url = f"/conversations/{result.conversation_id}"
    ahead = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=3)
    seoul_wall = ahead + timedelta(hours=9)  # Seoul has no DST
    async with server.client() as client:
        await login_from(client, agent.email, "Asia/Seoul")
        token = csrf_from((await client.get(url)).text)
        # The browser's offset is ignored once the agent has a zone.
        snoozed = await client.post(
            f"{url}/manage",
            headers={"Accept": "application/json"},
            data={
                "snooze_until": seoul_wall.strftime("%Y-%m-%dT%H:%M"),
                "tz_offset": "300",
                "_csrf_token": token,
            },
        )
        page = (await client.get(url)).text
    assert snoozed.status_code == 200, snoozed.text
    assert snoozed.json()["snoozed_until"].startswith(ahead.strftime("%Y-%m-%dT%H:%M"))
    assert f"{seoul_wall.strftime('%Y-%m-%d %H:%M')} Asia/Seoul" in page
