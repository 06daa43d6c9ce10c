"""Bad uploads get a 4xx with a JSON body, and leave no file and no row behind."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from imagerepo.config import Settings
from tests.api.helpers import assert_error
from tests.images import make_image

LIMIT = 200_000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_upload_bytes": LIMIT, "max_image_pixels": 4_000_000})


def stored_files(settings: Settings) -> list[Path]:
    """Everything under the blob and staging folders: should stay empty after a refusal."""
    return [p for p in settings.data_dir.rglob("*") if p.is_file() and p.parent.name != "data"]


async def post_file(
    http: httpx.AsyncClient, headers: dict[str, str], data: bytes, name: str = "x.jpg"
) -> httpx.Response:
    return await http.post("/api/v1/images", files={"file": (name, data)}, headers=headers)


def eps_bytes() -> bytes:
    return b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto showpage\n"


def huge_png() -> bytes:
    """A 1-bit 10000x10000 PNG: a few KB on the wire, 100 MP once decoded."""
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, format="PNG")
    return out.getvalue()


CASES = {
    "text file": (b"hello, I am not an image\n" * 10, 415, "unsupported_media_type"),
    "empty file": (b"", 422, "validation_error"),
    "truncated jpeg": (make_image(size=(400, 300))[:2000], 422, "invalid_image"),
    "jpeg magic then garbage": (b"\xff\xd8\xff\xe0" + b"\x00garbage" * 50, 422, "invalid_image"),
    "eps (would run Ghostscript)": (eps_bytes(), 415, "unsupported_media_type"),
    "bmp (not an accepted format)": (make_image("BMP"), 415, "unsupported_media_type"),
    "pixel bomb": (huge_png(), 422, "invalid_image"),
    "oversized": (make_image("BMP", size=(400, 300)) * 2, 413, "payload_too_large"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_refused_and_nothing_stored(
    case: str, http: httpx.AsyncClient, alice: dict[str, str], settings: Settings
) -> None:
    data, status, code = CASES[case]
    assert_error(await post_file(http, alice, data), status, code)
    assert stored_files(settings) == []
    listing = (await http.get("/api/v1/images", headers=alice)).json()
    assert listing["items"] == []


async def test_oversized_declared_length_is_refused_before_reading(
    http: httpx.AsyncClient, alice: dict[str, str], settings: Settings
) -> None:
    async def endless() -> object:
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
        for _ in range(100):
            yield b"\0" * 65536

    answer = await http.post(
        "/api/v1/images",
        content=endless(),  # type: ignore[arg-type]
        headers={
            **alice,
            "content-type": "multipart/form-data; boundary=b",
            "content-length": str(10 * LIMIT),
        },
    )
    assert_error(answer, 413, "payload_too_large")
    assert stored_files(settings) == []


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b'{"file": 1}', 415),
        ("multipart/form-data", b"--x\r\n", 400),
        ("multipart/form-data; boundary=x", b"--x\r\nno headers here", 400),
        ("multipart/form-data; boundary=x", b"--x--\r\n", 422),
    ],
)
async def test_malformed_requests(
    http: httpx.AsyncClient, alice: dict[str, str], content_type: str, body: bytes, status: int
) -> None:
    answer = await http.post(
        "/api/v1/images", content=body, headers={**alice, "content-type": content_type}
    )
    assert_error(answer, status)


async def test_field_values_are_validated(http: httpx.AsyncClient, alice: dict[str, str]) -> None:
    files = {"file": ("a.jpg", make_image())}
    answer = await http.post(
        "/api/v1/images", files=files, data={"visibility": "everyone"}, headers=alice
    )
    assert_error(answer, 422, "validation_error")
    answer = await http.post(
        "/api/v1/images", files=files, data={"description": "x" * 10_001}, headers=alice
    )
    assert_error(answer, 422, "validation_error")


async def test_unknown_routes_and_methods_answer_json(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    assert_error(await http.get("/api/v1/nothing-here", headers=alice), 404)
    assert_error(await http.put("/api/v1/images", headers=alice), 405)


async def test_hostile_filenames_are_reduced_to_a_name(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    for raw, expected in (
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("C:\\Users\\me\\cat.jpg", "cat.jpg"),
        ("bad\x1b\x7fname.jpg", "badname.jpg"),
        ("", "upload"),
    ):
        answer = await post_file(http, alice, make_image(seed=len(raw)), name=raw)
        assert answer.status_code == 201, answer.text
        assert answer.json()["filename"] == expected


async def test_method_not_allowed_says_what_is(http: httpx.AsyncClient) -> None:
    answer = await http.request("TRACE", "/healthz")
    assert_error(answer, 405)
    assert "GET" in answer.headers["allow"]
