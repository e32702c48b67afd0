"""The FAQ API (admins write, agents read, bad input is a 4xx) and `inbox faq import|export`."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from tests.factories import make_agent, make_inbox
from web.cli import main

ENTRY = {"question": "How much does shipping cost?", "answer": "3,000 KRW.", "language": "en"}


async def test_admins_write_agents_read(server, db):
    inbox = await make_inbox(db)
    admin = await make_agent(db, admin=True)
    agent = await make_agent(db, inboxes=[inbox])
    async with server.client(agent.token) as client:
        assert (await client.post("/api/v1/faq", json=ENTRY)).status_code == 403
    async with server.client() as client:
        assert (await client.get("/api/v1/faq")).status_code == 401
    async with server.client(admin.token) as client:
        created = (await client.post("/api/v1/faq", json=ENTRY)).json()
    async with server.client(agent.token) as client:
        listed = (await client.get("/api/v1/faq")).json()["items"]
        assert [e["id"] for e in listed] == [created["id"]]
        assert (await client.get(f"/api/v1/faq/{created['id']}")).json()["answer"] == "3,000 KRW."
        assert (await client.put(f"/api/v1/faq/{created['id']}", json=ENTRY)).status_code == 403
        assert (await client.delete(f"/api/v1/faq/{created['id']}")).status_code == 403
    async with server.client(admin.token) as client:
        assert (await client.delete(f"/api/v1/faq/{created['id']}")).status_code == 204
        assert (await client.get(f"/api/v1/faq/{created['id']}")).status_code == 404
        assert (await client.put(f"/api/v1/faq/{created['id']}", json=ENTRY)).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"question": "Shipping?"},
        {"question": "", "answer": "x"},
        {"question": "Shipping?", "answer": "x", "language": "english!"},
        {"question": "Shipping?", "answer": "x", "alternatives": "not a list"},
        {"question": "Shipping?", "answer": "x", "colour": "red"},
        {"question": "Shipping?", "answer": "x", "enabled": "yes"},
        {"question": "Shipping?", "answer": "x" * 5001},
        ["not", "an", "object"],
    ],
)
async def test_bad_entries_are_refused(server, db, body):
    admin = await make_agent(db, admin=True)
    async with server.client(admin.token) as client:
        response = await client.post("/api/v1/faq", json=body)
        assert response.status_code == 400, response.text
        assert (await client.get("/api/v1/faq")).json()["items"] == []


ROWS = [
    {
        "question": "배송비가 얼마인가요?",
        "alternatives": ["택배비는 얼마예요?", "배송비 무료인가요?"],
        "answer": "3,000원입니다.",
        "language": "ko",
    },
    {
        "question": "Can I return an item?",
        "alternatives": ["How do I send, or swap, it back?"],
        "answer": 'Yes, within "14 days".',
        "language": "en",
    },
]


@pytest.mark.parametrize("suffix", ["csv", "yaml"])
def test_import_export_round_trip_through_the_cli(
    settings, tmp_path: Path, monkeypatch, capsys, suffix
):
    monkeypatch.setenv("INBOX_DATABASE_URL", settings.database_url)
    source = tmp_path / f"faq.{suffix}"
    if suffix == "csv":
        with source.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["question", "alternatives", "answer", "language"])
            for row in ROWS:
                writer.writerow(
                    [row["question"], "|".join(row["alternatives"]), row["answer"], row["language"]]
                )
    else:
        source.write_text(yaml.safe_dump(ROWS, allow_unicode=True), encoding="utf-8")
    assert main(["faq", "import", str(source)]) == 0
    assert "imported 2 FAQ entries (2 new, 0 updated)" in capsys.readouterr().out
    assert main(["faq", "import", str(source)]) == 0  # again: updates, no duplicates
    assert "(0 new, 2 updated)" in capsys.readouterr().out
    exported = tmp_path / f"out.{suffix}"
    assert main(["faq", "export", str(exported)]) == 0
    assert "exported 2 FAQ entries" in capsys.readouterr().out
    if suffix == "csv":
        with exported.open(encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            assert reader.fieldnames == ["question", "alternatives", "answer", "language"]
            back = [{**r, "alternatives": r["alternatives"].split("|")} for r in reader]
    else:
        back = [
            {k: e[k] for k in ("question", "alternatives", "answer", "language")}
            for e in yaml.safe_load(exported.read_text(encoding="utf-8"))
        ]
    assert back == ROWS


def test_import_refuses_bad_files(settings, tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("INBOX_DATABASE_URL", settings.database_url)
    bad = tmp_path / "faq.csv"
    bad.write_text("question,answer\nShipping?,3000\n", encoding="utf-8")
    assert main(["faq", "import", str(bad)]) == 1
    assert "header" in capsys.readouterr().err
    empty_answer = tmp_path / "faq.yaml"
    empty_answer.write_text("- question: Shipping?\n  answer: ''\n", encoding="utf-8")
    assert main(["faq", "import", str(empty_answer)]) == 1
    assert "entry 1" in capsys.readouterr().err
    assert main(["faq", "import", str(tmp_path / "missing.yaml")]) == 1
    assert main(["faq", "export", str(tmp_path / "out.txt")]) == 1
