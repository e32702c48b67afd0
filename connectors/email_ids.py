"""Message-IDs: ours carry an HMAC so nobody can forge one; theirs are normalised for dedupe."""

from __future__ import annotations

import hashlib
import hmac
import re

_ANGLED = re.compile(r"<([^<>\s]{1,1000})>")
_OURS = re.compile(r"^inbox\.(\d{1,12})\.([0-9a-f]{20})@([^@\s]+)$")
_REPLY_TOKEN = re.compile(r"^[^+@\s]+\+m(\d{1,12})-([0-9a-f]{12})@", re.IGNORECASE)
TRACE_HEADERS = {"received", "delivered-to", "return-path", "x-original-to"}
MAX_ID = 255


def _sign(secret: str, purpose: str, message_id: int, length: int) -> str:
    mac = hmac.new(secret.encode(), f"{purpose}:{message_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:length]


def our_message_id(secret: str, message_id: int, domain: str) -> str:
    """The Message-ID (without brackets) of our outgoing message `message_id`."""
    return f"inbox.{message_id}.{_sign(secret, 'msgid', message_id, 20)}@{domain}"


def is_ours(secret: str, ref: str) -> bool:
    """Whether a Message-ID was generated and signed by us (forged ones fail the HMAC)."""
    found = _OURS.match(ref)
    if found is None:
        return False
    expected = _sign(secret, "msgid", int(found.group(1)), 20)
    return hmac.compare_digest(expected, found.group(2))


def reply_address(secret: str, address: str, message_id: int) -> str:
    """`local+m<id>-<mac>@domain`: a Reply-To that names our message even if headers are lost."""
    local, _, domain = address.partition("@")
    return f"{local}+m{message_id}-{_sign(secret, 'reply', message_id, 12)}@{domain}"


def referenced_by_address(secret: str, address: str, domain: str) -> str | None:
    """Our Message-ID that a signed reply address names, or None."""
    found = _REPLY_TOKEN.match(address)
    if found is None:
        return None
    message_id = int(found.group(1))
    if not hmac.compare_digest(_sign(secret, "reply", message_id, 12), found.group(2).lower()):
        return None
    return our_message_id(secret, message_id, domain)


def message_ids(raw: str | None) -> list[str]:
    """The ids in a Message-ID, In-Reply-To or References header, in header order."""
    if not raw:
        return []
    found = [normalise_id(m) for m in _ANGLED.findall(raw)]
    if not found and raw.strip() and " " not in raw.strip():
        found = [normalise_id(raw.strip())]  # some clients drop the angle brackets
    return [f for f in found if f]


def normalise_id(value: str) -> str:
    """The external id for a Message-ID: without brackets, hashed when too long to store."""
    value = value.strip().strip("<>").strip()
    if any(ord(c) < 33 for c in value):
        return ""
    if len(value) > MAX_ID:
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()
    return value


def content_key(raw: bytes) -> str:
    """A dedupe key for mail without a Message-ID: its bytes minus per-delivery trace headers."""
    text = raw.replace(b"\r\n", b"\n")
    head, sep, body = text.partition(b"\n\n")
    kept: list[bytes] = []
    skipping = False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower().decode("ascii", "replace")
        skipping = name in TRACE_HEADERS
        if not skipping:
            kept.append(line)
    digest = hashlib.sha256(b"\n".join(kept) + sep + body).hexdigest()
    return f"sha256:{digest}"
