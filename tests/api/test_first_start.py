"""The first ten minutes: offline API docs, one library from any folder, root's password shown."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest

from imagerepo.app import create_app
from imagerepo.config import Settings
from tests.conftest import FAST_ARGON2


async def test_docs_work_offline_under_a_strict_policy(http: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        answer = await http.get(page)
        assert answer.status_code == 200
        html = answer.text
        assert "<script>" not in html  # only external scripts: the CSP forbids inline ones
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), html  # nothing remote
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
        for asset in re.findall(r"""(?:src|href)="(/static/[^"]+)""", html):
            served = await http.get(asset)
            assert served.status_code == 200, asset
            assert len(served.content) > 100, asset
    init = await http.get("/static/api/docs-init.js")
    assert "SwaggerUIBundle" in init.text
    assert init.headers["content-type"].startswith(("text/javascript", "application/javascript"))


def test_the_library_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    expected = tmp_path / "home" / ".local" / "share" / "imagerepo"
    for folder in ("a", "b/c"):
        (tmp_path / folder).mkdir(parents=True)
        monkeypatch.chdir(tmp_path / folder)
        settings = Settings()
        assert settings.data_dir == expected and not settings.uses_legacy_data_dir
    # A relative folder given explicitly is made absolute once, where it was given.
    assert Settings(data_dir=Path("lib")).data_dir == tmp_path / "b" / "c" / "lib"


async def test_an_old_library_in_dot_data_is_used_and_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    old = create_app(Settings(data_dir=tmp_path / "data", **FAST_ARGON2))  # type: ignore[arg-type]
    async with old.router.lifespan_context(old):
        pass
    settings = Settings(**FAST_ARGON2)  # type: ignore[arg-type]
    assert settings.data_dir == tmp_path / "data" and settings.uses_legacy_data_dir
    caplog.set_level(logging.INFO, logger="imagerepo")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pass
    text = caplog.text
    assert f"library: {tmp_path / 'data'}" in text
    assert "old default" in text and "mv " in text and "IMAGEREPO_DATA_DIR" in text
    assert "serving on http://127.0.0.1:8000" in text


async def test_first_start_shows_roots_password_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path / "lib", **FAST_ARGON2)  # type: ignore[arg-type]
    caplog.set_level(logging.INFO, logger="imagerepo")
    for _start in range(2):
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            pass
    lines = [r.getMessage() for r in caplog.records if "created user 'root'" in r.getMessage()]
    assert len(lines) == 1
    password = re.search(r"with password (\S+) ", lines[0])
    assert password and len(password.group(1)) >= 20
    assert "config.json" in lines[0] and "shown once" in lines[0]
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        form = {"username": "root", "password": password.group(1)}
        assert (await http.post("/api/v1/auth/token", data=form)).status_code == 200
