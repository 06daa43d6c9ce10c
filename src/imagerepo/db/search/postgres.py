"""Search on PostgreSQL: a `tsvector` with a GIN index for `q`, trigrams for `keywords=`.

Migration 0005 (its PostgreSQL branch) adds `images.search_document`, kept by a trigger from
title and tags (weight A), file name (B), description (C), camera and lens (D), each through
`unaccent` and `imagerepo_english` (english stemming without stop words: "beaches" finds
"beach", "or" is a word; case and accents never matter), with a GIN index; and a `pg_trgm` GIN
index on `images.search_text`, the folded copy of title and description, so `keywords=` stays a
substring match (`LIKE '%word%'`) that need not read every row.

User text never reaches `to_tsquery` as syntax: `services.search` parses the query language
into terms, and `tsquery` rebuilds each term from its words alone (`\\w+`, each quoted), so
operators come only from the parser. Everything else (filters, branches, keyset cursors,
timeline counts) is the portable SQL of `listing.py`, with the text condition added to each
branch; PostgreSQL's planner chooses between the GIN index and the order's index walk.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from imagerepo.db.readers import Reader
from imagerepo.db.search.listing import (
    Resolved,
    best_first,
    month_counts,
    page_of,
    resolve,
    walk_indexes,
)
from imagerepo.db.search.sqlite import RELEVANCE_WINDOW, SqliteSearch, shape_of
from imagerepo.db.tables import ImageRow
from imagerepo.folding import fold
from imagerepo.models import ImageQuery, MonthCount, Page, Sort, Term, TextQuery

_WORD = re.compile(r"\w+")
_DOCUMENT: ColumnElement[object] = literal_column("images.search_document")
_CONFIG: ColumnElement[str] = literal_column("'imagerepo_english'")


def _quoted(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def term_query(term: Term) -> str | None:
    """One term as tsquery text: its words in sequence (a phrase), the last one a prefix for
    `cat*`; None if nothing searchable is left."""
    words = [_quoted(w) for w in _WORD.findall(fold(term.text))]
    if not words:
        return None
    if term.prefix:
        words[-1] += ":*"
    return "(" + " <-> ".join(words) + ")"


def tsquery(text: TextQuery) -> str | None:
    """The whole query as tsquery text (None: it can match nothing)."""
    groups = []
    for group in text.groups:
        terms = [t for t in map(term_query, group) if t is not None]
        if not terms:
            return None
        groups.append("(" + " | ".join(terms) + ")")
    excluded = [t for t in map(term_query, text.excluded) if t is not None]
    if excluded:
        groups.append("!(" + " | ".join(excluded) + ")")
    return " & ".join(groups)


def _query_of(expression: str) -> ColumnElement[object]:
    return func.to_tsquery(_CONFIG, bindparam(None, expression, type_=String))


def _matches(expression: str) -> ColumnElement[bool]:
    return _DOCUMENT.op("@@")(_query_of(expression))


class PostgresSearch:
    """`services.search.ImageSearch` on PostgreSQL. Each call is one read (`db.readers`)."""

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        # Without text or keywords, a listing is portable SQL (index walks per branch, the
        # timeline from `image_month_counts`): the SQLite engine's own paths, unchanged.
        self._portable = SqliteSearch(reader)

    async def page(self, query: ImageQuery) -> Page:
        return await self._reader.run(
            lambda session: self._page_in(session, query), shape_of("page", query)
        )

    async def timeline(self, query: ImageQuery) -> list[MonthCount]:
        return await self._reader.run(
            lambda session: self._timeline_in(session, query), shape_of("timeline", query)
        )

    def _page_in(self, session: Session, query: ImageQuery) -> Page:
        if query.text is None and not query.keywords:
            return self._portable.page_in(session, query)
        resolved = self._resolve(session, query)
        if resolved is None:
            return Page()
        if query.sort is Sort.RELEVANCE and query.text is not None:
            return page_of(self._ranked(session, resolved, query.text), query)
        return page_of(walk_indexes(session, resolved), query)

    def _timeline_in(self, session: Session, query: ImageQuery) -> list[MonthCount]:
        if query.text is None and not query.keywords:
            return self._portable.timeline_in(session, query)
        resolved = self._resolve(session, query)
        return [] if resolved is None else month_counts(session, resolved)

    @staticmethod
    def _resolve(session: Session, query: ImageQuery) -> Resolved | None:
        """The query's branches and filters, every keyword a LIKE on the folded copy (the
        trigram index answers it), and the text condition."""
        resolved = resolve(session, query, query.keywords)
        if resolved is None or query.text is None:
            return resolved
        expression = tsquery(query.text)
        if expression is None:
            return None
        return resolved.narrowed([_matches(expression)])

    def _ranked(self, session: Session, resolved: Resolved, text: TextQuery) -> Sequence[Row[Any]]:
        """Best match first (ts_rank, negated so that lower is better as with bm25 on
        SQLite), newest first among equal scores, over the newest RELEVANCE_WINDOW matches."""
        query = resolved.query
        expression = tsquery(text) or ""
        score = (-func.ts_rank(_DOCUMENT, _query_of(expression))).cast(Float)
        hits = (
            select(ImageRow.upload_key.label("k"), score.label("r"))
            .where(resolved.visible, *resolved.clauses)
            .order_by(ImageRow.upload_key.desc())
            .limit(RELEVANCE_WINDOW)
            .subquery()
        )
        return best_first(session, hits, query)
