"""The matcher over the current entries, per process, rebuilt as soon as an entry changes.

Each use reads the knowledge base's version (one primary-key lookup); when another process or
this one changed an entry, the entries are read again and the index rebuilt off the event loop.
Vectors of unchanged phrasings are remembered, so a rebuild encodes only what changed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.faq.matcher import EntryText, Match, Matcher, language_of
from inbox.faq.models import FaqEntry
from inbox.faq.store import kb_version, list_entries


@dataclass(frozen=True)
class Snapshot:
    version: str
    matcher: Matcher
    entries: dict[int, FaqEntry] = field(default_factory=dict)

    def rank(self, text: str, limit: int = 3) -> list[tuple[FaqEntry, Match]]:
        """Entries for `text`, best first, in the text's language where there are any."""
        if not self.entries:
            return []
        found = self.matcher.rank(text, limit=limit, language=language_of(text))
        return [(self.entries[m.entry_id], m) for m in found]


class KnowledgeBase:
    """Hands out the snapshot of the current version of the entries."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._lock = asyncio.Lock()

    async def current(self, session: AsyncSession) -> Snapshot:
        version = await kb_version(session)
        snapshot = self._snapshot
        if snapshot is not None and snapshot.version == version:
            return snapshot
        async with self._lock:
            if self._snapshot is not None and self._snapshot.version == version:
                return self._snapshot
            entries = await list_entries(session, enabled_only=True)
            texts = [
                EntryText(e.id or 0, e.language, (e.question, *e.alternatives)) for e in entries
            ]
            matcher = await asyncio.to_thread(Matcher, texts)
            self._snapshot = Snapshot(version, matcher, {e.id or 0: e for e in entries})
            return self._snapshot


_BASES: dict[str, KnowledgeBase] = {}


def knowledge_base(database_url: str) -> KnowledgeBase:
    """The process's knowledge base of one database."""
    return _BASES.setdefault(database_url, KnowledgeBase())
