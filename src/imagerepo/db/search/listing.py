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
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from imagerepo.db.access import visible_branches
from imagerepo.db.keys import key_floor, upload_key, utc
from imagerepo.db.repos.images import to_image
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


def with_owner() -> Select[ImageRow, str]:
    return select(ImageRow, UserRow.username).join(UserRow, UserRow.id == ImageRow.owner_id)


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


def sort_value(sort: Sort, row: ImageRow) -> datetime | int | None:
    if sort is Sort.TAKEN_AT:
        return as_utc(row.sort_taken_at)
    if sort is Sort.SIZE:
        return row.size
    return None


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


async def resolve(
    session: AsyncSession, query: ImageQuery, short_keywords: Sequence[str] = ()
) -> Resolved | None:
    """None when the query can match nothing (an unknown owner, or no branch left)."""
    owner_id = None
    if query.filters.owner is not None:
        owner_id = await session.scalar(
            select(UserRow.id).where(UserRow.username == query.filters.owner)
        )
        if owner_id is None:
            return None
    resolved = Resolved(query, owner_id, short_keywords)
    return resolved if resolved.branches else None


async def walk_indexes(session: AsyncSession, resolved: Resolved) -> list[tuple[ImageRow, str]]:
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
    keys = (
        await session.scalars(
            select(merged.c.k).order_by(*order, merged.c.k.desc()).limit(query.limit + 1)
        )
    ).all()
    return await rows_by_key(session, keys)


async def best_first(
    session: AsyncSession, hits: Subquery, query: ImageQuery
) -> tuple[list[tuple[ImageRow, str]], list[float]]:
    """A relevance page from `hits` (columns `k`, upload key, and `r`, a score where lower
    is better): after the cursor's (score, key), best first, newest first among equals."""
    statement = select(hits.c.k, hits.c.r)
    if query.after is not None and isinstance(query.after.value, float):
        last_score = query.after.value
        last_key = key_of(query.after)
        statement = statement.where(
            or_(hits.c.r > last_score, and_(hits.c.r == last_score, hits.c.k < last_key))
        )
    ranked = (
        await session.execute(statement.order_by(hits.c.r, hits.c.k.desc()).limit(query.limit + 1))
    ).all()
    rows = await rows_by_key(session, [k for k, _ in ranked])
    return rows, [float(r) for _, r in ranked]


async def rows_by_key(session: AsyncSession, keys: Sequence[int]) -> list[tuple[ImageRow, str]]:
    if not keys:
        return []
    found = {
        row[0].upload_key: (row[0], row[1])
        for row in await session.execute(with_owner().where(ImageRow.upload_key.in_(keys)))
    }
    return [found[k] for k in keys if k in found]


async def month_counts(session: AsyncSession, resolved: Resolved) -> list[MonthCount]:
    """Visible images per local month, newest month first, one grouped index scan per branch."""
    parts = [
        select(ImageRow.local_month.label("m"), func.count().label("n"))
        .where(branch, *resolved.clauses)
        .group_by(ImageRow.local_month)
        for branch in resolved.branches
    ]
    merged = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    rows = await session.execute(
        select(merged.c.m, func.sum(merged.c.n)).group_by(merged.c.m).order_by(merged.c.m.desc())
    )
    return [MonthCount(month=str(m), count=int(n)) for m, n in rows]


def page_of(
    rows: Sequence[tuple[ImageRow, str]],
    query: ImageQuery,
    scores: Sequence[float] | None = None,
) -> Page:
    """The first `limit` rows as images, and where the next page starts (None on the last)."""
    items = [to_image(row, owner) for row, owner in rows[: query.limit]]
    if len(rows) <= query.limit or not items:
        return Page(items=items)
    last_row = rows[query.limit - 1][0]
    last = items[-1]
    value: datetime | int | float | None
    if query.sort is Sort.RELEVANCE and scores is not None:
        value = scores[query.limit - 1]
    else:
        value = sort_value(query.sort, last_row)
    return Page(items=items, next_after=Position(value, last.created_at, last.id))


#: A tag on fewer rows than this is read from the tag index and its rows sorted; a commoner one
#: is checked per row while the order's index is walked (as without a tag).
TAG_DRIVES_BELOW = 5000


async def rare_tag(session: AsyncSession, resolved: Resolved) -> str | None:
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
    found = await session.scalar(select(func.count()).select_from(counted))
    return tag if int(found or 0) < TAG_DRIVES_BELOW else None


async def tagged_rows(
    session: AsyncSession, resolved: Resolved, tag: str, visible: ColumnElement[bool]
) -> list[tuple[ImageRow, str]]:
    """One page of the rows carrying a rare `tag`: read from the tag index, then sorted (at
    most TAG_DRIVES_BELOW rows). `visible` is the scope stated so that no index answers it,
    or the planner may walk every public row instead."""
    query = resolved.query
    column = SORT_COLUMNS.get(query.sort)
    statement = (
        with_owner()
        .join(ImageTagRow, ImageTagRow.image_id == ImageRow.id)
        .where(ImageTagRow.tag_key == tag, visible, *resolved.clauses)
    )
    if query.after is not None:
        statement = statement.where(after_clause(query.sort, query.after, ImageRow.upload_key))
    order = [column.desc()] if column is not None else []
    rows = await session.execute(
        statement.order_by(*order, ImageRow.upload_key.desc()).limit(query.limit + 1)
    )
    return [(row[0], row[1]) for row in rows]
