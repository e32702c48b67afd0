"""Real-world messages nobody here wrote (/work/shared/corpus/email, licences in each folder) and
hostile HTML: every one is answered 2xx through the webhook, and nothing executable is stored."""

from __future__ import annotations

import re

import pytest

from inbox.models import Message
from tests.connectors.email_peers import CORPUS, mime, post_mime
from tests.factories import make_inbox

SKIP = {"LICENSE", "README.md", ".gitattributes"}
EXECUTABLE = re.compile(
    r"<script|<svg|<iframe|<object|<embed|<form|<style|\son\w+\s*=|javascript:|vbscript:"
    r"|expression\(|<meta|<link|<base|srcdoc|data:text",
    re.IGNORECASE,
)


def corpus_files() -> list:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in SKIP)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the mail corpus is not at {CORPUS}")
async def test_every_corpus_message_is_accepted_and_stored_safely(server, db):
    inbox = await make_inbox(db, "email", config={"address": "support@shop.example"})
    files = corpus_files()
    assert len(files) >= 300
    answers: dict[str, int] = {}
    for path in files:
        raw = path.read_bytes()
        response = await post_mime(server, inbox, raw)
        answers[str(path.relative_to(CORPUS))] = response.status_code
        # A few of talon's files are empty: no message at all, so a clear 400.
        expected = (200, 201) if raw.strip() else (400,)
        assert response.status_code in expected, (path, response.text)
    async with db.read() as session:
        rows = (await session.execute(Message.__table__.select())).all()
    assert len(rows) > 250  # bounces and reports become no message; the rest do
    for row in rows:
        assert not EXECUTABLE.search(row.html or ""), row.external_id
        assert "\x00" not in row.text


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the mail corpus is not at {CORPUS}")
@pytest.mark.parametrize(
    ("name", "subject", "text_start"),
    [
        ("php-imap/ks_c_5601-1987_headers.eml", "RE: 회원님께 Ersi님이 메시지를 보냈습니다.", None),
        ("ruby-mail/multi_charset/ks_c_5601-1987.eml", None, "스티해"),
        ("ruby-mail/multi_charset/japanese_iso_2022.eml", "まみむめも", "すみません。"),
        ("ruby-mail/multi_charset/japanese_shift_jis.eml", None, "あいうえお"),
        ("mimekit/messages/japanese.txt", "日本語メールテスト (testing Japanese emails)", None),
        ("talon/standard_replies/gmail.eml", "Re: Test", None),
    ],
)
async def test_corpus_charsets_read_right(server, db, name, subject, text_start):
    inbox = await make_inbox(db, "email", config={"address": "support@shop.example"})
    response = await post_mime(server, inbox, (CORPUS / name).read_bytes())
    assert response.status_code == 201, response.text
    async with db.read() as session:
        message = await session.get(Message, response.json()["message_id"])
    if subject is not None:
        assert message.subject == subject
    if text_start is not None:
        assert message.text.startswith(text_start)
    assert "\ufffd" not in (message.subject or "") + message.text


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the mail corpus is not at {CORPUS}")
async def test_corpus_replies_fold_to_the_new_text(server, db):
    inbox = await make_inbox(db, "email", config={"address": "support@shop.example"})
    folder = CORPUS / "talon" / "standard_replies"
    for path in sorted(folder.glob("*.eml")):
        response = await post_mime(server, inbox, path.read_bytes())
        assert response.status_code == 201, (path, response.text)
        async with db.read() as session:
            message = await session.get(Message, response.json()["message_id"])
        assert message.stripped_text.strip() == "Hello", path.name
        assert len(message.text) > len(message.stripped_text), path.name


HOSTILE_HTML = [
    "<script>alert(1)</script><p>hi</p>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt&colon;alert(1)">click</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    "<svg><script>alert(1)</script></svg>",
    "<svg onload=alert(1)>",
    '<div style="width: expression(alert(1))">css</div>',
    '<style>body{background:url("javascript:alert(1)")}</style>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<form action="https://evil.example"><input name=pw></form>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></object>',
    "<<script>script>alert(1)<</script>/script>",
    '<a href="data:text/html,<script>alert(1)</script>">d</a>',
    "<body onload=alert(1)><p>x</p>",
]


async def test_hostile_html_is_stored_without_anything_executable(server, db):
    inbox = await make_inbox(db, "email", config={"address": "support@shop.example"})
    for n, hostile in enumerate(HOSTILE_HTML):
        raw = mime(
            html=hostile,
            message_id=f"<xss{n}@evil.example>",
            subject="<img src=x onerror=alert(1)> =?utf-8?q?=3Cscript=3E?=",
        )
        response = await post_mime(server, inbox, raw)
        assert response.status_code == 201, (hostile, response.text)
        async with db.read() as session:
            message = await session.get(Message, response.json()["message_id"])
        assert not EXECUTABLE.search(message.html or ""), (hostile, message.html)
        # Subjects are text: stored as written, escaped wherever they are rendered.
        assert message.subject == "<img src=x onerror=alert(1)> <script>"


async def test_remote_images_are_held_back_until_asked_for(server, db):
    inbox = await make_inbox(db, "email", config={"address": "support@shop.example"})
    html = (
        '<p>Logo <img src="https://tracker.example/pixel.gif?u=1" alt="a>b">'
        '<img src="//cdn.example/x.png"><img src="cid:inline1"></p>'
    )
    response = await post_mime(server, inbox, mime(html=html))
    async with db.read() as session:
        message = await session.get(Message, response.json()["message_id"])
    assert ' src="https:' not in message.html and ' src="//' not in message.html
    assert 'data-remote-src="https://tracker.example/pixel.gif?u=1"' in message.html
    assert 'src="cid:inline1"' in message.html
    assert message.meta["remote_images_held"] == 2
