"""Every listing shape walks an index: no page reads every visible row, or sorts them.

The SQL each shape runs is captured as it executes and handed to SQLite's `EXPLAIN QUERY PLAN`.
A plan fails on a full `SCAN images`, and on a `USE TEMP B-TREE` (a sort) unless what is sorted
is already bounded: the merged branches (each `LIMIT n + 1`), or the matches of a text search.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from imagerepo.cache.base import NoCache
from imagerepo.config import Settings
from imagerepo.db.engine import create_engine, session_factory
from imagerepo.db.repos.images import ImageRepository
from imagerepo.models import Filters, Sort, User, Visibility
from imagerepo.policy import ANONYMOUS, Viewer, scope_of
from imagerepo.services.search import SearchRequest
from imagerepo.wiring import Services, build_services
from tests.db.synthetic import synthetic

SHAPES: dict[str, SearchRequest] = {
    "first page": SearchRequest(),
    "taken_at": SearchRequest(sort=Sort.TAKEN_AT),
    "size": SearchRequest(sort=Sort.SIZE),
    "owner": SearchRequest(filters=Filters(owner="alice")),
    "private only": SearchRequest(filters=Filters(visibility=Visibility.PRIVATE)),
    "camera and dates": SearchRequest(
        filters=Filters(camera_make="canon", uploaded_after=datetime(2025, 1, 1, tzinfo=UTC))
    ),
    "keywords": SearchRequest(keywords="phot"),
    "short keyword": SearchRequest(keywords="ph"),
    "q": SearchRequest(q="photo"),
    "q taken_at": SearchRequest(q="photo", sort=Sort.TAKEN_AT),
    "q relevance": SearchRequest(q="photo OR sea", sort=Sort.RELEVANCE),
    "q size (probing)": SearchRequest(q="photo", sort=Sort.SIZE),
    "keywords taken_at (probing)": SearchRequest(keywords="phot", sort=Sort.TAKEN_AT),
    "q and keywords": SearchRequest(q="photo", keywords="phot"),
    "tag": SearchRequest(filters=Filters(tags=("sea",))),
    "tag (common)": SearchRequest(filters=Filters(tags=("sea",)), sort=Sort.TAKEN_AT),
    "has_gps": SearchRequest(filters=Filters(has_gps=True)),
}


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[tuple[Services, User]]:
    async with build_services(settings, cache=NoCache()) as built:
        alice = await built.users.create(None, "alice", "alice-password-1")
        engine = create_engine(settings.resolved_database_url)
        try:
            await ImageRepository(session_factory(engine)).add_many(
                synthetic(60, alice.id, "alice")
            )
        finally:
            await engine.dispose()
        yield built, alice


@contextmanager
def captured() -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def plan(database: Path, statement: str, parameters: Any) -> list[tuple[int, int, str]]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
    return [(row[0], row[1], row[3]) for row in rows]


def problems(steps: list[tuple[int, int, str]]) -> list[str]:
    found = [d for _, _, d in steps if re.match(r"SCAN images( |$)", d)]
    bounded = any(
        re.match(r"SCAN (\(subquery|anon_|images_fts|images_keywords)", d)
        or d.startswith("SEARCH image_tags USING COVERING INDEX ix_image_tags_tag_key")
        or d.startswith(("COMPOUND", "MERGE", "CO-ROUTINE"))
        for _, _, d in steps
    )
    if any("USE TEMP B-TREE" in d for _, _, d in steps) and not bounded:
        found.append("a sort of all visible rows")
    # A text search must read its matches first: images walked by an index with the MATCH
    # nested inside, at the same level, runs the full-text query once per row.
    walks = [
        (i, parent) for i, (_, parent, d) in enumerate(steps) if d.startswith("SEARCH images ")
    ]
    texts = [(i, parent) for i, (_, parent, d) in enumerate(steps) if "VIRTUAL TABLE" in d]
    if any(w < t and wp == tp for w, wp in walks for t, tp in texts):
        found.append("a MATCH per row walked")
    return found


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("who", ["alice", "anonymous"])
async def test_no_listing_reads_or_sorts_every_row(
    shape: str,
    who: str,
    services: tuple[Services, User],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built, alice = services
    if shape.endswith("(probing)"):  # as if these few matches were many
        monkeypatch.setattr("imagerepo.db.search.sqlite.SORT_BY_PROBING", 3)
    if shape.endswith("(common)"):  # as if this tag were on many rows
        monkeypatch.setattr("imagerepo.db.search.listing.TAG_DRIVES_BELOW", 3)
    viewer = Viewer.of(alice) if who == "alice" else ANONYMOUS
    request = SearchRequest(**{**_fields(SHAPES[shape]), "limit": 5})
    first = await built.images.list(viewer, request)
    if first.next_cursor is not None:  # the second page too: keyset conditions included
        request = SearchRequest(**{**_fields(request), "cursor": first.next_cursor})
    with captured() as statements:
        listing = await built.images.list(viewer, request)
        await built.images.timeline(viewer, request)
    database = Path(settings.resolved_database_url.split("///", 1)[1])
    if who == "anonymous" and shape in ("private only", "has_gps"):
        assert listing.items == [] and statements == []  # answered without asking SQL
    else:
        assert statements
    for statement, parameters in statements:
        if "images" not in statement:
            continue
        steps = plan(database, statement, parameters)
        assert problems(steps) == [], (shape, statement, steps)


def _fields(request: SearchRequest) -> dict[str, Any]:
    return {name: getattr(request, name) for name in request.__dataclass_fields__}


async def test_the_check_catches_the_old_listing(
    services: tuple[Services, User], settings: Settings
) -> None:
    """The predicate this issue replaced: an OR over visibility, then every visible row sorted."""
    _, alice = services
    database = Path(settings.resolved_database_url.split("///", 1)[1])
    old = (
        "SELECT id FROM images WHERE visibility = 'public' OR owner_id = ?"
        " ORDER BY created_at DESC, id DESC LIMIT 51"
    )
    assert problems(plan(database, old, (alice.id,))) == ["a sort of all visible rows"]
    assert problems(plan(database, "SELECT id FROM images WHERE title LIKE '%a%'", ())) != []


@pytest.mark.parametrize("who", ["alice", "anonymous"])
async def test_similar_images_are_found_through_the_hash_bands(
    who: str, services: tuple[Services, User], settings: Settings
) -> None:
    """The band indexes (and then the ids) drive; never a walk of every public row."""
    built, alice = services
    viewer = Viewer.of(alice) if who == "alice" else ANONYMOUS
    some_public = (await built.images.list(viewer, SearchRequest(limit=1))).items[0]
    database = Path(settings.resolved_database_url.split("///", 1)[1])
    engine = create_engine(settings.resolved_database_url)
    try:
        repository = ImageRepository(session_factory(engine))
        with captured() as statements:
            await built.images.similar(viewer, some_public.id, distance=12)
            ids = [image.id for image in synthetic(3, alice.id, "alice")]
            assert len(await repository.get_many(ids, scope_of(viewer))) >= 2
    finally:
        await engine.dispose()
    used = [
        detail
        for statement, parameters in statements
        if "images" in statement
        for _, _, detail in plan(database, statement, parameters)
    ]
    assert any("ix_images_phash_band" in d for d in used), used
    assert not [d for d in used if "_vis_" in d or re.match(r"SCAN images( |$)", d)], used


@pytest.mark.parametrize(
    ("request_", "index"),
    [
        (SearchRequest(), "ix_image_month_counts_vis_month"),
        (SearchRequest(filters=Filters(camera_make="Canon")), "ix_images_vis_make_month"),
    ],
    ids=["month counts", "camera make"],
)
async def test_an_anonymous_timeline_reads_only_its_index(
    request_: SearchRequest, index: str, services: tuple[Services, User], settings: Settings
) -> None:
    """The public branch reads the public rows in month order (the month counts), or only one
    camera make's entries; never every public row (migration 0007)."""
    built, _ = services
    database = Path(settings.resolved_database_url.split("///", 1)[1])
    with captured() as statements:
        await built.images.timeline(ANONYMOUS, request_)
    used = [
        detail
        for statement, parameters in statements
        for _, _, detail in plan(database, statement, parameters)
    ]
    assert any(index in d for d in used), used
