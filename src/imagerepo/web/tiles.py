"""What the pages show of an image: grid tiles grouped by month, and the metadata table.

The scripts build the same tiles from the API's JSON (`static/js/tiles.js`), under the same
months (`month_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby

from imagerepo.models import Image, Visibility
from imagerepo.policy import Viewer, is_owner, may_see_private_fields
from imagerepo.services.versions import media_version

THUMBNAIL_EDGE = 256  # the long side of a thumbnail (services.derivatives)
PREVIEW_EDGE = 1440


def fit(width: int, height: int, edge: int) -> tuple[int, int]:
    """The size of a picture scaled to fit `edge` (never enlarged)."""
    scale = min(1.0, edge / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def month_of(image: Image) -> str:
    """The month an image is filed under: of the camera's own clock when the file gave one,
    else of its capture (or upload) time in UTC, as the API's timeline counts them."""
    local = image.metadata.taken_at_local or ""
    year, month = local[:4], local[5:7]
    if local[4:5] == "-" and year.isdigit() and month.isdigit() and 1 <= int(month) <= 12:
        return datetime(max(int(year), 1), int(month), 1).strftime("%B %Y")
    return (image.taken_at or image.created_at).astimezone(UTC).strftime("%B %Y")


@dataclass(frozen=True, slots=True)
class Tile:
    id: str
    title: str
    owner: str
    private: bool
    mine: bool
    thumbnail_url: str
    preview_url: str
    width: int  # the thumbnail's
    height: int
    month: str


def tile(image: Image, viewer: Viewer) -> Tile:
    version = media_version(image)
    width, height = fit(image.width, image.height, THUMBNAIL_EDGE)
    return Tile(
        id=image.id,
        title=image.title,
        owner=image.owner,
        private=image.visibility is Visibility.PRIVATE,
        mine=is_owner(viewer, image),
        thumbnail_url=f"/api/v1/images/{image.id}/thumbnail?v={version}",
        preview_url=f"/api/v1/images/{image.id}/preview?v={version}",
        width=width,
        height=height,
        month=month_of(image),
    )


def by_month(tiles: list[Tile]) -> list[tuple[str, list[Tile]]]:
    """Consecutive tiles of one month together, in the listing's order."""
    return [(month, list(group)) for month, group in groupby(tiles, key=lambda t: t.month)]


def _exposure(seconds: float) -> str:
    return f"1/{round(1 / seconds)} s" if 0 < seconds < 1 else f"{seconds:g} s"


def _size(count: int) -> str:
    value, unit = float(count), "bytes"
    for bigger in ("KB", "MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, bigger
    return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def details(image: Image, viewer: Viewer) -> list[tuple[str, str]]:
    """The rows of the image page's table; location and serials only for the owner."""
    meta = image.metadata.as_dict(include_private=may_see_private_fields(viewer, image))
    camera = " ".join(str(meta[k]) for k in ("camera_make", "camera_model") if k in meta)
    rows: list[tuple[str, str | None]] = [
        ("Taken", meta.get("taken_at_local") or meta.get("taken_at")),
        ("Camera", camera or None),
        ("Lens", meta.get("lens")),
        ("Exposure", _exposure(meta["exposure_time"]) if "exposure_time" in meta else None),
        ("Aperture", f"f/{meta['f_number']:g}" if "f_number" in meta else None),
        ("ISO", str(meta["iso"]) if "iso" in meta else None),
        ("Focal length", f"{meta['focal_length']:g} mm" if "focal_length" in meta else None),
        ("Dimensions", f"{image.width} \u00d7 {image.height} px"),
        ("File size", _size(image.size)),
        ("Type", image.media_type),
        ("File name", image.filename),
        ("Owner", image.owner),
        ("Visibility", image.visibility.value.capitalize()),
        ("Uploaded", image.created_at.strftime("%Y-%m-%d %H:%M UTC")),
    ]
    if "gps_latitude" in meta and "gps_longitude" in meta:
        rows.append(("Location", f"{meta['gps_latitude']:.5f}, {meta['gps_longitude']:.5f}"))
    return [(label, value) for label, value in rows if value]
