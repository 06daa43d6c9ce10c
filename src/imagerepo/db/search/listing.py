"""Listings that walk an index in order and stop at the page size, in portable SQL.

The visibility scope becomes disjoint branches (`db.access.visible_branches`): "public rows"
and "this owner's private rows". Each branch is a SELECT of (key, sort value) that walks an
index on (visibility, sort, upload_key) or (owner_id, visibility, sort, upload_key) from the
cursor down and stops after `limit + 1` rows; the branches are merged with UNION ALL and the
outer query sorts at most `branches * (limit + 1)` rows. A plain `visibility = 'public' OR
owner_id = ?` instead makes SQLite collect every visible row and sort it for every page.

Full-text matching is dialect-specific and lives beside this module (`sqlite.py`); it reuses
the filters, sort columns and keyset conditions defined here.
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import copy
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Subquery,
    and_,
    bindparam,
    func,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import InstrumentedAttribute, Session

from imagerepo.db.access import visible_branches
from imagerepo.db.image_rows import images_of, select_images, select_images_from
from imagerepo.db.keys import key_floor, upload_key, utc
from imagerepo.db.repos.users import as_utc
from imagerepo.db.tables import ImageRow, ImageTagRow, UserRow
from imagerepo.models import Filters, ImageQuery, MonthCount, Page, Position, Sort

#: The sort column of each order; upload order is `upload_key` alone.
SORT_COLUMNS = {
    Sort.TAKEN_AT: ImageRow.sort_taken_at,
    Sort.SIZE: ImageRow.size,
}
#: Words shorter than this cannot use a trigram index; they are matched with LIKE.
TRIGRAM = 3


def escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filter_clauses(
    filters: Filters, short_keywords: Sequence[str] = ()
) -> list[ColumnElement[bool]]:
    """The WHERE conditions of `filters` other than owner and visibility (those shape the
    branches). `short_keywords` are folded words too short for an index: LIKE on the copy."""
    f = filters
    row = ImageRow
    clauses: list[ColumnElement[bool]] = []
    if f.media_type is not None:
        clauses.append(row.media_type == f.media_type)
    # Date ranges are also stated on the sort keys they imply (a dated photo's sort_taken_at is
    # its taken_at; upload_key starts with the upload time), so an index walk in that order
    # reads only the range instead of checking every row it passes.
    if f.taken_after is not None:
        clauses += [row.taken_at >= utc(f.taken_after), row.sort_taken_at >= utc(f.taken_after)]
    if f.taken_before is not None:
        clauses += [row.taken_at < utc(f.taken_before), row.sort_taken_at < utc(f.taken_before)]
    if f.uploaded_after is not None:
        clauses += [
            row.created_at >= utc(f.uploaded_after),
            row.upload_key >= key_floor(f.uploaded_after),
        ]
    if f.uploaded_before is not None:
        clauses += [
            row.created_at < utc(f.uploaded_before),
            row.upload_key < key_floor(f.uploaded_before),
        ]
    clauses += month_clauses(row.local_month, f)
    text_columns: tuple[tuple[InstrumentedAttribute[str | None], str | None], ...] = (
        (row.camera_make, f.camera_make),
        (row.camera_model, f.camera_model),
        (row.lens, f.lens),
    )
    for text_column, value in text_columns:
        if value is not None:
            clauses.append(func.lower(text_column) == value.lower())
    for column, low, high in (
        (row.width, f.min_width, f.max_width),
        (row.height, f.min_height, f.max_height),
    ):
        if low is not None:
            clauses.append(column >= low)
        if high is not None:
            clauses.append(column <= high)
    if f.has_gps is not None:
        clauses.append(row.gps_latitude.is_not(None) if f.has_gps else row.gps_latitude.is_(None))
    for tag in f.tags:
        clauses.append(
            select(ImageTagRow.image_id)
            .where(ImageTagRow.image_id == row.id, ImageTagRow.tag_key == tag)
            .correlate(ImageRow)
            .exists()
        )
    for word in short_keywords:
        clauses.append(row.search_text.like(f"%{escape_like(word)}%", escape="\\"))
    return clauses


def month_clauses(
    local_month: InstrumentedAttribute[str], filters: Filters
) -> list[ColumnElement[bool]]:
    """`year` and `month` as conditions on a "YYYY-MM" column."""
    year, month = filters.year, filters.month
    if year is not None and month is not None:
        return [local_month == f"{year:04d}-{month:02d}"]
    if year is not None:
        return [local_month.between(f"{year:04d}-01", f"{year:04d}-12")]
    if month is not None:
        return [local_month.like(f"%-{month:02d}")]
    return []


def key_of(position: Position) -> int:
    return upload_key(position.created_at, position.id)


def after_clause(
    sort: Sort, position: Position, key: ColumnElement[int] | InstrumentedAttribute[int]
) -> ColumnElement[bool]:
    """Rows strictly after `position` in descending (sort value, upload_key) order."""
    last_key = bindparam(None, key_of(position), type_=BigInteger)
    if sort is Sort.UPLOADED_AT:
        return key < last_key
    column = SORT_COLUMNS[sort]
    value = position.value
    if isinstance(value, datetime):
        value = utc(value)
    return tuple_(column, key) < tuple_(bindparam(None, value, type_=column.type), last_key)


class Resolved:
    """A query with its owner name looked up: the branches and filter clauses to run."""

    def __init__(self, query: ImageQuery, owner_id: str | None, short_keywords: Sequence[str]):
        filters = query.filters
        self.query = query
        self.owner_id = owner_id
        self.branches = visible_branches(
            query.scope,
            owner_id=owner_id,
            visibility=filters.visibility,
            own_only=filters.has_gps is not None,
        )
        self.clauses = filter_clauses(filters, short_keywords)

    @property
    def visible(self) -> ColumnElement[bool]:
        return or_(*self.branches)

    def narrowed(self, extra: Sequence[ColumnElement[bool]]) -> Resolved:
        """The same query with more conditions on every row."""
        narrower = copy(self)
        narrower.clauses = [*self.clauses, *extra]
        return narrower


def resolve(
    session: Session, query: ImageQuery, short_keywords: Sequence[str] = ()
) -> Resolved | None:
    """None when the query can match nothing (an unknown owner, or no branch left)."""
    owner_id = None
    if query.filters.owner is not None:
        owner_id = session.scalar(select(UserRow.id).where(UserRow.username == query.filters.owner))
        if owner_id is None:
            return None
    resolved = Resolved(query, owner_id, short_keywords)
    return resolved if resolved.branches else None


def value_column(sort: Sort) -> list[ColumnElement[Any]]:
    """The sort value of each row, labelled `v`, for the next page's cursor (none for upload
    order: the cursor holds only upload time and id)."""
    column = SORT_COLUMNS.get(sort)
    return [] if column is None else [column.label("v")]


def rows_in(
    keys: Subquery, order: Sequence[ColumnElement[Any]], limit: int
) -> Select[*tuple[Any, ...]]:
    """The page's rows for the keys (`k`) that `keys` walked, in `order`: the key walk and the
    reading of its rows are one statement, so one round trip per page."""
    return select_images_from(keys, ImageRow.upload_key == keys.c.k).order_by(*order).limit(limit)


def walk_indexes(session: Session, resolved: Resolved) -> Sequence[Row[Any]]:
    """One page in sort order, each visibility branch walking its own index."""
    query = resolved.query
    column = SORT_COLUMNS.get(query.sort)
    parts = []
    for branch in resolved.branches:
        part = select(
            ImageRow.upload_key.label("k"),
            *([column.label("v")] if column is not None else []),
        ).where(branch, *resolved.clauses)
        if query.after is not None:
            part = part.where(after_clause(query.sort, query.after, ImageRow.upload_key))
        order = [column.desc()] if column is not None else []
        parts.append(part.order_by(*order, ImageRow.upload_key.desc()).limit(query.limit + 1))
    if len(parts) == 1:
        merged = parts[0].subquery()
    else:
        merged = union_all(*(select(p.subquery()) for p in parts)).subquery()
    order = [merged.c.v.desc()] if column is not None else []
    statement = rows_in(merged, [*order, merged.c.k.desc()], query.limit + 1)
    if column is not None:
        statement = statement.add_columns(merged.c.v)
    return session.execute(statement).all()


def best_first(session: Session, hits: Subquery, query: ImageQuery) -> Sequence[Row[Any]]:
    """A relevance page from `hits` (columns `k`, upload key, and `r`, a score where lower
    is better): after the cursor's (score, key), best first, newest first among equals. Each
    row's score is its `v`."""
    statement = select(hits.c.k, hits.c.r)
    if query.after is not None and isinstance(query.after.value, float):
        last_score = query.after.value
        last_key = key_of(query.after)
        statement = statement.where(
            or_(hits.c.r > last_score, and_(hits.c.r == last_score, hits.c.k < last_key))
        )
    ranked = statement.order_by(hits.c.r, hits.c.k.desc()).limit(query.limit + 1).subquery()
    page = rows_in(ranked, [ranked.c.r, ranked.c.k.desc()], query.limit + 1)
    return session.execute(page.add_columns(ranked.c.r.label("v"))).all()


def month_counts(session: Session, resolved: Resolved) -> list[MonthCount]:
    """Visible images per local month, newest month first, one grouped index scan per branch."""
    parts = [
        select(ImageRow.local_month.label("m"), func.count().label("n"))
        .where(branch, *resolved.clauses)
        .group_by(ImageRow.local_month)
        for branch in resolved.branches
    ]
    merged = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    rows = session.execute(
        select(merged.c.m, func.sum(merged.c.n)).group_by(merged.c.m).order_by(merged.c.m.desc())
    )
    return [MonthCount(month=str(m), count=int(n)) for m, n in rows]


def page_of(rows: Sequence[Row[Any]], query: ImageQuery) -> Page:
    """The first `limit` rows as images, and where the next page starts (None on the last).
    Rows carry their sort value as `v` in every order but upload order."""
    items = images_of(rows[: query.limit])
    if len(rows) <= query.limit or not items:
        return Page(items=items)
    last = items[-1]
    value: datetime | int | float | None = None
    if query.sort is not Sort.UPLOADED_AT:
        value = rows[query.limit - 1]._mapping["v"]
        if isinstance(value, datetime):
            value = as_utc(value)
        elif query.sort is Sort.RELEVANCE and value is not None:
            value = float(value)
    return Page(items=items, next_after=Position(value, last.created_at, last.id))


#: A tag on fewer rows than this is read from the tag index and its rows sorted; a commoner one
#: is checked per row while the order's index is walked (as without a tag).
TAG_DRIVES_BELOW = 5000


def rare_tag(session: Session, resolved: Resolved) -> str | None:
    """The first required tag if it is on fewer than TAG_DRIVES_BELOW rows, else None."""
    if not resolved.query.filters.tags:
        return None
    tag = resolved.query.filters.tags[0]
    counted = (
        select(ImageTagRow.image_id)
        .where(ImageTagRow.tag_key == tag)
        .limit(TAG_DRIVES_BELOW)
        .subquery()
    )
    found = session.scalar(select(func.count()).select_from(counted))
    return tag if int(found or 0) < TAG_DRIVES_BELOW else None


def tagged_rows(
    session: Session, resolved: Resolved, tag: str, visible: ColumnElement[bool]
) -> Sequence[Row[Any]]:
    """One page of the rows carrying a rare `tag`: read from the tag index, then sorted (at
    most TAG_DRIVES_BELOW rows). `visible` is the scope stated so that no index answers it,
    or the planner may walk every public row instead."""
    query = resolved.query
    column = SORT_COLUMNS.get(query.sort)
    statement = (
        select_images(*value_column(query.sort))
        .join(ImageTagRow, ImageTagRow.image_id == ImageRow.id)
        .where(ImageTagRow.tag_key == tag, visible, *resolved.clauses)
    )
    if query.after is not None:
        statement = statement.where(after_clause(query.sort, query.after, ImageRow.upload_key))
    order = [column.desc()] if column is not None else []
    return session.execute(
        statement.order_by(*order, ImageRow.upload_key.desc()).limit(query.limit + 1)
    ).all()
