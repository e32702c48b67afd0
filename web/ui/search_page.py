"""The search page: customers and messages matching the header's search box, terms marked."""

from __future__ import annotations

import re
from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Template
from markupsafe import Markup, escape

from inbox import queries
from inbox.access import Viewer
from inbox.errors import Invalid
from inbox.listing import customer_names, latest_conversations
from inbox.search import query_groups
from web.runtime import Runtime

MAX_QUERY = 200
SNIPPET = 240  # characters of a long message shown around its first match
SECTIONS = ("customers", "messages")


def term_pattern(q: str) -> re.Pattern[str] | None:
    """What the search matched, as the index reads it: words by prefix, Korean runs anywhere."""
    parts = []
    for cjk, terms in query_groups(q):
        # A Korean run was split into overlapping bigrams; join them back into the run.
        run = terms[0] + "".join(term[1:] for term in terms[1:])
        parts.append(re.escape(run) if cjk else r"(?<!\w)" + re.escape(run))
    if not parts:
        return None
    return re.compile("|".join(sorted(parts, key=len, reverse=True)), re.IGNORECASE)


def highlight(text: str | None, pattern: re.Pattern[str] | None, window: int = 0) -> Markup:
    """`text` escaped, with the matched terms in <mark>; `window` trims long text around the
    first match."""
    text = text or ""
    if window and len(text) > window:
        first = pattern.search(text) if pattern else None
        start = max(0, (first.start() if first else 0) - window // 3)
        end = start + window
        text = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
    if pattern is None:
        return escape(text)
    out, last = [], 0
    for match in pattern.finditer(text):
        out += [escape(text[last : match.start()]), Markup("<mark>"), escape(match.group())]
        out.append(Markup("</mark>"))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


class SearchPageController(Controller):
    include_in_schema = False

    @get("/search")
    async def search_page(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        q: FromQuery[str] = "",
        section: FromQuery[str] = "",
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        """Both sections on the first page; `section` with `cursor` pages through one of them."""
        q = q.strip()
        if len(q) > MAX_QUERY:
            raise Invalid("the search is longer than %(most)s characters", most=MAX_QUERY)
        if section and section not in SECTIONS:
            raise Invalid("section must be customers or messages")
        if cursor and not section:
            raise Invalid("a cursor needs its section")
        results: dict[str, Any] = {}
        if q:
            async with runtime.db.read() as session:
                results = await _results(session, ui_viewer, q, section, cursor)
        context = {
            **results,
            "search_q": q,
            "section": section,
            "pattern": term_pattern(q),
            "highlight": highlight,
            "snippet": SNIPPET,
            "viewer": ui_viewer,
        }
        return Template("search.html", context=context)


async def _results(
    session: Any, viewer: Viewer, q: str, section: str, cursor: str | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if section in ("", "customers"):
        page = await queries.list_customers(session, viewer, q=q, cursor=cursor, limit=10)
        leads = await latest_conversations(session, viewer, [c["id"] for c in page.items])
        out["customers"] = [{**c, "conversation_id": leads.get(c["id"])} for c in page.items]
        out["customers_next"] = page.next
    if section in ("", "messages"):
        page = await queries.search_messages(session, viewer, q, cursor=cursor, limit=20)
        names = await customer_names(session, [m["customer_id"] for m in page.items])
        out["messages"] = [{**m, "customer_name": names.get(m["customer_id"])} for m in page.items]
        out["messages_next"] = page.next
    return out
