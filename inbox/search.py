"""Full-text search over messages and customers, Korean included, on SQLite and PostgreSQL.

Korean is written without reliable word breaks (`배송비가` holds `배송`), so runs of Hangul and
CJK characters are indexed as overlapping character bigrams, the way Lucene's CJK analyser
does; other words are indexed whole and matched by prefix. The same terms feed SQLite FTS5
and PostgreSQL `tsvector`, so both databases find the same things.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import ColumnElement, Connection, TextClause, func, text
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy import text as sa_text

from inbox.statements import Prepared

PREFIX_INDEXED = 8  # FTS5 prefix indexes cover 2..8 characters (revision 0006_search_prefix)
_RUN = re.compile(r"\w+", re.UNICODE)
_MAX_QUERY_TERMS = 16


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0xAC00 <= code <= 0xD7A3  # Hangul syllables
        or 0x1100 <= code <= 0x11FF
        or 0x3130 <= code <= 0x318F
        or 0x3040 <= code <= 0x30FF  # kana
        or 0x4E00 <= code <= 0x9FFF  # CJK ideographs
    )


def _split(word: str) -> list[tuple[bool, str]]:
    """Split a word into alternating CJK and other runs."""
    parts: list[tuple[bool, str]] = []
    for ch in word:
        cjk = _is_cjk(ch)
        if parts and parts[-1][0] == cjk:
            parts[-1] = (cjk, parts[-1][1] + ch)
        else:
            parts.append((cjk, ch))
    return parts


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_terms(body: str) -> str:
    """The text as the index stores it: words lower-cased, CJK runs as bigrams."""
    out: list[str] = []
    for word in _RUN.findall(body.lower()):
        for cjk, run in _split(word):
            out.extend(_bigrams(run) if cjk else [run])
    return " ".join(out)


def query_groups(query: str) -> list[tuple[bool, list[str]]]:
    """The query as groups that must all match: CJK runs as bigram phrases, words as prefixes."""
    groups: list[tuple[bool, list[str]]] = []
    for word in _RUN.findall(query.lower())[:_MAX_QUERY_TERMS]:
        for cjk, run in _split(word):
            groups.append((cjk, _bigrams(run) if cjk else [run]))
    return groups


def fts5_query(groups: Sequence[tuple[bool, list[str]]]) -> str:
    parts = []
    for cjk, terms in groups:
        # Terms are \w+ only, so they cannot break out of the quotes. A word is a prefix of
        # at most PREFIX_INDEXED characters, the longest the FTS5 prefix index serves (longer
        # ones would merge every matching term's list first): "cancellation" finds
        # "cancellations", and also "cancella-" words, a fair price for a fast search.
        parts.append('"' + " ".join(terms) + '"' if cjk else f'"{terms[0][:PREFIX_INDEXED]}"*')
    return " AND ".join(parts)


def tsquery(groups: Sequence[tuple[bool, list[str]]]) -> str:
    parts = []
    for cjk, terms in groups:
        parts.append("(" + " <-> ".join(terms) + ")" if cjk else f"{terms[0]}:*")
    return " & ".join(parts)


# SQLite's FTS5 tables key on rowid; PostgreSQL's search tables have an id column.
_INDEX_MESSAGE = {
    "sqlite": Prepared(text("INSERT INTO message_search (rowid, body) VALUES (:id, :body)")),
    "postgresql": Prepared(
        text("INSERT INTO message_search (message_id, body) VALUES (:id, :body)")
    ),
}
_UNINDEX_MESSAGE = {
    "sqlite": Prepared(text("DELETE FROM message_search WHERE rowid = :id")),
    "postgresql": Prepared(text("DELETE FROM message_search WHERE message_id = :id")),
}
_INDEX_CUSTOMER = {
    dialect: (
        Prepared(text(f"DELETE FROM customer_search WHERE {key} = :id")),
        Prepared(text(f"INSERT INTO customer_search ({key}, body) VALUES (:id, :body)")),
    )
    for dialect, key in (("sqlite", "rowid"), ("postgresql", "customer_id"))
}


def index_message(conn: Connection, dialect: str, message_id: int, body: str) -> None:
    """Make a message findable (same transaction as the message)."""
    terms = index_terms(body)
    if not terms:
        return
    _INDEX_MESSAGE[dialect].rows(conn, id=message_id, body=terms)


def unindex_message(conn: Connection, dialect: str, message_id: int) -> None:
    """Forget what a message was findable by (before indexing its new text)."""
    _UNINDEX_MESSAGE[dialect].rows(conn, id=message_id)


def index_customer(
    conn: Connection, dialect: str, customer_id: int, parts: Sequence[str], *, new: bool = False
) -> None:
    """Replace what a customer is findable by (name and identities)."""
    unindex, index = _INDEX_CUSTOMER[dialect]
    if not new:
        unindex.rows(conn, id=customer_id)
    terms = index_terms(" ".join(p for p in parts if p))
    if terms:
        index.rows(conn, id=customer_id, body=terms)


class Match(NamedTuple):
    """How to join a search table to its rows: the key column and the condition for `q`."""

    key: ColumnElement[int]
    condition: ColumnElement[bool] | TextClause


def matching(dialect: str, table: str, q: str) -> Match | None:
    """The search table's key and match condition for the user's words (None: nothing to find).

    Callers join the key to their table and order by it, newest first, so the database can
    stop at a page instead of collecting every match.
    """
    built = build_query(dialect, q)
    if built is None:
        return None
    if dialect == "sqlite":
        fts = sa_table(table, sa_column("rowid"))
        return Match(fts.c.rowid, sa_text(f"{table} MATCH :q").bindparams(q=built))
    key = "message_id" if table == "message_search" else "customer_id"
    pg = sa_table(table, sa_column(key), sa_column("doc"))
    return Match(pg.c[key], pg.c.doc.op("@@")(func.to_tsquery("simple", built)))


def build_query(dialect: str, query: str) -> str | None:
    """The database's query string for the user's words, or None when nothing is searchable."""
    groups = query_groups(query)
    if not groups:
        return None
    return fts5_query(groups) if dialect == "sqlite" else tsquery(groups)
