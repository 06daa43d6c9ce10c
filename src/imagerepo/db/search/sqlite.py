"""Search on SQLite: FTS5 for `q`, a trigram FTS5 index for `keywords=`, index walks otherwise.

Two FTS5 tables (created by migration 0005, kept in step with `images` by triggers in the same
transaction) use `images.upload_key` as their rowid, so rowid order *is* upload order:

- `images_fts(title, filename, description, tags, camera, lens)`, tokenizer `porter unicode61
  remove_diacritics 2`: stemming ("beaches" finds "beach"), Unicode case and accent folding
  ("uber" finds "ÜBER", "cafe" finds "café").
- `images_keywords(text)`, tokenizer `trigram`, over the folded copy `images.search_text`
  (title and description): `keywords=` keeps its meaning (each word a substring, any case,
  any accent) without a scan. SQLite 3.40's trigram tokenizer cannot remove diacritics (that
  came in 3.45), so the text is folded before it is indexed, in Python, the same way as the
  words searched for; that needs no newer SQLite build.

Newest first, a search reads its match list backwards by rowid and stops after a page of
visible rows. Other orders sort the matches (never all rows); relevance (bm25) scores only the
newest `RELEVANCE_WINDOW` visible matches, which keeps it fast whatever the match count.

User text never reaches MATCH as syntax: `services.search` parses the query language into
terms, and `match_expression` quotes every term (datasette's `escape_fts`), so operators come
only from the parser.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    String,
    bindparam,
    column,
    exists,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import TableClause

from imagerepo.db.access import visible_branches
from imagerepo.db.image_rows import select_images_from
from imagerepo.db.readers import Reader
from imagerepo.db.search.listing import (
    SORT_COLUMNS,
    TRIGRAM,
    Resolved,
    after_clause,
    best_first,
    key_of,
    month_clauses,
    month_counts,
    page_of,
    rare_tag,
    resolve,
    tagged_rows,
    value_column,
    walk_indexes,
)
from imagerepo.db.tables import ImageMonthCountRow, ImageRow
from imagerepo.models import Filters, ImageQuery, MonthCount, Page, Sort, Term, TextQuery

#: bm25 scores only this many of the newest visible matches (FIELD-NOTES: 3-15 ms at 2 000).
RELEVANCE_WINDOW = 2000
#: From this many matches on, an order other than upload order walks that order's index and
#: probes the FTS index per row (cost ~ limit / share of rows matching) instead of sorting
#: every match (cost ~ matches). Near sqrt(limit * rows) for a million rows.
SORT_BY_PROBING = 5000
#: Column weights for bm25: title, filename, description, tags, camera, lens.
WEIGHTS = (10.0, 4.0, 2.0, 8.0, 1.0, 1.0)

#: The FTS5 tables (each with its shadow tables, `<name>_data`, `_idx`, ...): made by the
#: migration, outside the models' metadata.
FTS_TABLES = ("images_fts", "images_keywords")


def is_search_table(name: str) -> bool:
    return any(name == t or name.startswith(f"{t}_") for t in FTS_TABLES)


_FTS = table("images_fts", column("rowid", BigInteger))
_KEYWORDS = table("images_keywords", column("rowid", BigInteger))


def quote(term: Term) -> str:
    """One term as an FTS5 string: double quotes doubled, so nothing in it is syntax."""
    quoted = '"' + term.text.replace('"', '""') + '"'
    return quoted + " *" if term.prefix else quoted


def match_expression(text: TextQuery) -> str:
    groups = " AND ".join(
        "(" + " OR ".join(quote(term) for term in group) + ")" for group in text.groups
    )
    if text.excluded:
        groups = f"({groups}) NOT (" + " OR ".join(quote(t) for t in text.excluded) + ")"
    return groups


def keywords_expression(words: Sequence[str]) -> str:
    return " AND ".join(quote(Term(word)) for word in words)


def _checked_per_match(resolved: Resolved) -> ColumnElement[bool]:
    """The scope as conditions no index can answer (`column || ''`, like SQLite's unary +), so
    the FTS table (or the tag index) drives and each match is checked. Otherwise SQLite may walk
    every public row by the visibility index and run the MATCH once per row (8 s for an
    anonymous timeline at 100 000 rows)."""
    filters = resolved.query.filters
    return or_(
        *visible_branches(
            resolved.query.scope,
            owner_id=resolved.owner_id,
            visibility=filters.visibility,
            own_only=filters.has_gps is not None,
            columns=(ImageRow.owner_id.concat(""), ImageRow.visibility.concat("")),
        )
    )


def _only_scope_and_months(query: ImageQuery) -> bool:
    """Whether the timeline can come from the month counts: no filter but owner, visibility,
    year and month."""
    f = query.filters
    return f == Filters(owner=f.owner, visibility=f.visibility, year=f.year, month=f.month)


def _matches(name: str, expression: str) -> ColumnElement[bool]:
    return literal_column(name).op("MATCH")(bindparam(None, expression, type_=String))


def shape_of(kind: str, query: ImageQuery) -> Hashable:
    """What decides a read's cost, roughly: the kind, order, text and keywords, which filters
    are set, and the scope's size (`db.readers`)."""
    f = query.filters
    filters = tuple(name for name in f.__dataclass_fields__ if getattr(f, name) not in (None, ()))
    return (
        kind,
        query.sort,
        query.text,
        query.keywords,
        filters,
        query.scope.public,
        len(query.scope.owner_ids),
        query.after is not None,
    )


class SqliteSearch:
    """`services.search.ImageSearch` on SQLite. Each call is one read (`db.readers`)."""

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    async def page(self, query: ImageQuery) -> Page:
        return await self._reader.run(
            lambda session: self.page_in(session, query), shape_of("page", query)
        )

    async def timeline(self, query: ImageQuery) -> list[MonthCount]:
        return await self._reader.run(
            lambda session: self.timeline_in(session, query), shape_of("timeline", query)
        )

    def page_in(self, session: Session, query: ImageQuery) -> Page:
        long_words = [w for w in query.keywords if len(w) >= TRIGRAM]
        short_words = [w for w in query.keywords if len(w) < TRIGRAM]
        resolved = resolve(session, query, short_words)
        if resolved is None:
            return Page()
        if query.text is None and not long_words:
            tag = rare_tag(session, resolved)
            if tag is not None:
                visible = _checked_per_match(resolved)
                return page_of(tagged_rows(session, resolved, tag, visible), query)
            return page_of(walk_indexes(session, resolved), query)
        if query.sort is Sort.RELEVANCE and query.text is not None:
            return page_of(self._ranked(session, resolved, long_words), query)
        if query.sort in SORT_COLUMNS and self._many_matches(session, query, long_words):
            # Frequent terms in another order than upload: walk the order's index and ask
            # the FTS index about each row, rather than sorting every match.
            probes = self._probes(query, long_words)
            return page_of(walk_indexes(session, resolved.narrowed(probes)), query)
        return page_of(self._matching(session, resolved, long_words), query)

    def timeline_in(self, session: Session, query: ImageQuery) -> list[MonthCount]:
        long_words = [w for w in query.keywords if len(w) >= TRIGRAM]
        short_words = [w for w in query.keywords if len(w) < TRIGRAM]
        resolved = resolve(session, query, short_words)
        if resolved is None:
            return []
        if query.text is None and not long_words:
            if _only_scope_and_months(query):
                return self._summed(session, query, resolved)
            return month_counts(session, resolved)
        driver, conditions = self._driver(resolved, long_words)
        rows = session.execute(
            select(ImageRow.local_month, func.count())
            .select_from(driver)
            .join(ImageRow, ImageRow.upload_key == driver.c.rowid)
            .where(*conditions)
            .group_by(ImageRow.local_month)
            .order_by(ImageRow.local_month.desc())
        )
        return [MonthCount(month=str(m), count=int(n)) for m, n in rows]

    def _summed(self, session: Session, query: ImageQuery, resolved: Resolved) -> list[MonthCount]:
        """The timeline from `image_month_counts`: a few rows per owner, not a row per image."""
        counts = ImageMonthCountRow
        f = query.filters
        branches = visible_branches(
            query.scope,
            owner_id=resolved.owner_id,
            visibility=f.visibility,
            columns=(counts.owner_id, counts.visibility),
        )
        months = month_clauses(counts.local_month, f)
        total = func.sum(counts.count)
        rows = session.execute(
            select(counts.local_month, total)
            .where(or_(*branches), counts.count > 0, *months)
            .group_by(counts.local_month)
            .having(total > 0)
            .order_by(counts.local_month.desc())
        )
        return [MonthCount(month=str(m), count=int(n)) for m, n in rows]

    @staticmethod
    def _match_conditions(
        query: ImageQuery, long_words: Sequence[str]
    ) -> list[tuple[TableClause, ColumnElement[bool]]]:
        found = []
        if query.text is not None:
            found.append((_FTS, _matches("images_fts", match_expression(query.text))))
        if long_words:
            found.append((_KEYWORDS, _matches("images_keywords", keywords_expression(long_words))))
        return found

    def _many_matches(self, session: Session, query: ImageQuery, long_words: Sequence[str]) -> bool:
        """Whether the first text condition matches at least SORT_BY_PROBING rows (counted
        up to that many, so the question costs little whatever the answer)."""
        table_, condition = self._match_conditions(query, long_words)[0]
        counted = select(table_.c.rowid).where(condition).limit(SORT_BY_PROBING).subquery()
        found = session.scalar(select(func.count()).select_from(counted))
        return int(found or 0) >= SORT_BY_PROBING

    def _probes(self, query: ImageQuery, long_words: Sequence[str]) -> list[ColumnElement[bool]]:
        """One EXISTS per text condition, looked up by rowid for the row being walked."""
        return [
            exists().where(table_.c.rowid == ImageRow.upload_key, condition)
            for table_, condition in self._match_conditions(query, long_words)
        ]

    def _driver(
        self, resolved: Resolved, long_words: Sequence[str]
    ) -> tuple[TableClause, list[ColumnElement[bool]]]:
        """The FTS table to read matches from, and every condition a match must meet."""
        query = resolved.query
        conditions = [_checked_per_match(resolved), *resolved.clauses]
        if query.text is not None:
            conditions.append(_matches("images_fts", match_expression(query.text)))
            if long_words:
                conditions.append(
                    ImageRow.upload_key.in_(
                        select(_KEYWORDS.c.rowid).where(
                            _matches("images_keywords", keywords_expression(long_words))
                        )
                    )
                )
            return _FTS, conditions
        conditions.append(_matches("images_keywords", keywords_expression(long_words)))
        return _KEYWORDS, conditions

    def _matching(
        self, session: Session, resolved: Resolved, long_words: Sequence[str]
    ) -> Sequence[Row[Any]]:
        query = resolved.query
        driver, conditions = self._driver(resolved, long_words)
        key = driver.c.rowid
        statement = select_images_from(
            driver, ImageRow.upload_key == key, *value_column(query.sort)
        ).where(*conditions)
        if query.sort in (Sort.UPLOADED_AT, Sort.RELEVANCE):  # relevance without q: newest
            if query.after is not None:
                statement = statement.where(key < key_of(query.after))
            statement = statement.order_by(key.desc())
        else:
            sort_column = SORT_COLUMNS[query.sort]
            if query.after is not None:
                statement = statement.where(
                    after_clause(query.sort, query.after, ImageRow.upload_key)
                )
            statement = statement.order_by(sort_column.desc(), ImageRow.upload_key.desc())
        return session.execute(statement.limit(query.limit + 1)).all()

    def _ranked(
        self, session: Session, resolved: Resolved, long_words: Sequence[str]
    ) -> Sequence[Row[Any]]:
        """Best match first (bm25: lower is better), newest first among equal scores."""
        query = resolved.query
        _, conditions = self._driver(resolved, long_words)
        score = func.bm25(literal_column("images_fts"), *WEIGHTS, type_=Float)
        hits = (
            select(_FTS.c.rowid.label("k"), score.label("r"))
            .select_from(_FTS)
            .join(ImageRow, ImageRow.upload_key == _FTS.c.rowid)
            .where(*conditions)
            .order_by(_FTS.c.rowid.desc())
            .limit(RELEVANCE_WINDOW)
            .subquery()
        )
        return best_first(session, hits, query)
