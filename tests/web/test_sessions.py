"""The gallery's cookie login through HTTP, in-process: the cookie's flags, CSRF on every
state-changing API call it authenticates (and none for bearer tokens), sign-out, expiry, and
the password change and user deletion that end sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from imagerepo.app import create_app
from imagerepo.config import Settings
from tests.api.helpers import assert_error, upload
from tests.conftest import ROOT_PASSWORD
from tests.images import make_image

BASE = "http://imagerepo.test"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@asynccontextmanager
async def gallery(settings: Settings, clock: Clock, base: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app (sessions last ten minutes) and a client of it with a cookie jar."""
    app = create_app(settings.model_copy(update={"session_ttl_seconds": 600}), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=base) as client,
    ):
        yield client


@pytest.fixture
async def http(settings: Settings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    async with gallery(settings, clock, BASE) as client:
        yield client


def browser(http: httpx.AsyncClient) -> httpx.AsyncClient:
    """A second client on the same app with its own cookie jar."""
    return httpx.AsyncClient(transport=http._transport, base_url=BASE)


async def sign_in(http: httpx.AsyncClient, username: str, password: str) -> str:
    """Sign in through the form; returns the page's CSRF token."""
    answer = await http.post(
        "/login", data={"username": username, "password": password, "next": "/mine"}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/mine"
    page = await http.get("/")
    token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    assert len(token) > 30
    return token


async def test_sign_in_sets_an_httponly_lax_cookie_and_the_api_knows_the_user(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.post("/login", data={"username": "root", "password": ROOT_PASSWORD})
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith("imagerepo_session=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain HTTP here; under HTTPS: Secure and __Host-
    me = await http.get("/api/v1/users/me")
    assert me.status_code == 200 and me.json()["username"] == "root"


async def test_https_uses_a_secure_host_prefixed_cookie(settings: Settings, clock: Clock) -> None:
    async with gallery(settings, clock, "https://imagerepo.test") as client:
        answer = await client.post("/login", data={"username": "root", "password": ROOT_PASSWORD})
        cookie = answer.headers["set-cookie"].lower()
        assert cookie.startswith("__host-imagerepo_session=") and "; secure" in cookie
        assert (await client.get("/api/v1/users/me")).status_code == 200


async def test_behind_a_trusted_tls_proxy_the_cookie_is_secure_too(
    settings: Settings, clock: Clock
) -> None:
    """nginx ends TLS and talks plain HTTP to us; its `X-Forwarded-Proto` says what the browser
    used (the test transport's peer is 127.0.0.1)."""
    proxied = settings.model_copy(update={"trusted_proxies": "127.0.0.1/32"})
    async with gallery(proxied, clock, BASE) as client:
        client.headers["X-Forwarded-Proto"] = "https"
        form = {"username": "root", "password": ROOT_PASSWORD}
        answer = await client.post(
            "/login", data=form, headers={"Origin": "https://imagerepo.test"}
        )
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"].lower()
        assert cookie.startswith("__host-imagerepo_session=") and "; secure" in cookie


async def test_wrong_password_shows_the_form_again(http: httpx.AsyncClient) -> None:
    answer = await http.post("/login", data={"username": "root", "password": "not-the-one"})
    assert answer.status_code == 401
    assert "Wrong username or password." in answer.text
    assert "set-cookie" not in answer.headers


async def test_a_cookie_write_needs_the_csrf_token_and_a_bearer_one_does_not(
    http: httpx.AsyncClient, root: dict[str, str]
) -> None:
    image = await upload(http, root)
    token = await sign_in(http, "root", ROOT_PASSWORD)
    url = f"/api/v1/images/{image['id']}"
    assert_error(await http.patch(url, json={"description": "x"}), 403, "forbidden")
    wrong = {"X-CSRF-Token": token[:-2] + "xx"}
    assert_error(await http.patch(url, json={"description": "x"}, headers=wrong), 403)
    done = await http.patch(url, json={"description": "x"}, headers={"X-CSRF-Token": token})
    assert done.status_code == 200 and done.json()["description"] == "x"
    # An upload without the token is refused before its body is read.
    refused = await http.post(
        "/api/v1/images", files={"file": ("a.jpg", make_image(seed=3), "image/jpeg")}
    )
    assert_error(refused, 403, "forbidden")
    assert refused.headers.get("connection") == "close"
    sent = await http.post(
        "/api/v1/images",
        files={"file": ("a.jpg", make_image(seed=3), "image/jpeg")},
        headers={"X-CSRF-Token": token},
    )
    assert sent.status_code == 201, sent.text
    assert_error(await http.delete(url), 403)
    assert (await http.delete(url, headers={"X-CSRF-Token": token})).status_code == 204
    # Bearer requests carry no CSRF token, cookie or not.
    other = await upload(http, root, make_image(seed=4))
    assert (await http.delete(f"/api/v1/images/{other['id']}", headers=root)).status_code == 204


async def test_sign_out_ends_the_session_on_the_server(http: httpx.AsyncClient) -> None:
    token = await sign_in(http, "root", ROOT_PASSWORD)
    stolen = dict(http.cookies)
    refused = await http.post("/logout", data={"csrf_token": "wrong"})
    assert refused.status_code == 403
    answer = await http.post("/logout", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    async with browser(http) as thief:
        thief.cookies.update(stolen)
        assert_error(await thief.get("/api/v1/users/me"), 401, "not_authenticated")
        page = await thief.get("/")
        assert page.status_code == 200 and "Sign in" in page.text
        assert "imagerepo_session=" in page.headers["set-cookie"]  # the stale cookie is cleared


async def test_sessions_expire(http: httpx.AsyncClient, clock: Clock) -> None:
    await sign_in(http, "root", ROOT_PASSWORD)
    clock.now += timedelta(seconds=599)
    assert (await http.get("/api/v1/users/me")).status_code == 200
    clock.now += timedelta(seconds=2)
    assert_error(await http.get("/api/v1/users/me"), 401)


async def test_a_password_change_or_deletion_ends_the_users_sessions(
    http: httpx.AsyncClient, root: dict[str, str]
) -> None:
    for name in ("carol", "dave"):
        created = await http.post(
            "/api/v1/users", json={"username": name, "password": f"{name}-password"}, headers=root
        )
        assert created.status_code == 201
    async with browser(http) as carol, browser(http) as dave:
        await sign_in(carol, "carol", "carol-password")
        await sign_in(dave, "dave", "dave-password")
        changed = await http.put(
            "/api/v1/users/carol/password", json={"password": "another-password"}, headers=root
        )
        assert changed.status_code in (200, 204), changed.text
        assert_error(await carol.get("/api/v1/users/me"), 401)
        assert (await dave.get("/api/v1/users/me")).status_code == 200
        assert (await http.delete("/api/v1/users/dave", headers=root)).status_code in (200, 204)
        assert_error(await dave.get("/api/v1/users/me"), 401)


async def test_cross_site_sign_in_is_refused(http: httpx.AsyncClient) -> None:
    form = {"username": "root", "password": ROOT_PASSWORD}
    answer = await http.post("/login", data=form, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403 and "set-cookie" not in answer.headers
    answer = await http.post("/login", data=form, headers={"Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 403
    answer = await http.post("/login", data=form, headers={"Origin": BASE})
    assert answer.status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil", ""])
async def test_sign_in_never_redirects_off_site(http: httpx.AsyncClient, target: str) -> None:
    form = {"username": "root", "password": ROOT_PASSWORD, "next": target}
    answer = await http.post("/login", data=form)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
