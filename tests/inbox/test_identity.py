"""Identity normalisation: one canonical value per phone number or email address."""

import pytest

from inbox.channel import IdentityClaim, InvalidInbound
from inbox.identity import normalise, normalise_claims
from inbox.ingest import ingest
from tests.factories import inbound, make_inbox


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("010-1234-5678", "KR", "+821012345678"),
        ("010 1234 5678", "KR", "+821012345678"),
        ("+82 10-1234-5678", "US", "+821012345678"),
        ("whatsapp:+821012345678", "US", "+821012345678"),
        ("821012345678", "US", "+821012345678"),  # WhatsApp's wa_id has no plus
        ("(415) 555-0142", "US", "+14155550142"),
        ("+1 415 555 0142", "KR", "+14155550142"),
        ("+44 20 7946 0958", "KR", "+442079460958"),
        ("tel:+33 1 23 45 67 89", "US", "+33123456789"),
    ],
)
def test_phone_numbers_become_e164(raw, region, expected):
    assert normalise("phone", raw, region) == ("phone", expected)


def test_whatsapp_numbers_are_phone_identities():
    assert normalise("whatsapp", "whatsapp:+82 10 1234 5678") == ("phone", "+821012345678")


def test_emails_are_lower_cased_and_trimmed():
    assert normalise("email", "  Sarah.Kim@Example.ORG ") == ("email", "sarah.kim@example.org")


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("phone", "not a number"),
        ("phone", "12"),
        ("email", "no-at-sign"),
        ("email", "two@@example.com"),
        ("email", "a@b"),
        ("carrier-pigeon", "coo"),
        ("telegram", ""),
        ("webchat", "visitor\r\nX-Injected: 1"),
    ],
)
def test_junk_identities_are_refused(kind, value):
    with pytest.raises(InvalidInbound):
        normalise(kind, value, "KR")


def test_claims_collapse_and_verified_wins():
    claims = normalise_claims(
        [
            IdentityClaim("email", "A@x.io", verified=False),
            IdentityClaim("email", "a@x.io", verified=True),
            IdentityClaim("whatsapp", "whatsapp:+821012345678"),
            IdentityClaim("phone", "010-1234-5678"),
        ],
        "KR",
    )
    assert claims == [
        IdentityClaim("email", "a@x.io", True),
        IdentityClaim("phone", "+821012345678", True),
    ]


async def test_whatsapp_and_local_sms_number_are_one_customer(db, settings):
    twilio = await make_inbox(db, "twilio")
    first = await ingest(
        db, inbound(twilio, "hi", phone="whatsapp:+821012345678", channel="whatsapp"), settings
    )
    second = await ingest(
        db, inbound(twilio, "again", phone="010-1234-5678", channel="sms"), settings
    )
    assert second.customer_id == first.customer_id
