"""Small request helpers shared by the API tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from tests.images import make_image


async def upload(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    data: bytes | None = None,
    *,
    name: str = "photo.jpg",
    description: str | None = None,
    visibility: str | None = None,
    expect: int | None = 201,
) -> dict[str, Any]:
    fields = {k: v for k, v in (("description", description), ("visibility", visibility)) if v}
    answer = await http.post(
        "/api/v1/images",
        files={"file": (name, make_image() if data is None else data, "application/octet-stream")},
        data=fields,
        headers=headers,
    )
    if expect is not None:
        assert answer.status_code == expect, answer.text
    body: dict[str, Any] = answer.json()
    return body


def assert_error(answer: httpx.Response, status: int, code: str | None = None) -> None:
    """Every failure answers our JSON error body, never a stack trace."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body


@asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to `app` in-process, its lifespan run around the client."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://imagerepo.test"
        ) as client,
    ):
        yield client
