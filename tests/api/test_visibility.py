"""Private images are invisible to everyone but their owner, on every route: 404, never 403."""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import assert_error, upload
from tests.images import make_image


@pytest.fixture
async def private_of_alice(http: httpx.AsyncClient, alice: dict[str, str]) -> dict[str, str]:
    return await upload(
        http,
        alice,
        make_image(seed=42),
        name="secret_plans.jpg",
        description="hidden treasure",
        visibility="private",
    )


@pytest.fixture
async def public_of_alice(http: httpx.AsyncClient, alice: dict[str, str]) -> dict[str, str]:
    return await upload(http, alice, make_image(seed=43), name="holiday.jpg", description="beach")


async def test_owner_sees_private_everywhere(
    http: httpx.AsyncClient, alice: dict[str, str], private_of_alice: dict[str, str]
) -> None:
    image_id = private_of_alice["id"]
    assert (await http.get(f"/api/v1/images/{image_id}", headers=alice)).status_code == 200
    assert (await http.get(f"/api/v1/images/{image_id}/file", headers=alice)).status_code == 200
    listing = (await http.get("/api/v1/images", headers=alice)).json()["items"]
    assert image_id in {i["id"] for i in listing}
    found = await http.get("/api/v1/images", params={"keywords": "treasure"}, headers=alice)
    assert [i["id"] for i in found.json()["items"]] == [image_id]


async def test_others_cannot_find_a_private_image_by_any_route(
    http: httpx.AsyncClient,
    bob: dict[str, str],
    private_of_alice: dict[str, str],
    public_of_alice: dict[str, str],
) -> None:
    image_id = private_of_alice["id"]
    for method, path in (
        ("GET", f"/api/v1/images/{image_id}"),
        ("GET", f"/api/v1/images/{image_id}/file"),
        ("PATCH", f"/api/v1/images/{image_id}"),
        ("DELETE", f"/api/v1/images/{image_id}"),
    ):
        kwargs = {"json": {"visibility": "public"}} if method == "PATCH" else {}
        answer = await http.request(method, path, headers=bob, **kwargs)
        assert_error(answer, 404, "not_found")
        # Indistinguishable from an id that never existed.
        missing = await http.request(
            method, path.replace(image_id, "x" * 22), headers=bob, **kwargs
        )
        assert missing.json() == answer.json()
    for params in ({}, {"keywords": "treasure"}, {"keywords": "secret"}, {"owner": "alice"}):
        items = (await http.get("/api/v1/images", params=params, headers=bob)).json()["items"]
        assert image_id not in {i["id"] for i in items}
        assert "hidden" not in str(items)
    # The public one is visible, but only its owner may change it: 403 there.
    public_id = public_of_alice["id"]
    assert (await http.get(f"/api/v1/images/{public_id}", headers=bob)).status_code == 200
    assert_error(await http.delete(f"/api/v1/images/{public_id}", headers=bob), 403, "forbidden")
    assert_error(
        await http.patch(f"/api/v1/images/{public_id}", json={"description": "x"}, headers=bob), 403
    )


async def test_making_an_image_private_hides_it_at_once(
    http: httpx.AsyncClient,
    alice: dict[str, str],
    bob: dict[str, str],
    public_of_alice: dict[str, str],
) -> None:
    """The cache must never serve a stale permission."""
    image_id = public_of_alice["id"]
    assert (await http.get(f"/api/v1/images/{image_id}", headers=bob)).status_code == 200
    listing = await http.get("/api/v1/images", headers=bob)
    assert image_id in {i["id"] for i in listing.json()["items"]}
    await http.patch(f"/api/v1/images/{image_id}", json={"visibility": "private"}, headers=alice)
    assert_error(await http.get(f"/api/v1/images/{image_id}", headers=bob), 404)
    listing = await http.get("/api/v1/images", headers=bob)
    assert image_id not in {i["id"] for i in listing.json()["items"]}


async def test_a_bad_token_is_401_on_every_route_never_anonymous(
    http: httpx.AsyncClient, public_of_alice: dict[str, str]
) -> None:
    """A credential that is sent must be valid: a bad one never falls back to anonymous read."""
    image_id = public_of_alice["id"]
    for headers in ({"Authorization": "Bearer not-a-token"}, {"Authorization": "Bearer "}):
        for method, path in (
            ("GET", "/api/v1/images"),
            ("POST", "/api/v1/images"),
            ("GET", f"/api/v1/images/{image_id}"),
            ("GET", f"/api/v1/images/{image_id}/file"),
            ("GET", f"/api/v1/images/{image_id}/thumbnail"),
            ("GET", f"/api/v1/images/{image_id}/similar"),
            ("PATCH", f"/api/v1/images/{image_id}"),
            ("DELETE", f"/api/v1/images/{image_id}"),
            ("GET", "/api/v1/users/me"),
        ):
            answer = await http.request(method, path, headers=headers)
            if headers["Authorization"] == "Bearer ":
                # An empty bearer is no credential at all: anonymous reads, 401 for the rest.
                continue
            assert_error(answer, 401)
            assert answer.headers["www-authenticate"] == "Bearer"
