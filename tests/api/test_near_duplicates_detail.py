"""Near-duplicates through the API ignore pictures with too little detail (issue 6)."""

from __future__ import annotations

import io

import httpx
import numpy as np
from PIL import Image

from tests.api.helpers import upload
from tests.images import EXIF_SAMPLES


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def featureless() -> list[bytes]:
    """Flat colours, near-uniform pictures with faint noise, low-contrast gradients."""
    rng = np.random.default_rng(7)
    files = [png(Image.new("RGB", (320, 240), c)) for c in ("black", "white", "#c83232", "navy")]
    for level in (60, 200):
        noise = np.clip(rng.normal(level, 2.0, (240, 320, 3)), 0, 255).astype(np.uint8)
        files.append(png(Image.fromarray(noise)))
    x, y = np.linspace(0, 1, 320)[None, :], np.linspace(0, 1, 240)[:, None]
    for ramp in (x + 0 * y, y + 0 * x, (x + y) / 2):
        grey = (110 + 12 * ramp)[..., None].repeat(3, axis=2).astype(np.uint8)
        files.append(png(Image.fromarray(grey)))
    return files


async def similar(http: httpx.AsyncClient, who: dict[str, str], image_id: str) -> list[str]:
    answer = await http.get(f"/api/v1/images/{image_id}/similar", headers=who)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


async def test_featureless_pictures_match_nothing_while_a_photo_finds_its_copy(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    plain = [
        await upload(http, alice, data, name=f"plain-{n}.png")
        for n, data in enumerate(featureless())
    ]
    assert all(answer["near_duplicates"] == [] for answer in plain)
    for answer in plain:
        assert await similar(http, alice, answer["id"]) == []

    photo_bytes = (EXIF_SAMPLES / "jpg/gps/DSCN0010.jpg").read_bytes()  # read in place
    photo = await upload(http, alice, photo_bytes, name="photo.jpg")
    assert photo["near_duplicates"] == []
    smaller = Image.open(io.BytesIO(photo_bytes)).convert("RGB")
    smaller = smaller.resize((smaller.width // 2, smaller.height // 2))
    out = io.BytesIO()
    smaller.save(out, "JPEG", quality=45)
    copy = await upload(http, alice, out.getvalue(), name="photo-small.jpg")
    assert [found["id"] for found in copy["near_duplicates"]] == [photo["id"]]
    assert await similar(http, alice, photo["id"]) == [copy["id"]]
