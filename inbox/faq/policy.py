"""When the bot may speak, and what it says: pure rules over a message and its inbox's config."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from inbox.faq.matcher import DEFAULT_THRESHOLD

# Carrier keywords: answering them would be spam at best and unlawful at worst.
KEYWORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "수신거부", "start", "unstop"}
)
_PERSON_EN = re.compile(r"\b(agents?|humans?)\b", re.IGNORECASE)
_PERSON_KO = ("상담원", "사람")
SHORT_CHANNELS = frozenset({"sms", "whatsapp", "telegram", "twilio"})
SHORT_LIMIT = 640  # four SMS segments: past that an answer belongs on a web page
REPEAT_WINDOW = timedelta(hours=24)
TEXTS = {
    "unsure": {
        "en": "I'm not sure I can answer that correctly, so I've passed it to our team. "
        "Someone will reply here soon.",
        "ko": "정확히 답변드리기 어려워 담당자에게 전달했어요. 곧 이곳으로 답변드릴게요.",
    },
    "handover": {
        "en": "Of course, I'm connecting you with a person from our team. "
        "They'll reply here shortly.",
        "ko": "상담원에게 연결해 드릴게요. 곧 이곳으로 답변드릴게요.",
    },
}


@dataclass(frozen=True)
class BotConfig:
    """An inbox's bot settings: `bot_enabled`, `bot_threshold` and the texts it may say."""

    enabled: bool
    threshold: float
    repeat_window: timedelta
    texts: dict[str, Any]

    def say(self, kind: str, language: str) -> str:
        """The configured (or default) `unsure`/`handover` text in the customer's language."""
        custom = self.texts.get(kind)
        if isinstance(custom, str) and custom.strip():
            return custom.strip()
        if isinstance(custom, dict) and isinstance(custom.get(language), str):
            return str(custom[language])
        return TEXTS[kind].get(language, TEXTS[kind]["en"])


def bot_config(config: dict[str, Any]) -> BotConfig:
    """Read an inbox's config; values of the wrong type fall back to the defaults."""
    enabled = config.get("bot_enabled", True)
    threshold = config.get("bot_threshold")
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 <= threshold <= 1
    ):
        threshold = DEFAULT_THRESHOLD
    hours = config.get("bot_repeat_window_hours")
    return BotConfig(
        enabled=enabled is not False,
        threshold=float(threshold),
        repeat_window=timedelta(hours=hours)
        if isinstance(hours, int) and hours >= 0
        else REPEAT_WINDOW,
        texts={
            "unsure": config.get("bot_unsure_text"),
            "handover": config.get("bot_handover_text"),
        },
    )


def silence_reason(text: str, has_attachments: bool, meta: dict[str, Any]) -> str | None:
    """Why the bot must not answer this message at all (None: it may)."""
    if meta.get("auto_generated") or meta.get("auto_submitted") or meta.get("bulk"):
        return "auto-generated"
    if meta.get("consent"):
        return "keyword"
    words = text.strip().strip("!.").strip().lower()
    if words in KEYWORDS:
        return "keyword"
    if not words:
        return "attachments-only" if has_attachments else "empty"
    return None


def wants_person(text: str) -> bool:
    """The customer asks for a person: "agent", "human", "상담원", "사람"."""
    return bool(_PERSON_EN.search(text)) or any(word in text for word in _PERSON_KO)


def format_answer(answer: str, answer_rich: str | None, channel: str) -> str:
    """Short plain text for SMS-like channels; the rich version where it can be shown."""
    if channel in SHORT_CHANNELS or not answer_rich:
        if len(answer) <= SHORT_LIMIT or channel not in SHORT_CHANNELS:
            return answer
        return answer[: SHORT_LIMIT - 1].rstrip() + "…"
    return answer_rich
