"""Real camera files from ../shared/data: broken metadata must not stop real pixels."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.images import EXIF_SAMPLES

pytestmark = pytest.mark.skipif(not EXIF_SAMPLES.is_dir(), reason="../shared/data is not here")

BROKEN_METADATA = sorted(
    [
        *EXIF_SAMPLES.glob("jpg/invalid/*.jpg"),
        *EXIF_SAMPLES.glob("jpg/tests/*.jp*g"),
        EXIF_SAMPLES / "jpg/corrupted.jpg",
    ]
)
EVERY_JPEG_AND_TIFF = sorted(
    p for p in EXIF_SAMPLES.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".tif", ".tiff"}
)


def test_the_sample_sets_are_there() -> None:
    assert len(BROKEN_METADATA) >= 15
    assert len(EVERY_JPEG_AND_TIFF) >= 90


@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", BROKEN_METADATA, ids=lambda p: p.name)
async def test_broken_metadata_still_ingests(
    path: Path, http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    answer = await http.post(
        "/api/v1/images", files={"file": (path.name, path.read_bytes())}, headers=alice
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["width"] > 0 and answer.json()["height"] > 0


@pytest.mark.timeout(120)
async def test_every_jpeg_and_tiff_sample_ingests(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    failures = {}
    for path in EVERY_JPEG_AND_TIFF:
        answer = await http.post(
            "/api/v1/images", files={"file": (path.name, path.read_bytes())}, headers=alice
        )
        if answer.status_code not in (200, 201):
            failures[str(path.relative_to(EXIF_SAMPLES))] = answer.text
    assert failures == {}
