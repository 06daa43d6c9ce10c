"""Browser tests: the real server on a loopback port, driven by Debian's Chromium through
Playwright (`playwright` from PyPI, which brings no browser of its own: never `playwright
install`). Without `/usr/bin/chromium` they skip, saying why, except in CI (`CI=true`), where a
missing browser is a failure: `.ci/run` installs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import REPO, LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT_PASSWORD = "root-password-for-browser-tests"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
#: Screenshots for the README go to docs/screenshots when UPDATE_SCREENSHOTS=1 (so that a
#: plain test run leaves the working tree alone); otherwise into the test's temp folder.
SCREENSHOTS = REPO / "docs" / "screenshots"


@dataclass
class GalleryServer(LiveServer):
    """The e2e suite's live server, with a known root password and no client login written."""

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env.update(IMAGEREPO_ROOT_PASSWORD=ROOT_PASSWORD, IMAGEREPO_WRITE_CLIENT_LOGIN="false")
        return env

    def token(self, username: str, password: str) -> dict[str, str]:
        answer = httpx.post(
            f"{self.url}/api/v1/auth/token", data={"username": username, "password": password}
        )
        answer.raise_for_status()
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def add_user(self, username: str) -> str:
        password = f"{username}-password"
        answer = httpx.post(
            f"{self.url}/api/v1/users",
            json={"username": username, "password": password},
            headers=self.token("root", ROOT_PASSWORD),
        )
        assert answer.status_code == 201, answer.text
        return password


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GalleryServer]:
    live = GalleryServer(home=tmp_path_factory.mktemp("gallery"))
    with ExitStack() as stop:
        stop.callback(live.stop)  # also when the start fails half-way
        live.start()
        yield live


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = (
            f"browser tests need Debian's Chromium at {CHROMIUM}"
            " (apt-get install -y chromium; .ci/run does it)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")
