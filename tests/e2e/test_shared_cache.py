"""Two server processes on one data folder, sharing Redis: a change through one is seen at once
by the other. With the per-process cache, process 2 would answer from its own copy for up to the
entry TTL (60 s): a private image still shown, a revoked token still accepted."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.conftest import LiveServer
from tests.images import make_image

pytestmark = pytest.mark.e2e
ROOT_PASSWORD = "root-password-for-two-processes"


@dataclass
class SharedServer(LiveServer):
    cache_url: str = ""
    name: str = "one"

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env.update(
            IMAGEREPO_CACHE_URL=self.cache_url,
            IMAGEREPO_ROOT_PASSWORD=ROOT_PASSWORD,
            IMAGEREPO_WRITE_CLIENT_LOGIN="false",
            IMAGEREPO_SECRET_KEY="s" * 48,
        )
        return env


def login(server: LiveServer, username: str, password: str) -> dict[str, str]:
    answer = httpx.post(
        f"{server.url}/api/v1/auth/token", data={"username": username, "password": password}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory,
    redis_url: str,
    module_database_url: str | None,
    module_backend_env: dict[str, str],
) -> Iterator[tuple[SharedServer, SharedServer]]:
    home = tmp_path_factory.mktemp("shared")
    cache_url = redis_url.rsplit("/", 1)[0] + "/1"  # a database of its own on the session Redis
    db = module_database_url  # on the PostgreSQL profile, both share it
    blobs = module_backend_env  # on the scaled profile, and the bucket (the cache is set below)
    one = SharedServer(home=home, cache_url=cache_url, database_url=db, backend_env=blobs)
    two = SharedServer(
        home=home, cache_url=cache_url, name="two", database_url=db, backend_env=blobs
    )
    one.start()  # first: it migrates the database and makes root
    two.start()
    try:
        yield one, two
    finally:
        one.stop()
        two.stop()


def test_a_change_through_one_process_is_seen_by_the_other(
    pair: tuple[SharedServer, SharedServer],
) -> None:
    one, two = pair
    root = login(one, "root", ROOT_PASSWORD)
    for name in ("ann", "bob"):
        made = httpx.post(
            f"{one.url}/api/v1/users",
            json={"username": name, "password": f"{name}-password-1"},
            headers=root,
        )
        assert made.status_code == 201, made.text
    ann = login(one, "ann", "ann-password-1")
    bob = login(two, "bob", "bob-password-1")

    uploaded = httpx.post(
        f"{one.url}/api/v1/images",
        files={"file": ("a.jpg", make_image(seed=7), "image/jpeg")},
        data={"visibility": "public"},
        headers=ann,
    )
    assert uploaded.status_code == 201, uploaded.text
    image = f"/api/v1/images/{uploaded.json()['id']}"
    for server in (one, two, two):  # both processes have now read (and cached) it
        assert httpx.get(f"{server.url}{image}", headers=bob).status_code == 200

    private = httpx.patch(f"{one.url}{image}", json={"visibility": "private"}, headers=ann)
    assert private.status_code == 200, private.text
    assert httpx.get(f"{two.url}{image}", headers=bob).status_code == 404
    listed = httpx.get(f"{two.url}/api/v1/images", headers=bob).json()["items"]
    assert [item["id"] for item in listed] == []

    assert httpx.get(f"{two.url}/api/v1/users/me", headers=bob).status_code == 200  # cached
    changed = httpx.put(
        f"{one.url}/api/v1/users/me/password",
        json={"password": "bob-password-2", "current_password": "bob-password-1"},
        headers=bob,
    )
    assert changed.status_code == 204, changed.text
    assert httpx.get(f"{two.url}/api/v1/users/me", headers=bob).status_code == 401
    fresh = login(two, "bob", "bob-password-2")
    assert httpx.get(f"{one.url}/api/v1/users/me", headers=fresh).status_code == 200
