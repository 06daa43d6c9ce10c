"""The blob stores under one contract: a local folder and S3 (SeaweedFS, started per session)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from imagerepo.storage.base import BlobStore
from imagerepo.storage.local import LocalBlobStore
from imagerepo.storage.s3 import S3BlobStore, make_s3_store
from tests.services import S3Service


def s3_blob_store(s3: S3Service, prefix: str) -> S3BlobStore:
    return S3BlobStore(
        make_s3_store(
            s3.bucket,
            prefix,
            endpoint=s3.endpoint,
            access_key=s3.access_key,
            secret_key=s3.secret_key,
            region=s3.region,
        )
    )


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    s3: S3Service = request.getfixturevalue("s3_service")
    return s3_blob_store(s3, f"test-{secrets.token_hex(6)}/blobs")
