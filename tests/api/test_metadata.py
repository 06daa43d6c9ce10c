"""EXIF read at ingest, checked against an independent reader (exifread), and who sees what."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import exifread
import httpx
import pytest

from tests.api.helpers import upload
from tests.images import EXIF_SAMPLES

pytestmark = pytest.mark.skipif(not EXIF_SAMPLES.is_dir(), reason="../shared/data is not here")

SAMPLE = [
    "jpg/Canon_40D.jpg",
    "jpg/Nikon_D70.jpg",
    "jpg/Pentax_K10D.jpg",
    "jpg/Fujifilm_FinePix_E500.jpg",
    "jpg/Kodak_CX7530.jpg",
    "jpg/gps/DSCN0010.jpg",
    "jpg/gps/DSCN0042.jpg",
    "jpg/tests/87_OSError.jpg",
    "jpg/tests/67-0_length_string.jpg",
    "jpg/mobile/jolla.jpg",
    "jpg/hdr/iphone_hdr_YES.jpg",
    "heic/IMG_5195.HEIC",
    "heic/mobile/iphone_13_pro_max.HEIC",
]


def _ratio(value: Any) -> float:
    value = value.values[0]
    return float(Fraction(value.num, value.den)) if hasattr(value, "num") else float(value)


def _dms(tag: Any, ref: Any) -> float:
    d, m, s = (float(Fraction(v.num, v.den)) if v.den else 0.0 for v in tag.values)
    degrees = d + m / 60 + s / 3600
    return -degrees if str(ref).strip().upper() in ("S", "W") else degrees


def independent_reading(path: Path) -> dict[str, Any]:
    """What exifread says, in our field names; only fields it reports."""
    with path.open("rb") as handle:
        tags = exifread.process_file(handle, details=False)
    out: dict[str, Any] = {}
    if "Image Make" in tags:
        out["camera_make"] = str(tags["Image Make"]).strip()
    if "Image Model" in tags:
        out["camera_model"] = str(tags["Image Model"]).strip()
    if "EXIF DateTimeOriginal" in tags:
        out["taken_at_local"] = datetime.strptime(
            str(tags["EXIF DateTimeOriginal"])[:19], "%Y:%m:%d %H:%M:%S"
        ).isoformat()
    if "EXIF ISOSpeedRatings" in tags:
        out["iso"] = int(tags["EXIF ISOSpeedRatings"].values[0])
    if "EXIF FNumber" in tags:
        out["f_number"] = _ratio(tags["EXIF FNumber"])
    if "EXIF ExposureTime" in tags:
        out["exposure_time"] = _ratio(tags["EXIF ExposureTime"])
    if "EXIF FocalLength" in tags:
        out["focal_length"] = _ratio(tags["EXIF FocalLength"])
    if "GPS GPSLatitude" in tags and "GPS GPSLongitude" in tags:
        out["gps_latitude"] = _dms(tags["GPS GPSLatitude"], tags.get("GPS GPSLatitudeRef", "N"))
        out["gps_longitude"] = _dms(tags["GPS GPSLongitude"], tags.get("GPS GPSLongitudeRef", "E"))
    return out


@pytest.mark.parametrize("name", SAMPLE)
async def test_exif_matches_an_independent_reader(
    name: str, http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    path = EXIF_SAMPLES / name
    expected = independent_reading(path)
    assert len(expected) >= 3, f"pick samples exifread can read: {expected}"
    image = await upload(http, alice, path.read_bytes(), name=path.name)
    ours = image["metadata"]
    for field, value in expected.items():
        if isinstance(value, float):
            assert ours.get(field) == pytest.approx(value, rel=1e-4, abs=1e-6), field
        else:
            assert ours.get(field) == value, field
    assert image["taken_at"] is not None


async def test_heic_time_offset_and_location(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    path = EXIF_SAMPLES / "heic/IMG_5195.HEIC"
    image = await upload(http, alice, path.read_bytes(), name=path.name)
    assert image["media_type"] == "image/heic"
    assert (image["width"], image["height"]) == (2566, 3313)
    meta = image["metadata"]
    assert meta["taken_at_local"] == "2021-04-11T15:47:53"
    assert meta["taken_at_offset"] == "-05:00"
    assert image["taken_at"].startswith("2021-04-11T20:47:53")  # the same moment, in UTC
    assert (meta["camera_make"], meta["camera_model"]) == ("Apple", "iPhone 11 Pro Max")
    assert meta["lens"].startswith("iPhone 11 Pro Max back")
    assert meta["gps_latitude"] == pytest.approx(39.05134, abs=1e-4)
    assert meta["gps_longitude"] == pytest.approx(-94.28877, abs=1e-4)


async def test_location_and_serials_only_for_the_owner(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    path = EXIF_SAMPLES / "jpg/tests/87_OSError.jpg"  # GPS and a body serial number
    image = await upload(http, alice, path.read_bytes(), name=path.name)
    assert {"gps_latitude", "gps_longitude", "body_serial"} <= set(image["metadata"])
    for route in (f"/api/v1/images/{image['id']}", "/api/v1/images"):
        theirs = (await http.get(route, headers=bob)).json()
        shown = theirs if "metadata" in theirs else theirs["items"][0]
        assert shown["metadata"]["camera_model"] == "NIKON D70s"
        assert not {"gps_latitude", "gps_longitude", "gps_altitude", "body_serial"} & set(
            shown["metadata"]
        )


async def test_orientation_gives_displayed_size(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    for n in range(1, 9):
        path = EXIF_SAMPLES / f"jpg/orientation/portrait_{n}.jpg"
        image = await upload(http, alice, path.read_bytes(), name=path.name)
        assert (image["width"], image["height"]) == (450, 600), path.name
