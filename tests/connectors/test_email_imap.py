"""IMAP polling against a real Dovecot on loopback: every mail is ingested exactly once across a
crash mid-sync and a restart, after a UIDVALIDITY change, and marked \\Seen only once stored."""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path

import aioimaplib
import pytest
import trustme

from connectors.base import ChannelInbox
from connectors.email import EmailConnector
from connectors.email_imap import ImapError, MailboxPoller
from inbox.cursors import read_cursor
from tests.connectors.dovecot import (  # noqa: F401
    PASSWORD,
    USER,
    dovecot_fixture,
    dovecot_tls_fixture,
)
from tests.connectors.email_peers import mime
from tests.factories import count, make_inbox

ROOT = Path(__file__).resolve().parents[2]


async def _client(dovecot):
    client = aioimaplib.IMAP4(host="127.0.0.1", port=dovecot.port, timeout=10)
    await client.wait_hello_from_server()
    assert (await client.login(USER, PASSWORD)).result == "OK"
    return client


async def _append(dovecot, mailbox, *raws):
    client = await _client(dovecot)
    for raw in raws:
        assert (await client.append(raw, mailbox=mailbox)).result == "OK"
    await client.logout()


async def _seen_flags(dovecot, mailbox):
    client = await _client(dovecot)
    await client.select(mailbox)
    response = await client.uid("fetch", "1:*", "(FLAGS)")
    await client.logout()
    lines = [bytes(line) for line in response.lines if b"FETCH" in bytes(line)]
    return [b"\\Seen" in line for line in lines]


def _mails(start, n):
    return [
        mime(
            message_id=f"<imap{i}@customer.example>",
            body=f"mail number {i}",
            sender=f"c{i}@customer.example",
        )
        for i in range(start, start + n)
    ]


async def _poller(db, settings, inbox_row, **options):
    inbox = ChannelInbox(
        inbox_row.id, "email", inbox_row.name, dict(inbox_row.config), inbox_row.token
    )
    poller = MailboxPoller(db, settings, EmailConnector(settings), inbox, **options)
    await poller.connect()
    return poller


async def test_each_mail_is_ingested_once_across_a_crash_and_a_restart(db, settings, dovecot):
    inbox = await make_inbox(
        db, "email", config={"address": "support@shop.example", **dovecot.config()}
    )
    await _append(dovecot, "INBOX", *_mails(0, 6))

    first = await _poller(db, settings, inbox)
    crashing = asyncio.create_task(first.sync())
    deadline = time.monotonic() + 10
    while await count(db, "message") < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    crashing.cancel()  # the worker dies mid-sync, wherever it happens to be
    try:
        await crashing
    except asyncio.CancelledError:
        pass
    first.client = None  # its connection is simply gone
    stored_before = await count(db, "message")
    assert 2 <= stored_before <= 6

    await _append(dovecot, "INBOX", *_mails(6, 2))
    second = await _poller(db, settings, inbox)
    await second.sync()
    assert await count(db, "message") == 8
    assert await second.sync() == 0  # nothing new: nothing fetched again
    await second.close()
    assert await count(db, "message") == 8
    assert all(await _seen_flags(dovecot, "INBOX"))
    cursor = await read_cursor(db, inbox.id, "imap:INBOX")
    assert cursor is not None and cursor.endswith(":8")


async def test_a_uidvalidity_change_resyncs_without_duplicates(db, settings, dovecot):
    inbox = await make_inbox(
        db, "email", config={"address": "support@shop.example", **dovecot.config("Support")}
    )
    admin = await _client(dovecot)
    assert (await admin.create("Support")).result == "OK"
    await _append(dovecot, "Support", *_mails(0, 2))
    poller = await _poller(db, settings, inbox)
    assert await poller.sync() == 2
    before = await read_cursor(db, inbox.id, "imap:Support")

    # The mailbox is rebuilt (a server migration): same mail, new UIDs, new UIDVALIDITY.
    await poller.close()
    assert (await admin.delete("Support")).result == "OK"
    await asyncio.sleep(1.1)  # UIDVALIDITY is a timestamp: make it differ
    assert (await admin.create("Support")).result == "OK"
    await admin.logout()
    await _append(dovecot, "Support", *_mails(0, 3))
    poller = await _poller(db, settings, inbox)
    assert await poller.sync() == 3
    await poller.close()
    after = await read_cursor(db, inbox.id, "imap:Support")
    assert after.split(":")[0] != before.split(":")[0]
    assert after.endswith(":3")
    assert await count(db, "message") == 3


async def test_a_running_poller_picks_up_new_mail_promptly(db, settings, dovecot):
    inbox = await make_inbox(
        db, "email", config={"address": "support@shop.example", **dovecot.config()}
    )
    row = inbox
    channel = ChannelInbox(row.id, "email", row.name, dict(row.config), row.token)
    poller = MailboxPoller(db, settings, EmailConnector(settings), channel, poll_seconds=30)
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    try:
        await asyncio.sleep(0.5)
        await _append(dovecot, "INBOX", *_mails(0, 1))
        deadline = time.monotonic() + 10
        while await count(db, "message") < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        # Well within the 30 s poll: IDLE told the poller.
        assert await count(db, "message") == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_the_server_process_polls_configured_mailboxes(db, settings, dovecot):
    from tests.conftest import LiveServer

    await make_inbox(db, "email", config={"address": "support@shop.example", **dovecot.config()})
    async with LiveServer(settings):
        await _append(dovecot, "INBOX", *_mails(0, 2))
        deadline = time.monotonic() + 15
        while await count(db, "message") < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert await count(db, "message") == 2


async def test_an_inbox_created_while_the_server_runs_is_polled_without_a_restart(
    db, settings, dovecot
):
    import json
    import os
    import sys

    from tests.conftest import LiveServer

    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOX_")}
    env.update(INBOX_DATABASE_URL=settings.database_url)
    config = {"address": "support@shop.example", **dovecot.config()}
    async with LiveServer(settings):
        await _append(dovecot, "INBOX", *_mails(0, 2))
        await asyncio.sleep(0.5)
        assert await count(db, "message") == 0  # no inbox yet: nobody polls
        # `inbox create-inbox` in its own process, as an admin would run it.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "web.cli",
            "create-inbox",
            "--kind",
            "email",
            "--name",
            "Support mail",
            "--config",
            json.dumps(config),
            "--json",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        assert json.loads(out)["kind"] == "email"
        deadline = time.monotonic() + 20  # the server looks at the inbox table every 5 s
        while await count(db, "message") < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert await count(db, "message") == 2
        await _append(dovecot, "INBOX", *_mails(2, 1))  # and it keeps polling (IDLE)
        deadline = time.monotonic() + 10
        while await count(db, "message") < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert await count(db, "message") == 3


def _tls_config(dovecot, **extra):
    return {
        "address": "support@shop.example",
        **dovecot.config(),
        "imap_port": dovecot.imaps_port,
        "imap_security": "tls",
        **extra,
    }


async def test_the_poller_reads_over_tls_trusting_the_configured_ca(db, settings, dovecot_tls):
    inbox = await make_inbox(
        db, "email", config=_tls_config(dovecot_tls, imap_ca_file=str(dovecot_tls.ca_file))
    )
    await _append(dovecot_tls, "INBOX", *_mails(0, 2))
    poller = await _poller(db, settings, inbox)
    assert await poller.sync() == 2
    await poller.close()
    assert await count(db, "message") == 2
    assert "TLS" in _logins(dovecot_tls)[-1]  # the login went over TLS


def _logins(dovecot):
    log = (dovecot.root / "dovecot.log").read_text()
    return [line for line in log.splitlines() if "imap-login: Info: Login: " in line]


async def test_an_unverified_certificate_or_starttls_never_logs_in(db, settings, dovecot_tls):
    other = dovecot_tls.root / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    for extra in ({"imap_ca_file": str(other)}, {}):  # another CA; the system's CAs
        inbox = await make_inbox(db, "email", config=_tls_config(dovecot_tls, **extra))
        with pytest.raises(ssl.SSLCertVerificationError):
            await _poller(db, settings, inbox)
    starttls = await make_inbox(
        db,
        "email",
        config={
            **_tls_config(dovecot_tls),
            "imap_port": dovecot_tls.port,
            "imap_security": "starttls",
        },
    )
    with pytest.raises(ImapError, match="STARTTLS is not supported"):
        await _poller(db, settings, starttls)
    assert _logins(dovecot_tls) == []
    assert await count(db, "message") == 0


async def test_changed_settings_restart_the_poller_and_a_removed_imap_host_stops_it(
    db, settings, dovecot
):
    from sqlalchemy import update

    from inbox.models import Inbox
    from tests.conftest import LiveServer

    inbox = await make_inbox(
        db, "email", config={"address": "support@shop.example", **dovecot.config()}
    )
    admin = await _client(dovecot)
    assert (await admin.create("Support")).result == "OK"
    await admin.logout()

    async def configure(config):  # what an admin's edit of the inbox writes
        async def work(tx):
            await tx.session.execute(
                update(Inbox).where(Inbox.id == inbox.id).values(config=config)
            )

        await db.run_write(work)

    async def stored(n, timeout):
        deadline = time.monotonic() + timeout
        while await count(db, "message") < n and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return await count(db, "message")

    async with LiveServer(settings):
        await _append(dovecot, "INBOX", *_mails(0, 1))
        assert await stored(1, 10) == 1
        await configure({"address": "support@shop.example", **dovecot.config("Support")})
        await _append(dovecot, "Support", *_mails(1, 1))
        assert await stored(2, 20) == 2  # the new mailbox is followed
        await configure({"address": "support@shop.example"})  # no IMAP any more
        await asyncio.sleep(6)
        await _append(dovecot, "Support", *_mails(2, 1))
        assert await stored(3, 7) == 2  # nobody polls it now
