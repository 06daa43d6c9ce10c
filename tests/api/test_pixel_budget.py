"""Decoding under a memory budget, through the API (issue 7, findings 1 and 5).

The app here is built with a small budget (320 MiB) and short waits, so a 144-megapixel bomb is
more than the whole budget, a 10000x15000 GIF fits, and a held reservation makes the next decode
wait and give up.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
from PIL import Image

from imagerepo.config import Settings
from imagerepo.services.pixel_budget import PixelBudget
from imagerepo.wiring import build_services
from imagerepo.workers import WorkerPool
from tests.api.helpers import assert_error, client_of, upload
from tests.bombs import PNG_SIGNATURE, gif_bomb, png_bomb, png_chunk

MIB = 1 << 20
BUDGET = 320 * MIB


@pytest.fixture
def budget() -> PixelBudget:
    return PixelBudget(BUDGET, max_wait_seconds=0.3)


@pytest.fixture
async def http(settings: Settings, budget: PixelBudget) -> AsyncIterator[httpx.AsyncClient]:
    """The app on services whose worker pool reserves from `budget` (overrides conftest's).
    No job workers: these tests watch the budget of on-request decodes alone."""
    pool = WorkerPool(2, budget=budget)
    try:
        async with (
            build_services(settings, pool=pool, run_jobs=False) as services,
            client_of(services) as client,
        ):
            yield client
    finally:
        pool.shutdown()


def truncated_png(width: int = 64, height: int = 64, rows: int = 1) -> bytes:
    """A real picture's PNG whose (complete, valid) zlib stream holds only its first rows."""
    picture = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    raw = picture.tobytes()
    stride = width * 3
    data = b"".join(b"\x00" + raw[y * stride : (y + 1) * stride] for y in range(rows))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(data))
        + png_chunk(b"IEND", b"")
    )


async def test_a_png_whose_pixel_data_stops_early_is_422(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    for data in (truncated_png(), truncated_png(rows=63), png_bomb(rows=1)):
        answer = await http.post(
            "/api/v1/images",
            files={"file": ("cut.png", data, "image/png")},
            headers=alice,
        )
        assert_error(answer, 422, "invalid_image")
        assert "truncated" in answer.json()["error"]["message"]
    listing = await http.get("/api/v1/images", headers=alice)
    assert listing.json()["items"] == []
    whole = truncated_png(rows=64)
    await upload(http, alice, whole, name="whole.png")  # every row there: accepted


async def test_more_than_the_whole_budget_is_refused_at_upload(
    http: httpx.AsyncClient, alice: dict[str, str], budget: PixelBudget
) -> None:
    answer = await http.post(
        "/api/v1/images",
        files={"file": ("bomb.png", png_bomb(), "image/png")},  # 144 MP RGB: 549 MiB decoded
        headers=alice,
    )
    assert_error(answer, 422, "invalid_image")
    assert "more than this server allows" in answer.json()["error"]["message"]
    assert budget.in_use == 0


async def test_a_bomb_that_fits_is_reduced_right_after_decoding(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str], budget: PixelBudget
) -> None:
    image = await upload(http, alice, gif_bomb(10_000, 15_000), name="screen.gif")
    assert (image["width"], image["height"]) == (10_000, 15_000)
    for route, box in (("thumbnail", 256), ("preview", 1440)):
        answer = await http.get(f"/api/v1/images/{image['id']}/{route}", headers=bob)
        assert answer.status_code == 200, answer.text
        assert max(Image.open(io.BytesIO(answer.content)).size) <= box
    assert budget.in_use == 0


async def test_a_busy_budget_answers_503_with_retry_after(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str], budget: PixelBudget
) -> None:
    picture = Image.radial_gradient("L").resize((2000, 1500)).convert("RGB")
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=1)
    image = await upload(http, alice, out.getvalue(), name="big.png")
    await budget.acquire(BUDGET - 8 * MIB)  # other decodes hold nearly everything
    try:
        answer = await http.get(f"/api/v1/images/{image['id']}/preview", headers=bob)
        assert_error(answer, 503, "unavailable")
        assert int(answer.headers["Retry-After"]) >= 1
    finally:
        budget.release(BUDGET - 8 * MIB)
    answer = await http.get(f"/api/v1/images/{image['id']}/preview", headers=bob)
    assert answer.status_code == 200
    assert budget.in_use == 0
