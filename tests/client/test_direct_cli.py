"""`imagerepo upload --direct`: new files go to the bucket by presigned PUT (real SeaweedFS),
never through the API; a server on local storage answers 409 and the files go the usual way."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagerepo.config import Settings
from tests.api.helpers import on_bucket
from tests.client.conftest import UPLOAD, Run, Wire, tree
from tests.services import S3Service

START = "POST /api/v1/uploads"
NAMES = ["a.jpg", "b.jpg", "sub/c.png"]


@pytest.fixture(params=["s3", "local"])
def storage(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(settings: Settings, storage: str, request: pytest.FixtureRequest) -> Settings:
    """The app of `wire` and `run`, on S3 or on its data folder."""
    if storage == "s3":
        s3: S3Service = request.getfixturevalue("s3_service")
        return on_bucket(settings, s3, "cli-direct", gc_interval_seconds=0)
    return settings


async def test_direct_upload_and_its_fallback(
    storage: str, run: Run, wire: Wire, tmp_path: Path
) -> None:
    folder = tree(tmp_path / "photos", NAMES)
    done = await run("upload", "--direct", "--private", "--tag", "trip", str(folder), "-q")
    assert done.exit_code == 0, done.output
    listed = await run("images", "--json")
    assert listed.exit_code == 0, listed.output
    assert listed.output.count('"visibility": "private"') == len(NAMES)
    if storage == "s3":
        assert wire.requests[START] == len(NAMES) and wire.requests[UPLOAD] == 0
        assert wire.image_bytes == 0
    else:
        assert 1 <= wire.requests[START] <= len(NAMES)  # 409, then the usual way
        assert wire.requests[UPLOAD] == len(NAMES) and wire.image_bytes > 0
