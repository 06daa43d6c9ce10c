"""Real PostgreSQL, Redis, S3 (SeaweedFS) and nginx for the tests that claim them.

Each is started once per session by its script in `scripts/services/` (the same scripts a developer
runs by hand), on a free loopback port with its data in a temp folder, and stopped at the end.
A missing binary skips the claiming tests with the reason, except in CI (`CI=true`), where
`scripts/ci/install-services.sh` installed everything and a missing service is a failure.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]
SCRIPTS = REPO / "scripts" / "services"
S3_ACCESS_KEY = "imagerepo"
S3_SECRET_KEY = "imagerepo-secret"  # the identity scripts/services/seaweedfs.sh configures
S3_BUCKET = "imagerepo"


def unavailable(reason: str) -> None:
    """Skip locally; fail in CI, where every service must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: scripts/ci/install-services.sh should have installed it)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_port_block(count: int) -> int:
    """A first port of `count` free consecutive ones, below the ephemeral range."""
    for _ in range(50):
        base = random.randrange(20000, 30000 - count)
        probes = [socket.socket() for _ in range(count)]
        try:
            for offset, probe in enumerate(probes):
                probe.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return base
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass
class Service:
    """One running service: its script, state folder and URL."""

    name: str
    state: Path
    url: str

    def stop(self) -> None:
        subprocess.run(
            [str(SCRIPTS / f"{self.name}.sh"), "stop", str(self.state)], check=False, timeout=60
        )


def start_service(
    name: str, state: Path, port: int, extra_env: dict[str, str] | None = None
) -> Service:
    env = {**os.environ, "PORT": str(port), **(extra_env or {})}
    done = subprocess.run(
        [str(SCRIPTS / f"{name}.sh"), "start", str(state)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"{name} did not start: {done.stderr.strip()[-2000:]}")
    return Service(name, state, done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def services_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: PostgreSQL runs as its own user when we are root, and pytest's
    # folders are private to us. This one is made traversable (the cluster inside stays 0700).
    path = Path(tempfile.mkdtemp(prefix="imagerepo-services-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _running(name: str, services_dir: Path, port: int, **env: str) -> Iterator[Service]:
    service = start_service(name, services_dir / name, port, env)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def redis_url(services_dir: Path) -> Iterator[str]:
    """A Redis server of this session (its database 0; tests use distinct key prefixes)."""
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed (apt-get install redis-server)")
    with _running("redis", services_dir, free_port()) as service:
        yield service.url


@pytest.fixture(scope="session")
def postgres_url(services_dir: Path) -> Iterator[str]:
    """A PostgreSQL 15 cluster of this session with an empty database `imagerepo`."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        unavailable("PostgreSQL is not installed (apt-get install postgresql)")
    with _running("postgres", services_dir, free_port()) as service:
        yield service.url


@dataclass(frozen=True)
class S3Service:
    endpoint: str
    bucket: str = S3_BUCKET
    access_key: str = S3_ACCESS_KEY
    secret_key: str = S3_SECRET_KEY
    region: str = "us-east-1"


@pytest.fixture(scope="session")
def s3_service(services_dir: Path) -> Iterator[S3Service]:
    """SeaweedFS answering S3 with the bucket `imagerepo`; tests use distinct prefixes."""
    weed = REPO / ".venv" / "bin" / "weed"
    if not weed.exists() and shutil.which("weed") is None:
        unavailable("weed is not installed (bash scripts/ci/install-services.sh)")
    with _running("seaweedfs", services_dir, free_port_block(12)) as service:
        yield S3Service(endpoint=service.url)


NginxFactory = Callable[[str], str]


@pytest.fixture(scope="session")
def nginx_proxy(services_dir: Path) -> Iterator[NginxFactory]:
    """`nginx_proxy(upstream_url)` starts an nginx in front of that URL and returns its URL."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        unavailable("nginx is not installed (apt-get install nginx)")
    started: list[Service] = []

    def start(upstream: str) -> str:
        state = services_dir / f"nginx-{len(started)}"
        service = start_service("nginx", state, free_port(), {"UPSTREAM": upstream})
        started.append(service)
        return service.url

    try:
        yield start
    finally:
        for service in started:
            service.stop()
