"""The test profiles: `embedded` (the default) and `scaled`.

- `embedded`: SQLite, blobs in the data folder, the in-process cache: what `make run` starts.
- `scaled` (`pytest --profile=scaled`, or `IMAGEREPO_TEST_PROFILE=scaled`): what docs/deploy.md
  runs: PostgreSQL (the per-test databases of `tests.databases`), blobs in an S3 bucket (the
  session's SeaweedFS) and the cache, locks and login throttle in Redis (the session's server).

On `scaled` the `settings` fixture gets a fresh S3 prefix per test (`s3://imagerepo/t-<pid>-<n>`:
nothing to delete, the session's SeaweedFS goes away whole) and Redis database 2, emptied before
each test (`FLUSHDB`, well under a millisecond). A live server of tests/e2e gets a prefix of its
own and Redis database 3, emptied when its module starts. (Database 1 is test_shared_cache's.)
A test that only makes sense with blobs on local disk or the in-process cache marks itself
`@pytest.mark.embedded_only("why")`; `sqlite_only` tests are skipped on `scaled` too.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest
import redis

from tests.services import S3Service

PROFILES = ("embedded", "scaled")
TEST_REDIS_DB = 2
MODULE_REDIS_DB = 3
_prefixes = itertools.count()


def add_option(parser: pytest.Parser) -> None:
    parser.addoption(
        "--profile",
        choices=PROFILES,
        default=os.environ.get("IMAGEREPO_TEST_PROFILE", "embedded"),
        help="embedded: SQLite, local blobs, in-process cache; scaled: PostgreSQL, S3"
        " (SeaweedFS), Redis (default: $IMAGEREPO_TEST_PROFILE or embedded)",
    )


def on_scaled(config: pytest.Config) -> bool:
    return bool(config.getoption("--profile") == "scaled")


def _redis_db(server_url: str, number: int) -> str:
    """The URL of database `number` on the session's Redis, emptied."""
    url = f"{server_url.rsplit('/', 1)[0]}/{number}"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


def _storage(request: pytest.FixtureRequest) -> dict[str, Any]:
    s3: S3Service = request.getfixturevalue("s3_service")
    return {
        "storage_url": f"s3://{s3.bucket}/t-{os.getpid()}-{next(_prefixes)}",
        "s3_endpoint": s3.endpoint,
        "s3_access_key": s3.access_key,
        "s3_secret_key": s3.secret_key,
        "s3_region": s3.region,
    }


@pytest.fixture
def backend_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """`Settings` fields that put this test's blobs and cache on the profile's services
    (embedded: none, the defaults)."""
    if not on_scaled(request.config):
        return {}
    return {
        **_storage(request),
        "cache_url": _redis_db(request.getfixturevalue("redis_url"), TEST_REDIS_DB),
    }


@pytest.fixture(scope="module")
def module_backend_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The same as `IMAGEREPO_*` variables, for a module's live server (tests/e2e)."""
    if not on_scaled(request.config):
        return {}
    values = {
        **_storage(request),
        "cache_url": _redis_db(request.getfixturevalue("redis_url"), MODULE_REDIS_DB),
    }
    return {f"IMAGEREPO_{name.upper()}": str(value) for name, value in values.items()}


def skip_marked(items: list[pytest.Item], marker: str, label: str) -> None:
    """Skip the items marked `marker(reason)`, saying "<label>: <reason>"."""
    for item in items:
        found = item.get_closest_marker(marker)
        if found is not None:
            reason = found.args[0] if found.args else "not on this profile"
            item.add_marker(pytest.mark.skip(reason=f"{label}: {reason}"))


def skip_embedded_only(config: pytest.Config, items: list[pytest.Item]) -> None:
    if on_scaled(config):
        skip_marked(items, "embedded_only", "embedded only")
