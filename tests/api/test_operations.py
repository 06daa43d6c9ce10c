"""Operations: /readyz, /metrics, request ids, and the client address behind a trusted proxy."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from imagerepo.api.observability import RequestContext
from imagerepo.app import create_app
from imagerepo.config import Settings
from tests.api.helpers import assert_error, upload
from tests.conftest import ROOT_PASSWORD
from tests.services import free_port


def changed(settings: Settings, **values: object) -> Settings:
    return Settings.model_validate({**settings.model_dump(), **values})


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        yield client


async def test_readyz_is_200_when_every_backend_answers(http: httpx.AsyncClient) -> None:
    answer = await http.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


async def test_readyz_is_503_naming_what_is_unreachable(settings: Settings) -> None:
    broken = changed(
        settings,
        storage_url="file:///proc/imagerepo-nowhere",
        cache_url=f"redis://127.0.0.1:{free_port()}/0",
    )
    async with started(broken) as http:
        answer = await http.get("/readyz")
        assert_error(answer, 503, "unavailable")
        message = answer.json()["error"]["message"]
        assert "storage:" in message and "cache:" in message and "database" not in message
        # The cache being down is not an outage of the API: reads still work.
        assert (await http.get("/api/v1/images")).status_code == 200


async def test_metrics_are_404_without_a_token_setting(http: httpx.AsyncClient) -> None:
    assert_error(await http.get("/metrics"), 404)


async def test_metrics_need_the_token_and_label_by_route_template(settings: Settings) -> None:
    with_token = changed(settings, metrics_token="scrape-me-please")
    async with started(with_token) as http:
        assert_error(await http.get("/metrics"), 401)
        bad = {"Authorization": "Bearer wrong"}
        assert_error(await http.get("/metrics", headers=bad), 401)
        token = await http.post(
            "/api/v1/auth/token", data={"username": "root", "password": ROOT_PASSWORD}
        )
        root = {"Authorization": f"Bearer {token.json()['access_token']}"}
        image = await upload(http, root)
        for _ in range(2):
            assert (await http.get(f"/api/v1/images/{image['id']}", headers=root)).is_success
        answer = await http.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
        assert answer.status_code == 200
        text = answer.text
        assert 'route="/api/v1/images/{image_id}"' in text
        assert image["id"] not in text  # never a raw path
        assert re.search(r'imagerepo_uploads_total\{status="201"\} [1-9]', text)
        assert re.search(r"imagerepo_upload_bytes_total [1-9]", text)
        assert re.search(r'imagerepo_cache_lookups_total\{result="hit"\} [1-9]', text)
        assert "root" not in text.replace("root_path", "")  # nothing per user


async def test_request_ids_are_echoed_when_sane_and_made_otherwise(
    http: httpx.AsyncClient,
) -> None:
    mine = await http.get("/healthz", headers={"X-Request-ID": "abc-123.4_5"})
    assert mine.headers["x-request-id"] == "abc-123.4_5"
    for insane in ("", "a" * 65, "no spaces", "x/y", "<script>"):
        answer = await http.get("/healthz", headers={"X-Request-ID": insane})
        assert re.fullmatch(r"[0-9a-f]{16}", answer.headers["x-request-id"])
    one, two = await http.get("/healthz"), await http.get("/healthz")
    assert one.headers["x-request-id"] != two.headers["x-request-id"]


@pytest.mark.parametrize(
    ("peer", "forwarded", "seen"),
    [
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),  # a trusted proxy names the client
        ("203.0.113.5", "198.51.100.7", "203.0.113.5"),  # anybody else is the client
        ("127.0.0.1", None, "127.0.0.1"),
    ],
)
async def test_the_client_address_honours_trusted_proxies(
    tmp_path: Path, peer: str, forwarded: str | None, seen: str
) -> None:
    async def echo(request: Request) -> PlainTextResponse:
        assert request.client is not None
        return PlainTextResponse(request.client.host)

    settings = Settings(data_dir=tmp_path, trusted_proxies="127.0.0.1/32, 10.0.0.0/8")
    app = RequestContext(Starlette(routes=[Route("/", echo)]), settings=settings)
    transport = httpx.ASGITransport(app=app, client=(peer, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        assert (await client.get("/", headers=headers)).text == seen


def test_trusted_proxies_must_be_networks(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not-a-net"):
        Settings(data_dir=tmp_path, trusted_proxies="127.0.0.1/32,not-a-net")


@pytest.mark.parametrize(
    ("peer", "proto", "scheme"),
    [
        ("127.0.0.1", "https", "https"),  # a trusted proxy that ends TLS
        ("127.0.0.1", "HTTPS ", "https"),
        ("127.0.0.1", "gopher", "http"),  # nonsense is ignored
        ("203.0.113.5", "https", "http"),  # anybody else cannot claim TLS it did not use
    ],
)
async def test_the_scheme_follows_x_forwarded_proto_from_a_trusted_proxy_only(
    tmp_path: Path, peer: str, proto: str, scheme: str
) -> None:
    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.url.scheme)

    settings = Settings(data_dir=tmp_path, trusted_proxies="127.0.0.1/32")
    app = RequestContext(Starlette(routes=[Route("/", echo)]), settings=settings)
    transport = httpx.ASGITransport(app=app, client=(peer, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.get("/", headers={"X-Forwarded-Proto": proto})
        assert answer.text == scheme
