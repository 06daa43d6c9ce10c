"""Blob references decided by the database (services/blob_refs.py): claims protect bytes from
the collector, a 'deleting' row makes an upload wait and then write the bytes again, deletes
free bytes and derivatives at once, orphans go only after the grace, and two server processes
(two sets of services on one database) uploading and deleting the same bytes never leave an
image without its original."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from imagerepo.config import Settings
from imagerepo.db.engine import create_engine, session_factory
from imagerepo.db.repos.blobs import BlobRepository
from imagerepo.services.blob_refs import BlobReferences, Collected
from imagerepo.services.derivatives import derivative_key
from imagerepo.wiring import Services, build_services
from tests.api.helpers import client_of, sign_in, upload
from tests.conftest import ROOT_PASSWORD
from tests.images import make_image
from tests.manual_clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def quiet(settings: Settings) -> Settings:
    """No periodic collector (tests run passes by hand); a one-minute grace."""
    return settings.model_copy(update={"gc_interval_seconds": 0, "blob_grace_seconds": 60})


@pytest.fixture
async def services(quiet: Settings, clock: ManualClock) -> AsyncIterator[Services]:
    async with build_services(quiet, clock=clock) as built:
        yield built


@pytest.fixture
async def repo(quiet: Settings, services: Services) -> AsyncIterator[BlobRepository]:
    """The tables through an engine of its own, as another process would see them."""
    engine = create_engine(quiet.resolved_database_url)
    try:
        yield BlobRepository(session_factory(engine))
    finally:
        await engine.dispose()


@pytest.fixture
async def http(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(services) as client:
        yield client


@pytest.fixture
async def root(http: httpx.AsyncClient) -> dict[str, str]:
    return await sign_in(http, "root", ROOT_PASSWORD)


def refs_of(services: Services) -> BlobReferences:
    assert services.blob_refs is not None
    return services.blob_refs


async def write_blob(services: Services, tmp_path: Path, data: bytes) -> str:
    """Store bytes as an upload would, claim and all, but record no image (a failed upload)."""
    sha256 = hashlib.sha256(data).hexdigest()
    source = tmp_path / f"blob-{sha256[:8]}"
    source.write_bytes(data)
    async with refs_of(services).claimed(sha256, len(data)):
        await services.images._blobs.put(sha256, source)
    return sha256


async def stored(services: Services, sha256: str) -> bool:
    return await services.images._blobs.exists(sha256)


async def test_a_claim_protects_bytes_from_the_collector(
    services: Services, repo: BlobRepository, clock: ManualClock, tmp_path: Path
) -> None:
    refs = refs_of(services)
    data = b"claimed bytes"
    sha256 = hashlib.sha256(data).hexdigest()
    source = tmp_path / "claimed"
    source.write_bytes(data)
    async with refs.claimed(sha256, len(data)):
        await services.images._blobs.put(sha256, source)
        clock.advance(minutes=10)  # past the grace, not past the claim's hour
        assert await refs.collect() == Collected()
        assert await refs.free(sha256) is False
        assert await stored(services, sha256)
        clock.advance(hours=2)  # a crashed upload's claim stops protecting
        assert (await refs.collect()).unreferenced == 1
    assert not await stored(services, sha256)
    assert await repo.state(sha256) is None


async def test_unreferenced_bytes_go_only_after_the_grace(
    services: Services, repo: BlobRepository, clock: ManualClock, tmp_path: Path
) -> None:
    sha256 = await write_blob(services, tmp_path, b"a failed upload's bytes")
    assert await repo.state(sha256) == "live"
    assert (await refs_of(services).collect()).unreferenced == 0
    assert await stored(services, sha256)
    clock.advance(minutes=2)
    done = await refs_of(services).collect()
    assert done.unreferenced == 1 and done.expired_claims == 0
    assert not await stored(services, sha256)
    assert await repo.state(sha256) is None


async def test_a_deleting_row_makes_an_upload_wait_then_write_again(
    services: Services, repo: BlobRepository, clock: ManualClock, tmp_path: Path
) -> None:
    data = b"bytes a collector is removing"
    sha256 = await write_blob(services, tmp_path, data)
    marked_at = clock()
    assert await repo.mark_deleting(sha256, marked_at)  # a collector in another process
    refused = asyncio.Event()

    class Watching(BlobRepository):
        async def claim(self, *args: object, **kwargs: object) -> bool:
            ok = await super().claim(*args, **kwargs)  # type: ignore[arg-type]
            if not ok:
                refused.set()
            return ok

    watching = Watching(repo._sessions)
    refs = BlobReferences(watching, services.images._blobs, _no_derivatives, clock)
    source = tmp_path / "again"
    source.write_bytes(data)

    async def upload_again() -> bool:
        async with refs.claimed(sha256, len(data)):
            return await services.images._blobs.put(sha256, source)

    task = asyncio.create_task(upload_again())
    await refused.wait()
    assert not task.done()
    # The collector finishes: bytes first, then the row; the upload may go on.
    await services.images._blobs.delete(sha256)
    await repo.forget(sha256, marked_at)
    assert await task is True  # written again, not skipped as "already there"
    assert await stored(services, sha256)
    assert await repo.state(sha256) == "live"


async def _no_derivatives(sha256: str) -> None:
    return None


async def test_deleting_an_image_frees_bytes_and_derivatives_at_once(
    services: Services, http: httpx.AsyncClient, root: dict[str, str], repo: BlobRepository
) -> None:
    data = make_image(seed=41, size=(200, 150))
    image = await upload(http, root, data)
    sha256 = image["sha256"]
    preview = await http.get(f"/api/v1/images/{image['id']}/preview", headers=root)
    assert preview.status_code == 200
    derivatives = services.images._derivatives._store
    rendered = derivative_key(sha256, "preview", "webp")
    assert await derivatives.exists(rendered)
    assert await repo.state(sha256) == "live"
    assert (await http.delete(f"/api/v1/images/{image['id']}", headers=root)).status_code == 204
    assert not await stored(services, sha256)
    assert not await derivatives.exists(rendered)
    assert not await derivatives.exists(derivative_key(sha256, "thumbnail", "webp"))
    assert await repo.state(sha256) is None


async def test_orphans_go_only_when_older_than_the_grace(
    services: Services, repo: BlobRepository, clock: ManualClock, tmp_path: Path
) -> None:
    data = b"an object no row names"
    sha256 = hashlib.sha256(data).hexdigest()
    (tmp_path / "orphan").write_bytes(data)
    await services.images._blobs.put(sha256, tmp_path / "orphan")  # no claim, no row
    assert (await refs_of(services).collect()).orphans == 0  # younger than the grace
    assert await stored(services, sha256)
    clock.advance(minutes=5)
    assert (await refs_of(services).collect()).orphans == 1
    assert not await stored(services, sha256)
    assert await repo.state(sha256) is None


async def test_two_processes_upload_and_delete_the_same_bytes(
    quiet: Settings, clock: ManualClock
) -> None:
    """Two sets of services on one database and one store, as two server processes: one
    keeps uploading and deleting its copy, the other uploads the same bytes. Whatever the
    interleaving, an image that exists has its original."""
    async with (
        build_services(quiet, clock=clock) as first,
        build_services(quiet, clock=clock) as second,
        client_of(first) as one,
        client_of(second) as two,
    ):
        root = await sign_in(one, "root", ROOT_PASSWORD)
        made = await one.post(
            "/api/v1/users", json={"username": "bob", "password": "bob-password"}, headers=root
        )
        assert made.status_code == 201
        bob = await sign_in(two, "bob", "bob-password")
        for round_ in range(8):
            data = make_image(seed=100 + round_, size=(120, 90))
            mine = await upload(one, root, data)

            async def delete_mine(image_id: str = mine["id"]) -> None:
                answer = await one.delete(f"/api/v1/images/{image_id}", headers=root)
                assert answer.status_code == 204

            theirs, _ = await asyncio.gather(upload(two, bob, data), delete_mine())
            got = await two.get(f"/api/v1/images/{theirs['id']}/file", headers=bob)
            assert got.status_code == 200 and got.content == data, round_


async def test_an_image_without_a_row_gets_one_and_keeps_its_bytes(
    quiet: Settings,
    services: Services,
    http: httpx.AsyncClient,
    root: dict[str, str],
    repo: BlobRepository,
    clock: ManualClock,
) -> None:
    """Bytes an image names but no `blobs` row does (a bulk load that bypassed claims): the
    orphan walk repairs the row instead of deleting the bytes."""
    image = await upload(http, root, make_image(seed=43))
    engine = create_engine(quiet.resolved_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM blobs"))
    finally:
        await engine.dispose()
    clock.advance(hours=2)
    assert (await refs_of(services).collect()).orphans == 0
    assert await stored(services, image["sha256"])
    assert await repo.state(image["sha256"]) == "live"


async def test_a_half_done_removal_is_finished_by_a_later_pass(
    services: Services, repo: BlobRepository, clock: ManualClock, tmp_path: Path
) -> None:
    """A collector that marked a row and died: after the grace another pass takes the mark
    over and finishes; the dead one's late `forget` no longer drops the row."""
    sha256 = await write_blob(services, tmp_path, b"bytes of a crashed removal")
    crashed_at = clock()
    assert await repo.mark_deleting(sha256, crashed_at)
    assert (await refs_of(services).collect()).stale == 0  # it may still be working
    clock.advance(minutes=2)
    await repo.forget(sha256, crashed_at - timedelta(seconds=1))  # not its mark: kept
    assert await repo.state(sha256) == "deleting"
    assert (await refs_of(services).collect()).stale == 1
    assert not await stored(services, sha256)
    assert await repo.state(sha256) is None
