"""Failed sign-ins are counted per address: past the limit the answer is 429 + Retry-After,
on the API and in the gallery, and a correct password is refused too until the window ends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from imagerepo.app import create_app
from imagerepo.config import Settings
from imagerepo.wiring import Services, build_services
from tests.api.helpers import assert_error
from tests.conftest import ROOT_PASSWORD

LIMIT = 3


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    limited = settings.model_copy(update={"login_max_failures": LIMIT})
    async with build_services(limited) as built:
        yield built


@pytest.fixture
async def app(services: Services) -> AsyncIterator[FastAPI]:
    built = create_app(services.settings, services=services)
    async with built.router.lifespan_context(built):
        yield built


def client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def token(http: httpx.AsyncClient, password: str) -> httpx.Response:
    return await http.post("/api/v1/auth/token", data={"username": "root", "password": password})


async def test_a_guesser_gets_429_and_the_owner_elsewhere_does_not(app: FastAPI) -> None:
    guesser = client_from(app, "192.0.2.7")
    owner = client_from(app, "198.51.100.1")
    async with guesser, owner:
        assert (await token(owner, ROOT_PASSWORD)).status_code == 200  # creates root
        for _ in range(LIMIT):
            assert_error(await token(guesser, "wrong-guess"), 401, "invalid_credentials")
        refused = await token(guesser, ROOT_PASSWORD)  # even the right one, for now
        assert_error(refused, 429, "too_many_requests")
        assert 1 <= int(refused.headers["retry-after"]) <= 900
        assert (await token(owner, ROOT_PASSWORD)).status_code == 200


async def test_a_success_clears_the_count(app: FastAPI) -> None:
    async with client_from(app, "192.0.2.8") as http:
        for _round in range(3):
            for _ in range(LIMIT - 1):
                assert_error(await token(http, "typo"), 401)
            assert (await token(http, ROOT_PASSWORD)).status_code == 200


async def test_the_gallery_sign_in_is_throttled_too(app: FastAPI) -> None:
    async with client_from(app, "192.0.2.9") as http:
        headers = {"Origin": "http://t"}
        form = {"username": "root", "password": "nope-nope", "next": "/"}
        for _ in range(LIMIT):
            answer = await http.post("/login", data=form, headers=headers)
            assert answer.status_code == 401
        answer = await http.post("/login", data=form, headers=headers)
        assert answer.status_code == 429 and "Too many failed sign-ins" in answer.text
