"""Small request helpers shared by the API tests."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pydantic import SecretStr

from imagerepo.app import create_app
from imagerepo.config import Settings
from imagerepo.wiring import Services
from tests.images import make_image
from tests.services import S3Service


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
async def client_of(
    services: Services, transport: type[httpx.ASGITransport] = httpx.ASGITransport
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client for an app mounted on already built `services` (lifespan run)."""
    app = create_app(services.settings, services=services)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport(app=app), base_url="http://t") as client,
    ):
        yield client


def on_bucket(settings: Settings, s3: S3Service, prefix: str, **more: Any) -> Settings:
    """`settings` with its bytes in a fresh prefix of the session's S3 bucket."""
    return settings.model_copy(
        update={
            "storage_url": f"s3://{s3.bucket}/{prefix}-{secrets.token_hex(4)}",
            "s3_endpoint": s3.endpoint,
            "s3_access_key": s3.access_key,
            "s3_secret_key": SecretStr(s3.secret_key),
            "s3_region": s3.region,
            **more,
        }
    )


async def sign_in(http: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    """Bearer headers for this user."""
    form = {"username": username, "password": password}
    answer = await http.post("/api/v1/auth/token", data=form)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}
