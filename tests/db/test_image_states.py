"""`images.state` in SQL: the recovery sweep claims a stale `processing` image once per lease,
and state moves are conditional (on SQLite and, with --database=postgres, PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from imagerepo.cache.base import NoCache
from imagerepo.config import Settings
from imagerepo.db.engine import create_engine, session_factory
from imagerepo.db.repos.image_states import ImageStateRepository
from imagerepo.db.repos.images import ImageRepository
from imagerepo.models import ImageState
from imagerepo.wiring import build_services
from tests.db.synthetic import synthetic


async def test_claims_moves_and_counts(settings: Settings) -> None:
    async with build_services(settings, cache=NoCache(), run_jobs=False) as built:
        alice = await built.users.create(None, "alice", "alice-password-1")
    engine = create_engine(settings.resolved_database_url)
    try:
        sessions = session_factory(engine)
        images = synthetic(5, alice.id, "alice", start=datetime(2026, 1, 1, tzinfo=UTC))
        await ImageRepository(sessions).add_many(
            [replace(image, state=ImageState.PROCESSING) for image in images[:3]] + images[3:]
        )
        states = ImageStateRepository(sessions)
        processing = sorted(image.id for image in images[:3])
        now = datetime(2026, 6, 1, tzinfo=UTC)

        assert sorted(await states.claim_stale(now, now, 100)) == processing
        assert await states.claim_stale(now, now, 100) == []  # stamped: not again this lease
        assert len(await states.claim_stale(now, now + timedelta(hours=1), 2)) == 0
        later = now + timedelta(minutes=10)
        assert len(await states.claim_stale(later, later, 2)) == 2  # the lease ran out
        assert await states.counts() == {ImageState.PROCESSING: 3, ImageState.FAILED: 0}

        first = processing[0]
        assert await states.move(first, ImageState.FAILED, now, only_from=ImageState.PROCESSING)
        assert not await states.move(first, ImageState.FAILED, now)  # already failed
        assert await states.counts() == {ImageState.PROCESSING: 2, ImageState.FAILED: 1}
        assert await states.move(first, ImageState.READY, now)  # a later run succeeded
        assert not await states.move(first, ImageState.FAILED, now, only_from=ImageState.PROCESSING)
        found = await states.get_any(first)
        assert found is not None and found.state is ImageState.READY
        untouched = await states.get_any(images[4].id)
        assert untouched is not None and untouched.state is ImageState.READY  # the default
    finally:
        await engine.dispose()
