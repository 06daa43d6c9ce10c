"""Photo metadata read at ingest: EXIF capture time, camera, lens, exposure and location.

Camera files in the wild carry broken EXIF (wrong types, zero-length strings, offsets past the end,
rationals over zero). Every field is read on its own and a field that fails is simply absent:
bad metadata never fails an upload.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from PIL import ExifTags, Image

from imagerepo.models import PhotoMetadata

# Tags by number (Pillow's ExifTags.Base names them; numbers keep this table greppable).
MAKE, MODEL, ORIENTATION, SOFTWARE = 0x010F, 0x0110, 0x0112, 0x0131
DATETIME, DATETIME_ORIGINAL, DATETIME_DIGITIZED = 0x0132, 0x9003, 0x9004
OFFSET_TIME, OFFSET_TIME_ORIGINAL = 0x9010, 0x9011
EXPOSURE_TIME, F_NUMBER, ISO, FOCAL_LENGTH, FOCAL_LENGTH_35MM = (
    0x829A,
    0x829D,
    0x8827,
    0x920A,
    0xA405,
)
LENS_MAKE, LENS_MODEL, BODY_SERIAL, LENS_SERIAL = 0xA433, 0xA434, 0xA431, 0xA435
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON, GPS_ALT_REF, GPS_ALT = 1, 2, 3, 4, 5, 6


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()
    return cleaned[:255] or None


def _number(value: object) -> float | None:
    if isinstance(value, tuple) and len(value) == 1:
        value = value[0]
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def _positive(value: object) -> float | None:
    number = _number(value)
    return number if number is not None and number > 0 else None


def _integer(value: object) -> int | None:
    if isinstance(value, tuple | list):
        value = value[0] if value else None
    if value is None:
        return None
    number = int(value)  # type: ignore[call-overload]
    return number if number > 0 else None


def _degrees(value: object, ref: object, negative: str) -> float | None:
    if not isinstance(value, tuple | list) or len(value) != 3:
        return None
    d, m, s = (float(part) for part in value)
    degrees = d + m / 60 + s / 3600
    if not math.isfinite(degrees):
        return None
    ref_text = _text(ref) or ""
    return round(-degrees if ref_text.upper().startswith(negative) else degrees, 7)


def _offset(value: object) -> timezone | None:
    text = _text(value)
    if not text or len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    hours, minutes = int(text[1:3]), int(text[4:6])
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def _capture_time(exif_ifd: dict[int, Any], base: Image.Exif) -> dict[str, Any]:
    for tag, offset_tag in (
        (DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL),
        (DATETIME_DIGITIZED, OFFSET_TIME_ORIGINAL),
        (DATETIME, OFFSET_TIME),
    ):
        raw = _text(exif_ifd.get(tag) if tag != DATETIME else base.get(tag))
        if not raw:
            continue
        try:
            local = datetime.strptime(raw[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            continue
        offset = _offset(exif_ifd.get(offset_tag))
        moment = local.replace(tzinfo=offset or UTC).astimezone(UTC)
        return {
            "taken_at": moment,
            "taken_at_local": local.isoformat(),
            "taken_at_offset": _text(exif_ifd.get(offset_tag)) if offset else None,
        }
    return {}


def _safely(values: dict[str, Any], name: str, read: Callable[[], object]) -> None:
    try:
        value = read()
    except Exception:  # noqa: BLE001 - one broken tag must not lose the others
        return
    if value is not None:
        values[name] = value


def read_metadata(image: Image.Image) -> PhotoMetadata:
    """Everything we can read from `image`'s EXIF; never raises."""
    try:
        base = image.getexif()
    except Exception:  # noqa: BLE001 - unreadable EXIF block: no metadata at all
        return PhotoMetadata()
    exif_ifd, gps = _sub_ifd(base, ExifTags.IFD.Exif), _sub_ifd(base, ExifTags.IFD.GPSInfo)
    values: dict[str, Any] = {}
    _safely(values, "camera_make", lambda: _text(base.get(MAKE)))
    _safely(values, "camera_model", lambda: _text(base.get(MODEL)))
    _safely(values, "software", lambda: _text(base.get(SOFTWARE)))
    _safely(values, "orientation", lambda: _integer(base.get(ORIENTATION)))
    _safely(values, "lens", lambda: _text(exif_ifd.get(LENS_MODEL)))
    _safely(values, "exposure_time", lambda: _positive(exif_ifd.get(EXPOSURE_TIME)))
    _safely(values, "f_number", lambda: _positive(exif_ifd.get(F_NUMBER)))
    _safely(values, "iso", lambda: _integer(exif_ifd.get(ISO)))
    _safely(values, "focal_length", lambda: _positive(exif_ifd.get(FOCAL_LENGTH)))
    _safely(values, "focal_length_35mm", lambda: _integer(exif_ifd.get(FOCAL_LENGTH_35MM)))
    _safely(values, "body_serial", lambda: _text(exif_ifd.get(BODY_SERIAL)))
    _safely(values, "lens_serial", lambda: _text(exif_ifd.get(LENS_SERIAL)))
    _safely(values, "gps_latitude", lambda: _degrees(gps.get(GPS_LAT), gps.get(GPS_LAT_REF), "S"))
    _safely(values, "gps_longitude", lambda: _degrees(gps.get(GPS_LON), gps.get(GPS_LON_REF), "W"))
    _safely(values, "gps_altitude", lambda: _gps_altitude(gps))
    with suppress(Exception):  # an unreadable date is just absent
        values.update(_capture_time(exif_ifd, base))
    if values.get("gps_latitude") is None or values.get("gps_longitude") is None:
        values.pop("gps_latitude", None)
        values.pop("gps_longitude", None)
    return PhotoMetadata(**values)


def _sub_ifd(base: Image.Exif, ifd: ExifTags.IFD) -> dict[int, Any]:
    try:
        return dict(base.get_ifd(ifd))
    except Exception:  # noqa: BLE001 - a broken sub-IFD leaves the rest readable
        return {}


def _gps_altitude(gps: dict[int, Any]) -> float | None:
    altitude = _number(gps.get(GPS_ALT)) if gps.get(GPS_ALT) is not None else None
    if altitude is None:
        return None
    below_sea = gps.get(GPS_ALT_REF) in (1, b"\x01")
    return round(-altitude if below_sea else altitude, 2)
