"""`inbox demo`: agents, one inbox per channel, a cross-channel story, and optional bulk data."""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import Any

from inbox import agents
from inbox.bulk import bulk_load
from inbox.channel import IdentityClaim, InboundMessage
from inbox.db import Database
from inbox.ingest import ingest
from inbox.models import Inbox, utcnow
from inbox.settings import Settings
from web.urls import webhook_url

ADMIN = ("admin@example.com", "Ada Admin", "demo-password")
AGENT = ("minji@example.com", "Minji Park", "demo-password")
INBOXES: list[tuple[str, str, dict[str, Any]]] = [
    ("api", "Shop backend (API)", {}),
    (
        "twilio",
        "SMS & WhatsApp +1 415 555 0100",
        {
            "phone_number": "+14155550100",
            "account_sid": "AC" + "0" * 32,
            "auth_token": "demo-twilio-auth-token",
        },
    ),
    ("email", "support@example.com", {"address": "support@example.com"}),
    (
        "telegram",
        "Telegram @ExampleShopBot",
        {"bot_token": "123456:demo", "secret_token": "demo-telegram-secret"},
    ),
    ("webchat", "Website chat", {"allowed_origins": ["http://127.0.0.1:8000"]}),
    (
        "whatsapp",
        "WhatsApp Cloud +82 2 555 0100",
        {
            "phone_number_id": "100000000000001",
            "display_phone_number": "+82 2 555 0100",
            "access_token": "demo-access-token",
            "app_secret": "demo-app-secret",
            "verify_token": "demo-verify-token",
        },
    ),
]
# Demo credentials are placeholders: replies go to the simulator's stand-in provider API on
# this app (shown on /simulator as the customer's phone), never to a real provider.
SIMULATED_PROVIDERS = ("twilio", "whatsapp", "telegram")


def demo_config(settings: Settings, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """A demo inbox's config, with provider APIs pointed at the simulator's sink."""
    if kind not in SIMULATED_PROVIDERS:
        return dict(config)
    return {**config, "api_base_url": f"{settings.public_url}/simulator/provider/{kind}"}


def _say(message: str) -> None:
    print(message, flush=True)


async def load_demo(db: Database, settings: Settings, customers: int, messages: int) -> None:
    """Seed the demo once (running it again keeps what is there) and add bulk data if asked."""
    async with db.read() as session:
        seeded = await agents.agent_exists(session, ADMIN[0])
    if not seeded:
        inboxes = await _seed_accounts(db, settings)
        await _story(db, settings, inboxes)
        _say("demo story loaded: 5 customers across SMS, WhatsApp, email, Telegram, chat and API")
    else:
        _say("demo accounts already exist; keeping them")
    if customers or messages:
        await bulk_load(db, max(customers, 1), messages, progress=_progress)
    _say(
        f"log in at {settings.public_url}/login as {ADMIN[0]} / {ADMIN[2]} (admin)"
        f" or {AGENT[0]} / {AGENT[2]}"
    )
    if settings.simulator:
        _say(f"play a customer on any channel at {settings.public_url}/simulator (as the admin)")


async def _seed_accounts(db: Database, settings: Settings) -> dict[str, Inbox]:
    admin = await agents.create_agent(db, *ADMIN, admin=True)
    await agents.create_agent(db, *AGENT)
    inboxes = {}
    for kind, name, config in INBOXES:
        inbox = await agents.create_inbox(db, kind, name, demo_config(settings, kind, config))
        inboxes[kind] = inbox
        await agents.add_member(db, AGENT[0], inbox.id or 0)
        _say(
            f"  inbox {inbox.id} {kind:9} {webhook_url(settings, kind, inbox.id or 0, inbox.token)}"
        )
    _say(f"  admin API token: {admin.token}")
    return inboxes


async def _story(db: Database, settings: Settings, inboxes: dict[str, Inbox]) -> None:
    """Customers who switch channels mid-issue, in English and Korean."""
    now = utcnow()

    def at(minutes_ago: int) -> Any:
        return now - timedelta(minutes=minutes_ago)

    def msg(
        kind: str,
        ext: str,
        claims: list[IdentityClaim],
        body: str,
        ago: int,
        channel: str | None = None,
        name: str | None = None,
        subject: str | None = None,
    ) -> InboundMessage:
        return InboundMessage(
            inbox_id=inboxes[kind].id or 0,
            external_id=ext,
            identities=tuple(claims),
            text=body,
            channel=channel or kind,
            customer_name=name,
            sent_at=at(ago),
            subject=subject,
        )

    sarah_email = IdentityClaim("email", "sarah.kim@example.org")
    sarah_phone = IdentityClaim("phone", "+1 415 555 0142")
    minjun_phone = IdentityClaim("phone", "+82 10-2345-6789")
    story = [
        msg(
            "email",
            "<order-4411@example.org>",
            [sarah_email],
            "Hi, my order #4411 still hasn't shipped. It was due last Friday. Can you check?",
            180,
            name="Sarah Kim",
            subject="Order #4411 not shipped",
        ),
        msg(
            "api",
            "shop-evt-9001",
            [sarah_email, sarah_phone],
            "Customer opened the order page for #4411 and clicked 'Where is my order?'",
            170,
        ),
        msg(
            "twilio",
            "SMdemo0001",
            [sarah_phone],
            "Texting instead since I'm out - any news on #4411?",
            60,
            channel="sms",
        ),
        msg(
            "telegram",
            "tg-5001",
            [IdentityClaim("telegram", "500123456")],
            "안녕하세요, 제주도까지 배송비가 얼마예요?",
            120,
            name="김민준",
        ),
        msg(
            "twilio",
            "SMdemo0002",
            [minjun_phone],
            "배송 비용 알려주세요. 주문번호 7720 입니다",
            90,
            channel="whatsapp",
            name="김민준",
        ),
        msg(
            "api",
            "shop-evt-9002",
            [
                minjun_phone,
                IdentityClaim("telegram", "500123456"),
                IdentityClaim("email", "minjun.kim@example.kr"),
            ],
            "Logged-in user linked Telegram and phone in account settings",
            80,
        ),
        msg(
            "webchat",
            "wc-visitor-1-1",
            [
                IdentityClaim("webchat", "visitor-8f2a"),
                IdentityClaim("email", "sarah.kim@example.org", verified=False),
            ],
            "Hello? I'm Sarah, I emailed about order 4411",
            30,
            name="Visitor 8f2a",
        ),
        msg(
            "whatsapp",
            "wamid.demo.1",
            [IdentityClaim("phone", "+82 10 9876 5432")],
            "환불은 언제 처리되나요?",
            20,
            name="이서연",
        ),
        msg(
            "email",
            "<invoice-q@acme.example>",
            [IdentityClaim("email", "ops@acme.example")],
            "Please send the invoice for March again, our copy is missing page 2.",
            10,
            name="Acme Ops",
            subject="Invoice for March",
        ),
    ]
    for inbound in story:
        await ingest(db, inbound, settings)


def _progress(what: str, done: int, total: int, started: float) -> None:
    rate = done / max(time.monotonic() - started, 1e-6)
    sys.stdout.write(f"\r  {what}: {done:,}/{total:,} ({rate:,.0f}/s)")
    if done >= total:
        sys.stdout.write("\n")
    sys.stdout.flush()
