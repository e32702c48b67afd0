"""How long an SMS is: GSM-7 when every character is in the GSM 03.38 alphabet, else UCS-2.

Carriers bill per segment, so the reply box shows the count before an agent sends. A single
message holds 160 GSM-7 septets or 70 UCS-2 units; once split, each part loses room to its
concatenation header (153 and 67), and a character is never cut across two parts.
"""

from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 default alphabet (one septet each).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: an escape septet plus the character, two septets each.
GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")

SINGLE = {"GSM-7": 160, "UCS-2": 70}
PART = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class SmsLength:
    """The encoding an SMS needs, its size in that encoding's units, and its segment count."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    per_segment: int  # room in each segment at this length (160/153 or 70/67)

    def as_dict(self) -> dict[str, object]:
        return {
            "encoding": self.encoding,
            "units": self.units,
            "segments": self.segments,
            "per_segment": self.per_segment,
        }


def sms_length(text: str) -> SmsLength:
    """Encoding, size and segment count of `text` sent as one SMS (Korean is UCS-2)."""
    gsm = all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)
    encoding = "GSM-7" if gsm else "UCS-2"
    costs = [_cost(c, gsm) for c in text]
    units = sum(costs)
    if units <= SINGLE[encoding]:
        return SmsLength(encoding, units, 1 if units else 0, SINGLE[encoding])
    return SmsLength(encoding, units, _parts(costs, PART[encoding]), PART[encoding])


def _cost(char: str, gsm: bool) -> int:
    if gsm:
        return 2 if char in GSM7_EXTENDED else 1
    return 2 if ord(char) > 0xFFFF else 1  # outside the BMP: a UTF-16 surrogate pair


def _parts(costs: list[int], room: int) -> int:
    """Fill parts greedily; an escape sequence or surrogate pair moves whole to the next."""
    parts, used = 1, 0
    for cost in costs:
        if used + cost > room:
            parts, used = parts + 1, 0
        used += cost
    return parts
