"""The `inbox` command line, run as a real process against the test database: what it prints
with `--json`, and that the credentials it issues work (and stop working) on the live API."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.web.support import CallbackReceiver, customer_writes, run_cli

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        lines = self.out.strip().splitlines()
        assert len(lines) == 1, f"--json must print one line, got {self.out!r}"
        data = json.loads(lines[0])
        assert isinstance(data, dict)
        return data


@pytest.fixture
def inbox_cli(settings):
    async def run(*args: str) -> Run:
        return Run(*await run_cli(settings, *args, public_url="http://inbox.test"))

    return run


async def create_agent(cli, email: str, *extra: str) -> dict:
    run = await cli(
        "create-agent",
        "--email",
        email,
        "--name",
        "Jamie Rivera",
        "--password",
        "correct horse battery",
        "--json",
        *extra,
    )
    assert run.code == 0, run.err
    return run.json()


async def create_inbox(cli, *extra: str) -> dict:
    run = await cli("create-inbox", "--kind", "api", "--name", "Shop backend", "--json", *extra)
    assert run.code == 0, run.err
    return run.json()


async def test_create_agent_prints_id_email_and_a_working_token(server, inbox_cli):
    agent = await create_agent(inbox_cli, "Jamie@Support.Example")
    assert set(agent) == {"id", "email", "token"}
    assert isinstance(agent["id"], int)
    assert agent["email"] == "jamie@support.example"
    assert isinstance(agent["token"], str) and len(agent["token"]) >= 20
    async with server.client(agent["token"]) as client:
        assert (await client.get("/api/v1/conversations")).status_code == 200
    async with server.client(agent["token"] + "x") as client:
        assert (await client.get("/api/v1/conversations")).status_code == 401


async def test_create_agent_without_json_prints_the_token_for_a_human(inbox_cli):
    run = await inbox_cli(
        "create-agent",
        "--email",
        "sam@support.example",
        "--name",
        "Sam",
        "--password",
        "correct horse battery",
    )
    assert run.code == 0, run.err
    assert "sam@support.example" in run.out


async def test_create_inbox_prints_its_webhook_url_and_a_token_for_the_api_channel(
    server, inbox_cli
):
    inbox = await create_inbox(inbox_cli)
    assert set(inbox) == {"id", "kind", "webhook_url", "token"}
    assert inbox["kind"] == "api"
    assert inbox["webhook_url"] == f"http://inbox.test/api/v1/inboxes/{inbox['id']}/messages"
    body = {"external_id": "cli-1", "customer": {"email": "a@example.com"}, "text": "hi"}
    async with server.client(inbox["token"]) as client:
        response = await client.post(f"/api/v1/inboxes/{inbox['id']}/messages", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["duplicate"] is False
    async with server.client(inbox["token"]) as client:
        # An inbox token is not an agent token.
        assert (await client.get("/api/v1/conversations")).status_code == 401


async def test_create_inbox_keeps_its_config(server, inbox_cli):
    with CallbackReceiver() as receiver:
        made = await create_inbox(inbox_cli, "--config", json.dumps({"callback_url": receiver.url}))
        agent = await create_agent(inbox_cli, "cal@support.example")
        run = await inbox_cli(
            "add-member", "--agent", "cal@support.example", "--inbox", str(made["id"])
        )
        assert run.code == 0, run.err
        ack = await customer_writes(server, SimpleNamespace(**made), email="a@example.com")
        async with server.client(agent["token"]) as client:
            reply = await client.post(
                f"/api/v1/conversations/{ack['conversation_id']}/messages",
                json={"text": "Thanks for writing"},
            )
            assert reply.status_code == 201, reply.text
        [delivery] = await receiver.wait(1)
    assert delivery.json()["text"] == "Thanks for writing"
    expected = hmac.new(made["token"].encode(), delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["x-inbox-signature"] == f"sha256={expected}"


@pytest.mark.parametrize("config", ["{not json", "[1, 2]", '"text"'])
async def test_create_inbox_refuses_a_config_that_is_not_a_json_object(inbox_cli, config):
    run = await inbox_cli(
        "create-inbox", "--kind", "api", "--name", "X", "--config", config, "--json"
    )
    assert run.code != 0
    assert "config" in run.err.lower()
    assert "Traceback" not in run.err
    assert run.out.strip() == ""


async def test_create_inbox_refuses_an_unknown_kind(inbox_cli):
    run = await inbox_cli("create-inbox", "--kind", "carrier-pigeon", "--name", "X")
    assert run.code != 0
    assert "kind" in run.err.lower()


async def test_add_member_lets_an_agent_see_the_inbox(server, inbox_cli):
    agent = await create_agent(inbox_cli, "casey@support.example")
    made = await create_inbox(inbox_cli)
    ack = await customer_writes(
        server, SimpleNamespace(**made), "Hello from the shop", email="a@example.com"
    )
    path = f"/api/v1/conversations/{ack['conversation_id']}"
    async with server.client(agent["token"]) as client:
        assert (await client.get(path)).status_code == 404
        assert (await client.get("/api/v1/conversations")).json()["items"] == []

        run = await inbox_cli(
            "add-member", "--agent", "Casey@Support.Example", "--inbox", str(made["id"])
        )
        assert run.code == 0, run.err

        assert (await client.get(path)).status_code == 200
        listed = (await client.get("/api/v1/conversations")).json()["items"]
        assert [c["id"] for c in listed] == [ack["conversation_id"]]

        again = await inbox_cli(
            "add-member", "--agent", "casey@support.example", "--inbox", str(made["id"])
        )
        assert again.code == 0, again.err


async def test_an_admin_created_by_the_cli_sees_inboxes_without_membership(server, inbox_cli):
    admin = await create_agent(inbox_cli, "root@support.example", "--admin")
    made = await create_inbox(inbox_cli)
    ack = await customer_writes(server, SimpleNamespace(**made), email="a@example.com")
    async with server.client(admin["token"]) as client:
        response = await client.get(f"/api/v1/conversations/{ack['conversation_id']}")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("agent", "inbox", "words"),
    [
        ("nobody@support.example", None, "nobody@support.example"),
        ("casey@support.example", 424242, "424242"),
    ],
    ids=["unknown-agent", "unknown-inbox"],
)
async def test_add_member_of_something_unknown_fails_clearly(inbox_cli, agent, inbox, words):
    await create_agent(inbox_cli, "casey@support.example")
    made = await create_inbox(inbox_cli)
    run = await inbox_cli("add-member", "--agent", agent, "--inbox", str(inbox or made["id"]))
    assert run.code != 0
    assert words in run.err
    assert "Traceback" not in run.err


async def test_reset_token_issues_a_new_token_and_revokes_the_old(server, inbox_cli):
    agent = await create_agent(inbox_cli, "riley@support.example")
    run = await inbox_cli("reset-token", "--agent", "riley@support.example", "--json")
    assert run.code == 0, run.err
    fresh = run.json()
    assert fresh["token"] != agent["token"]
    assert fresh.get("email", "riley@support.example") == "riley@support.example"
    async with server.client(fresh["token"]) as client:
        assert (await client.get("/api/v1/conversations")).status_code == 200
    async with server.client(agent["token"]) as client:
        response = await client.get("/api/v1/conversations")
    assert response.status_code == 401, response.text


async def test_reset_token_of_an_unknown_agent_fails_clearly(inbox_cli):
    run = await inbox_cli("reset-token", "--agent", "ghost@support.example", "--json")
    assert run.code != 0
    assert "ghost@support.example" in run.err
    assert run.out.strip() == ""


@pytest.mark.parametrize(
    "again", ["dana@support.example", "DANA@Support.Example", "  dana@support.example "]
)
async def test_a_duplicate_agent_email_is_refused_with_a_clear_message(server, inbox_cli, again):
    first = await create_agent(inbox_cli, "dana@support.example")
    run = await inbox_cli(
        "create-agent",
        "--email",
        again,
        "--name",
        "Dana Two",
        "--password",
        "another long password",
        "--json",
    )
    assert run.code != 0
    assert "already exists" in run.err
    assert "dana@support.example" in run.err
    assert "Traceback" not in run.err
    assert run.out.strip() == ""
    # The first agent's token still works: nothing was overwritten.
    async with server.client(first["token"]) as client:
        assert (await client.get("/api/v1/conversations")).status_code == 200


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--email", "eve@support.example", "--name", "Eve", "--password", "short"], "password"),
        (["--email", "not-an-email", "--name", "Eve", "--password", "long enough pass"], "email"),
        (
            ["--email", "eve@support.example", "--name", "  ", "--password", "long enough pass"],
            "name",
        ),
    ],
    ids=["short-password", "bad-email", "blank-name"],
)
async def test_create_agent_refuses_bad_input_with_a_clear_message(inbox_cli, args, words):
    run = await inbox_cli("create-agent", *args, "--json")
    assert run.code != 0
    assert words in run.err.lower()
    assert "Traceback" not in run.err
    assert run.out.strip() == ""


async def test_demo_bulk_loads_findable_customers_and_messages_with_progress(server, db, inbox_cli):
    run = await inbox_cli("demo", "--customers", "30", "--messages", "400")
    assert run.code == 0, run.err
    assert "messages: 400/400" in run.out and "customers: 30/30" in run.out
    async with db.read() as session:
        from sqlalchemy import text

        bulk = (
            await session.execute(
                text(
                    "SELECT count(*) FROM message m JOIN customer c ON c.id = m.customer_id "
                    "WHERE c.name LIKE 'Customer %'"
                )
            )
        ).scalar_one()
    assert bulk == 400
    token = (await inbox_cli("reset-token", "--agent", "admin@example.com", "--json")).json()
    async with server.client(token["token"]) as client:
        found = (await client.get("/api/v1/search", params={"q": "Customer 7"})).json()
    assert "customer7@bulk.example" in [
        i["value"] for c in found["customers"] for i in c["identities"]
    ]
