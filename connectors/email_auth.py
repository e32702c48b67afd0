"""Did the receiving server prove the From domain (DKIM or DMARC pass in Authentication-Results)?

Anyone can write an Authentication-Results header into a message, so only the one our own server
added counts: the topmost (servers prepend), or the one whose authserv-id the inbox config names
(`auth_serv_id`, optional).
"""

from __future__ import annotations

import re

_RESULT = re.compile(r"\b(dkim|dmarc)\s*=\s*(\w+)([^;]*)", re.IGNORECASE)
_PROPERTY = re.compile(r"\bheader\.(d|i|from)\s*=\s*\"?@?([^\s;\"]+)", re.IGNORECASE)
_COMMENT = re.compile(r"\([^()]*\)")


def from_domain_proved(headers: list[str], from_domain: str, serv_id: str | None = None) -> bool:
    """True when our server's Authentication-Results pass DKIM or DMARC for `from_domain`."""
    if not headers or not from_domain:
        return False
    if serv_id:
        chosen = [h for h in headers if _serv_id(h) == serv_id.lower()]
    else:
        chosen = headers[:1]
    return any(_passes(header, from_domain.lower()) for header in chosen)


def _serv_id(header: str) -> str:
    return _COMMENT.sub("", header).split(";", 1)[0].strip().split()[0].lower() if header else ""


def _passes(header: str, domain: str) -> bool:
    body = _COMMENT.sub("", header.replace("\r", " ").replace("\n", " "))
    for _method, result, props in _RESULT.findall(body):
        if result.lower() != "pass":
            continue
        for _key, value in _PROPERTY.findall(props):
            signed = value.lower().rsplit("@", 1)[-1].rstrip(".")
            # Relaxed alignment: the signing domain is the From domain or a parent of it.
            if "." in signed and (domain == signed or domain.endswith("." + signed)):
                return True
    return False
