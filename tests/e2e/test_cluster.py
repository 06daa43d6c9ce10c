"""The scaled deployment end to end: two API server processes behind a real nginx and one job
worker process, on PostgreSQL, an S3 bucket (SeaweedFS) and Redis, as docs/deploy.md lays out.

- uploads through both servers at once, and the same bytes from two connections at once (one to
  each server): one row per (owner, sha256), every image downloadable through either server;
- a visibility change through one server is seen through the other on the very next request;
- the job worker makes every derivative; killed with SIGKILL in the middle of a job, the next
  worker finishes it, and every derivative is in the bucket in the end.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from imagerepo.backends import build_blob_stores
from imagerepo.config import Settings
from imagerepo.services.derivatives import derivative_key
from imagerepo.services.rendering import full_copy_format
from tests.databases import Databases
from tests.e2e.conftest import REPO, LiveServer
from tests.e2e.test_job_workers import job_states, noisy_png, stop
from tests.images import make_image
from tests.services import NginxFactory, S3Service

pytestmark = pytest.mark.e2e
ROOT_PASSWORD = "root-password-for-the-cluster"
SECRET = "c" * 48
CLUSTER_REDIS_DB = 4  # 1: test_shared_cache, 2 and 3: the scaled profile's
DEADLINE = 120.0


@dataclass
class Cluster:
    servers: list[LiveServer]
    entry: str  # nginx
    settings: Settings  # what every process runs with, for reading the bucket and the queue
    env: dict[str, str]
    home: Path

    def start_worker(self) -> subprocess.Popen[bytes]:
        with (self.home / "worker.log").open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "imagerepo", "worker", "--concurrency", "1"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=log,
            )


@dataclass
class ClusterServer(LiveServer):
    shared_env: dict[str, str] | None = None

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env.update(self.shared_env or {})
        return env


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_databases: Databases,
    s3_service: S3Service,
    redis_url: str,
    nginx_proxy: NginxFactory,
) -> Iterator[Cluster]:
    home = tmp_path_factory.mktemp("cluster")
    database = postgres_databases.create()
    url = postgres_databases.url_of(database)
    prefix = f"cluster-{secrets.token_hex(4)}"
    shared = {
        "IMAGEREPO_DATABASE_URL": url,
        "IMAGEREPO_QUEUE_URL": url,
        "IMAGEREPO_STORAGE_URL": f"s3://{s3_service.bucket}/{prefix}",
        "IMAGEREPO_S3_ENDPOINT": s3_service.endpoint,
        "IMAGEREPO_S3_ACCESS_KEY": s3_service.access_key,
        "IMAGEREPO_S3_SECRET_KEY": s3_service.secret_key,
        "IMAGEREPO_CACHE_URL": f"{redis_url.rsplit('/', 1)[0]}/{CLUSTER_REDIS_DB}",
        "IMAGEREPO_ROOT_PASSWORD": ROOT_PASSWORD,
        "IMAGEREPO_SECRET_KEY": SECRET,
        "IMAGEREPO_WRITE_CLIENT_LOGIN": "false",
        "IMAGEREPO_TRUSTED_PROXIES": "127.0.0.1/32",
        "IMAGEREPO_JOB_HEARTBEAT_SECONDS": "1",
        "IMAGEREPO_JOB_SWEEP_SECONDS": "1",
        "IMAGEREPO_JOB_RETRY_BASE_SECONDS": "0",
    }
    servers = [
        ClusterServer(home=home / name, database_url=url, shared_env=shared)
        for name in ("one", "two")
    ]
    for server in servers:
        server.home.mkdir()
    worker_env = {**servers[0].env, "IMAGEREPO_DATA_DIR": str(home / "worker-data")}
    migrated = subprocess.run(
        [sys.executable, "-m", "imagerepo", "migrate"],
        cwd=REPO,
        env=worker_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    settings = Settings(
        data_dir=home / "reader",
        database_url=url,
        queue_url=url,
        storage_url=shared["IMAGEREPO_STORAGE_URL"],
        s3_endpoint=s3_service.endpoint,
        s3_access_key=s3_service.access_key,
        s3_secret_key=SecretStr(s3_service.secret_key),
    )
    try:
        for server in servers:  # one at a time: the first makes root
            server.start()
        entry = nginx_proxy(",".join(server.url for server in servers))
        yield Cluster(servers, entry, settings, worker_env, home)
    finally:
        for server in servers:
            server.stop()
        postgres_databases.drop(database)


def login(url: str, username: str, password: str) -> dict[str, str]:
    form = {"username": username, "password": password}
    answer = httpx.post(f"{url}/api/v1/auth/token", data=form, timeout=30)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def make_user(cluster: Cluster, name: str) -> dict[str, str]:
    root = login(cluster.entry, "root", ROOT_PASSWORD)
    made = httpx.post(
        f"{cluster.entry}/api/v1/users",
        json={"username": name, "password": f"{name}-password-1"},
        headers=root,
        timeout=30,
    )
    assert made.status_code == 201, made.text
    return login(cluster.entry, name, f"{name}-password-1")


async def post_image(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], data: bytes, name: str
) -> httpx.Response:
    return await client.post(
        f"{url}/api/v1/images",
        files={"file": (name, data, "image/jpeg" if name.endswith(".jpg") else "image/png")},
        data={"visibility": "public"},
        headers=headers,
    )


def wait_until_ready(url: str, headers: dict[str, str], image_ids: list[str]) -> None:
    """Poll until every image is `ready` (bounded by a deadline; no fixed sleep)."""
    deadline = time.monotonic() + DEADLINE
    waiting = set(image_ids)
    while waiting:
        for image_id in sorted(waiting):
            body = httpx.get(f"{url}/api/v1/images/{image_id}", headers=headers, timeout=30).json()
            assert body["state"] != "failed", body
            if body["state"] == "ready":
                waiting.discard(image_id)
        assert time.monotonic() < deadline, f"not ready after {DEADLINE} s: {waiting}"
        time.sleep(0.05)


async def derivatives_in_bucket(settings: Settings, image: dict[str, Any]) -> list[bool]:
    _, store = build_blob_stores(settings)
    wanted = [("thumbnail", "webp"), ("preview", "webp"), ("full", None)]
    found = []
    for kind, fmt in wanted:
        copy = fmt or full_copy_format(image["media_type"])
        key = derivative_key(image["sha256"], kind, copy)  # type: ignore[arg-type]
        found.append(await store.exists(key))
    return found


async def test_uploads_through_two_servers_behind_nginx_with_a_job_worker(
    cluster: Cluster,
) -> None:
    one, two = (server.url for server in cluster.servers)
    ann, bob = make_user(cluster, "ann"), make_user(cluster, "bob")
    pictures = [make_image(seed=100 + n) for n in range(6)]
    twin = make_image(seed=999)
    async with httpx.AsyncClient(timeout=60) as client:
        answers = await asyncio.gather(
            *(
                post_image(client, (one, two)[n % 2], ann, data, f"p{n}.jpg")
                for n, data in enumerate(pictures)
            ),
            post_image(client, one, ann, twin, "twin.jpg"),  # the same bytes, at once,
            post_image(client, two, ann, twin, "twin.jpg"),  # through the other server
        )
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    twins = {a.json()["id"] for a in answers[-2:]}
    assert len(twins) == 1  # one row per (owner, sha256)
    ids = [a.json()["id"] for a in answers[:-2]] + list(twins)
    listed = httpx.get(f"{cluster.entry}/api/v1/images?owner=ann&limit=100", headers=ann).json()
    assert sorted(item["id"] for item in listed["items"]) == sorted(ids)

    digests = {a.json()["id"]: a.json()["sha256"] for a in answers}
    for image_id in ids:  # every image, whole, through either server and through nginx
        for url in (one, two, cluster.entry):
            got = httpx.get(f"{url}/api/v1/images/{image_id}/file", headers=ann, timeout=30)
            assert got.status_code == 200, got.text
            assert hashlib.sha256(got.content).hexdigest() == digests[image_id]

    shown = f"/api/v1/images/{ids[0]}"
    for url in (one, two, two):  # both servers have read (and cached) it
        assert httpx.get(f"{url}{shown}", headers=bob).status_code == 200
    hidden = httpx.patch(f"{one}{shown}", json={"visibility": "private"}, headers=ann)
    assert hidden.status_code == 200, hidden.text
    assert httpx.get(f"{two}{shown}", headers=bob).status_code == 404  # the very next request
    assert ids[0] not in {
        i["id"] for i in httpx.get(f"{two}/api/v1/images", headers=bob).json()["items"]
    }

    worker = cluster.start_worker()
    try:
        wait_until_ready(cluster.entry, ann, ids)
    finally:
        assert stop(worker) == 0, (cluster.home / "worker.log").read_text()
    for image_id in ids:
        body = httpx.get(f"{cluster.entry}/api/v1/images/{image_id}", headers=ann).json()
        assert await derivatives_in_bucket(cluster.settings, body) == [True, True, True]


async def test_a_job_worker_killed_mid_job_loses_no_derivative(cluster: Cluster) -> None:
    one, two = (server.url for server in cluster.servers)
    cy = make_user(cluster, "cy")
    async with httpx.AsyncClient(timeout=120) as client:
        answers = [
            await post_image(client, (one, two)[n % 2], cy, noisy_png(n), f"noise{n}.png")
            for n in range(3)
        ]
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    ids = [a.json()["id"] for a in answers]
    first = cluster.start_worker()
    try:
        deadline = time.monotonic() + DEADLINE
        while "doing" not in await job_states(cluster.settings):
            assert first.poll() is None, (cluster.home / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker never started a job"
            await asyncio.sleep(0.01)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    second = cluster.start_worker()
    try:
        wait_until_ready(cluster.entry, cy, ids)
    finally:
        assert stop(second) == 0, (cluster.home / "worker.log").read_text()
    for image_id in ids:
        body = httpx.get(f"{cluster.entry}/api/v1/images/{image_id}", headers=cy).json()
        assert await derivatives_in_bucket(cluster.settings, body) == [True, True, True]
