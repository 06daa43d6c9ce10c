"""Issue 7, "limits before work": credentials, media type and size are checked before a request
body is read, and a body that arrives too slowly is cut off.

Most tests drive the app at the ASGI level with a `receive` that counts the body chunks it hands
out, so "not read" is measured, not inferred from the status code.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from imagerepo.api.limits import MULTIPART_ENVELOPE_BYTES
from imagerepo.api.schemas import CheckIn
from imagerepo.app import create_app
from imagerepo.config import Settings
from imagerepo.services.tokens import Tokens
from tests.conftest import FAST_ARGON2, ROOT_PASSWORD
from tests.images import make_image

KEY = "k" * 48
JSON_CAP = 64 * 1024
UPLOAD_CAP = 512 * 1024
BODY_TIMEOUT = 0.5
MIN_RATE = 1000  # bytes per second
CHUNK = 16 * 1024


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        root_password=ROOT_PASSWORD,  # type: ignore[arg-type]
        secret_key=KEY,  # type: ignore[arg-type]
        max_json_bytes=JSON_CAP,
        max_upload_bytes=UPLOAD_CAP,
        body_timeout_seconds=BODY_TIMEOUT,
        body_min_bytes_per_second=MIN_RATE,
        **FAST_ARGON2,  # type: ignore[arg-type]
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def root_token(app: FastAPI) -> str:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://imagerepo.test"
    ) as client:
        answer = await client.post(
            "/api/v1/auth/token", data={"username": "root", "password": ROOT_PASSWORD}
        )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


@dataclass
class Exchange:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks_read: int = 0
    bytes_read: int = 0

    def error(self) -> dict[str, str]:
        found: dict[str, dict[str, str]] = json.loads(self.body)
        assert set(found) == {"error"}, found
        return found["error"]


async def exchange(
    app: FastAPI,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    chunks: list[bytes] = (),  # type: ignore[assignment]
    gap: float = 0.0,
    content_length: bool = True,
) -> Exchange:
    """One request straight into the ASGI app. The body is handed out chunk by chunk (after
    `gap` seconds each), counting what the app asked for."""
    result = Exchange()
    pending = list(chunks)
    answered = asyncio.Event()
    sent = dict(headers or {})
    if pending and content_length:
        sent["content-length"] = str(sum(map(len, pending)))
    elif pending:
        sent["transfer-encoding"] = "chunked"
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in sent.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("imagerepo.test", 80),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        if not pending:
            await answered.wait()
            return {"type": "http.disconnect"}
        if gap:
            await asyncio.sleep(gap)  # the client is slow: this is the behaviour under test
        chunk = pending.pop(0)
        result.chunks_read += 1
        result.bytes_read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            result.status = message["status"]
            result.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            result.body += message.get("body", b"")
            if not message.get("more_body", False):
                answered.set()

    await app(scope, receive, send)  # type: ignore[arg-type]
    return result


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def json_chunks(total: int) -> list[bytes]:
    """`total` bytes of one JSON document, in `CHUNK` pieces."""
    text = b'{"sha256": ["' + b"a" * (total - 16) + b'"]}'
    return [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]


def multipart(data: bytes) -> tuple[dict[str, str], list[bytes]]:
    """A multipart body with one `file` part holding `data`, in `CHUNK` pieces."""
    boundary = "limits-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    return headers, [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]


# -- credentials before the body -------------------------------------------------------------


async def test_anonymous_json_gets_401_before_a_byte_is_read(app: FastAPI) -> None:
    answer = await exchange(
        app,
        "POST",
        "/api/v1/images/check",
        headers={"content-type": "application/json"},
        chunks=json_chunks(4 * 1024 * 1024),
    )
    assert answer.status == 401
    assert answer.error()["code"] == "not_authenticated"
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.headers["connection"] == "close"  # the unread rest is not read afterwards
    assert answer.chunks_read == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/images"),
        ("POST", "/api/v1/users"),
        ("PATCH", "/api/v1/images/some-id"),
        ("DELETE", "/api/v1/images/some-id"),
        ("PUT", "/api/v1/anything"),
    ],
)
async def test_every_state_change_under_the_api_needs_credentials_first(
    app: FastAPI, method: str, path: str
) -> None:
    answer = await exchange(app, method, path, chunks=[b"{}"] * 64)
    assert (answer.status, answer.chunks_read) == (401, 0)


async def test_a_token_that_does_not_verify_is_refused_before_the_body(
    app: FastAPI, root_token: str
) -> None:
    expired = Tokens(KEY, 60).issue("someone", datetime.now(UTC) - timedelta(hours=2)).token
    forged = Tokens("x" * 48, 60).issue("someone", datetime.now(UTC)).token
    for token, says in ((expired, "expired"), (forged, "not valid"), (root_token[:-4], "valid")):
        answer = await exchange(
            app, "POST", "/api/v1/images/check", headers=bearer(token), chunks=json_chunks(1000)
        )
        assert (answer.status, answer.chunks_read) == (401, 0)
        assert says in answer.error()["message"]
    answer = await exchange(
        app, "POST", "/api/v1/images/check", headers={"authorization": "Basic cm9vdDpyb290"}
    )
    assert answer.status == 401


async def test_the_login_route_is_open_and_reads_are_untouched(app: FastAPI) -> None:
    answer = await exchange(
        app,
        "POST",
        "/api/v1/auth/token",
        headers={"content-type": "application/x-www-form-urlencoded"},
        chunks=[f"username=root&password={ROOT_PASSWORD}".encode()],
    )
    assert answer.status == 200, answer.body
    assert "connection" not in answer.headers  # the body was read whole: keep-alive stays
    assert (await exchange(app, "GET", "/healthz")).status == 200


# -- media type and size ---------------------------------------------------------------------


async def test_multipart_to_the_login_route_gets_415_unread(app: FastAPI) -> None:
    headers, chunks = multipart(b"x" * 2 * 1024 * 1024)
    answer = await exchange(app, "POST", "/api/v1/auth/token", headers=headers, chunks=chunks)
    assert (answer.status, answer.chunks_read) == (415, 0)
    assert answer.error()["code"] == "unsupported_media_type"
    assert answer.headers["connection"] == "close"


async def test_multipart_anywhere_but_the_upload_route_gets_415(
    app: FastAPI, root_token: str
) -> None:
    headers, chunks = multipart(b"x" * 1000)
    for method, path in (("POST", "/api/v1/users"), ("POST", "/api/v1/images/check")):
        answer = await exchange(
            app, method, path, headers={**headers, **bearer(root_token)}, chunks=chunks
        )
        assert (answer.status, answer.chunks_read) == (415, 0)


async def test_oversized_login_form_gets_413(app: FastAPI, settings: Settings) -> None:
    form = b"username=root&password=" + b"p" * (settings.max_form_bytes + 1)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    declared = await exchange(app, "POST", "/api/v1/auth/token", headers=headers, chunks=[form])
    assert (declared.status, declared.chunks_read) == (413, 0)
    assert declared.error()["code"] == "payload_too_large"
    pieces = [form[i : i + 1024] for i in range(0, len(form), 1024)]
    streamed = await exchange(
        app, "POST", "/api/v1/auth/token", headers=headers, chunks=pieces, content_length=False
    )
    assert streamed.status == 413
    assert streamed.bytes_read <= settings.max_form_bytes + 1024


async def test_authenticated_json_over_the_cap_gets_413(app: FastAPI, root_token: str) -> None:
    headers = {**bearer(root_token), "content-type": "application/json"}
    chunks = json_chunks(4 * 1024 * 1024)
    declared = await exchange(app, "POST", "/api/v1/images/check", headers=headers, chunks=chunks)
    assert (declared.status, declared.chunks_read) == (413, 0)
    assert declared.error()["code"] == "payload_too_large"
    assert declared.headers["connection"] == "close"
    streamed = await exchange(
        app,
        "POST",
        "/api/v1/images/check",
        headers=headers,
        chunks=chunks,
        content_length=False,
    )
    assert streamed.status == 413
    assert JSON_CAP < streamed.bytes_read <= JSON_CAP + CHUNK  # stopped at the cap, not the end


async def test_json_under_the_cap_is_answered(app: FastAPI, root_token: str) -> None:
    body = json.dumps({"sha256": ["ab" * 32] * 500}).encode()
    answer = await exchange(
        app,
        "POST",
        "/api/v1/images/check",
        headers={**bearer(root_token), "content-type": "application/json"},
        chunks=[body[i : i + 4096] for i in range(0, len(body), 4096)],
    )
    assert answer.status == 200, answer.body
    assert json.loads(answer.body)["missing"] == ["ab" * 32]


async def test_uploads_are_capped_by_max_upload_bytes(app: FastAPI, root_token: str) -> None:
    headers, chunks = multipart(b"x" * (UPLOAD_CAP + MULTIPART_ENVELOPE_BYTES + 1))
    streamed = await exchange(
        app,
        "POST",
        "/api/v1/images",
        headers={**headers, **bearer(root_token)},
        chunks=chunks,
        content_length=False,
    )
    assert streamed.status == 413
    assert streamed.bytes_read <= UPLOAD_CAP + MULTIPART_ENVELOPE_BYTES + CHUNK
    headers, chunks = multipart(make_image())
    stored = await exchange(
        app, "POST", "/api/v1/images", headers={**headers, **bearer(root_token)}, chunks=chunks
    )
    assert stored.status == 201, stored.body


async def test_a_route_that_takes_no_body_never_reads_one(app: FastAPI, root_token: str) -> None:
    answer = await exchange(
        app, "DELETE", "/api/v1/images/nope", headers=bearer(root_token), chunks=[b"x" * CHUNK] * 64
    )
    assert (answer.status, answer.chunks_read) == (404, 0)
    assert answer.headers["connection"] == "close"  # the unread body ends the connection


def test_the_json_cap_fits_the_largest_check_request() -> None:
    schema = CheckIn.model_json_schema()
    most = schema["properties"]["sha256"]["maxItems"]
    largest = json.dumps({"sha256": ["ab" * 32] * most}, indent=2).encode()
    assert len(largest) <= Settings().max_json_bytes


# -- slow bodies -----------------------------------------------------------------------------


async def test_a_body_that_stops_gets_408(app: FastAPI, root_token: str) -> None:
    headers = {**bearer(root_token), "content-type": "application/json"}
    answer = await exchange(
        app,
        "POST",
        "/api/v1/images/check",
        headers=headers,
        chunks=[b'{"sha256": [', b"]}"],
        gap=BODY_TIMEOUT * 3,
    )
    assert answer.status == 408
    assert answer.error()["code"] == "request_timeout"
    assert answer.headers["connection"] == "close"


async def test_a_trickling_body_is_cut_off_by_the_minimum_rate(
    app: FastAPI, root_token: str
) -> None:
    # 1 byte every 50 ms never trips the gap timeout (0.5 s); the rate (1000 B/s after 0.5 s of
    # grace) ends it after about 10 bytes, not 200.
    body = b'{"sha256": []}' + b" " * 186
    started = asyncio.get_running_loop().time()
    answer = await exchange(
        app,
        "POST",
        "/api/v1/images/check",
        headers={**bearer(root_token), "content-type": "application/json"},
        chunks=[body[i : i + 1] for i in range(len(body))],
        gap=0.05,
    )
    elapsed = asyncio.get_running_loop().time() - started
    assert answer.status == 408
    assert answer.chunks_read < 20
    assert elapsed < 2


async def test_a_steady_body_is_not_cut_off(app: FastAPI, root_token: str) -> None:
    body = json.dumps({"sha256": ["cd" * 32] * 100}).encode()  # 6.9 KB in 0.7 s: 10 KB/s
    answer = await exchange(
        app,
        "POST",
        "/api/v1/images/check",
        headers={**bearer(root_token), "content-type": "application/json"},
        chunks=[body[i : i + 700] for i in range(0, len(body), 700)],
        gap=0.07,
    )
    assert answer.status == 200, answer.body
