"""The local login store: where it lives, who may read it, how writes merge and survive failure."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imagerepo.credentials import (
    StoredLogin,
    config_path,
    default_url,
    default_user,
    drop_token,
    forget_login,
    load_login,
    normalize_url,
    save_login,
)
from imagerepo.errors import ImageRepoError

URL = "http://127.0.0.1:8000"


@pytest.fixture
def store(isolated_client_config: Path) -> Path:
    """The store path the autouse fixture set through IMAGEREPO_CONFIG (not yet created)."""
    return isolated_client_config


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """umask 000: modes must come from the code, not from a kind default umask."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


# -- where it lives ----------------------------------------------------------------------------


def test_config_path_prefers_imagerepo_config(store: Path) -> None:
    assert config_path() == store


def test_config_path_uses_xdg_config_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("IMAGEREPO_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_path() == tmp_path / "xdg" / "imagerepo" / "config.json"


def test_config_path_defaults_to_dot_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("IMAGEREPO_CONFIG")
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config_path() == tmp_path / ".config" / "imagerepo" / "config.json"


# -- who may read it ---------------------------------------------------------------------------


@pytest.mark.usefixtures("permissive_umask")
def test_folder_is_0700_and_file_0600(store: Path) -> None:
    returned = save_login(URL, "root", "secret")
    assert returned == store
    assert mode(store.parent) == 0o700
    assert mode(store) == 0o600


@pytest.mark.usefixtures("permissive_umask")
def test_file_is_made_0600_again_on_every_write(store: Path) -> None:
    save_login(URL, "root", "secret")
    store.chmod(0o644)
    save_login(URL, "root", token="t", token_expires_at=1.0)
    assert mode(store) == 0o600


def test_an_existing_folder_keeps_its_mode(store: Path) -> None:
    store.parent.mkdir(mode=0o755)
    store.parent.chmod(0o755)
    save_login(URL, "root", "secret")
    assert mode(store.parent) == 0o755


# -- atomic writes -----------------------------------------------------------------------------


@pytest.mark.usefixtures("permissive_umask")
def test_write_goes_through_a_0600_temp_file_in_the_same_folder(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_login(URL, "root", "old")
    seen: list[tuple[Path, int, str]] = []
    real_replace = os.replace

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        seen.append((Path(src), mode(Path(src)), Path(src).read_text()))
        assert read(store)["logins"][URL]["users"]["root"]["password"] == "old"  # untouched yet
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    save_login(URL, "root", "new")
    [(tmp, tmp_mode, text)] = seen
    assert tmp.parent == store.parent
    assert tmp_mode == 0o600
    assert json.loads(text)["logins"][URL]["users"]["root"]["password"] == "new"
    assert sorted(p.name for p in store.parent.iterdir()) == [store.name]


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_login(URL, "root", "old")
    before = store.read_bytes()

    def broken_dump(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        save_login(URL, "root", "new")
    assert store.read_bytes() == before
    assert sorted(p.name for p in store.parent.iterdir()) == [store.name]


# -- merging -----------------------------------------------------------------------------------


def test_load_of_an_empty_store_is_none(store: Path) -> None:
    assert load_login(URL, "root") is None
    assert default_user(URL) is None
    assert default_url() is None
    assert not store.exists()


def test_save_then_load_round_trips(store: Path) -> None:
    save_login(URL, "root", "pw", token="tok", token_expires_at=123.5)
    assert load_login(URL, "root") == StoredLogin(
        password="pw", token="tok", token_expires_at=123.5
    )


def test_saving_a_token_keeps_the_password_and_vice_versa(store: Path) -> None:
    save_login(URL, "root", "pw")
    save_login(URL, "root", token="tok", token_expires_at=10.0)
    assert load_login(URL, "root") == StoredLogin(password="pw", token="tok", token_expires_at=10.0)
    save_login(URL, "root", "pw2")
    assert load_login(URL, "root") == StoredLogin(
        password="pw2", token="tok", token_expires_at=10.0
    )


def test_other_users_servers_and_unknown_fields_are_kept(store: Path) -> None:
    store.parent.mkdir(parents=True)
    store.write_text(json.dumps({"default_url": None, "logins": {}, "future_field": [1, 2]}))
    save_login(URL, "root", "pw-root")
    save_login(URL, "alice", "pw-alice")
    save_login("http://example.com:9000", "bob", "pw-bob")
    data = read(store)
    assert data["future_field"] == [1, 2]
    assert set(data["logins"][URL]["users"]) == {"root", "alice"}
    assert load_login("http://example.com:9000", "bob") == StoredLogin(password="pw-bob")
    assert load_login(URL, "bob") is None


def test_the_file_has_the_documented_shape(store: Path) -> None:
    save_login("http://LOCALHOST:8000/", "root", "pw", make_default=True)
    assert read(store) == {
        "default_url": URL,
        "logins": {
            URL: {
                "default_user": "root",
                "users": {"root": {"password": "pw", "token": None, "token_expires_at": None}},
            }
        },
    }


def test_defaults_change_only_with_make_default(store: Path) -> None:
    save_login(URL, "alice", "pw")
    assert default_user(URL) is None
    assert default_url() is None
    save_login(URL, "root", "pw", make_default=True)
    save_login(URL, "alice", "pw2")
    assert default_user(URL) == "root"
    assert default_url() == URL
    save_login("http://other:1", "alice", "x", make_default=True)
    assert default_url() == "http://other:1"
    assert default_user(URL) == "root"


def test_drop_token_keeps_the_password(store: Path) -> None:
    save_login(URL, "root", "pw", token="tok", token_expires_at=5.0)
    drop_token(URL, "root")
    assert load_login(URL, "root") == StoredLogin(password="pw")


def test_forget_login_removes_the_user_and_the_default(store: Path) -> None:
    save_login(URL, "root", "pw", make_default=True)
    save_login(URL, "alice", "pw")
    assert forget_login(URL, "root") is True
    assert load_login(URL, "root") is None
    assert default_user(URL) is None
    assert load_login(URL, "alice") == StoredLogin(password="pw")
    assert forget_login(URL, "root") is False


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_a_damaged_store_is_one_clear_error(store: Path, content: str) -> None:
    store.parent.mkdir(parents=True)
    store.write_text(content)
    with pytest.raises(ImageRepoError, match=str(store)):
        load_login(URL, "root")


def test_damaged_entries_read_as_absent(store: Path) -> None:
    store.parent.mkdir(parents=True)
    store.write_text(json.dumps({"logins": {URL: {"users": {"root": "nonsense"}}}}))
    assert load_login(URL, "root") is None
    save_login(URL, "root", "pw")
    assert load_login(URL, "root") == StoredLogin(password="pw")


# -- URL normalization -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("HTTP://LocalHost:8000//", "http://127.0.0.1:8000"),
        ("http://localhost:8000", "http://127.0.0.1:8000"),
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://Images.Example.COM/", "https://images.example.com"),
        ("https://images.example.com:443", "https://images.example.com"),
        ("http://images.example.com:80/", "http://images.example.com"),
        ("http://example.com/repo/", "http://example.com/repo"),
        ("http://[::1]:8000/", "http://[::1]:8000"),
    ],
)
def test_normalize_url(given: str, key: str) -> None:
    assert normalize_url(given) == key
    assert normalize_url(key) == key


def test_spellings_of_one_server_share_one_login(store: Path) -> None:
    save_login("http://localhost:8000/", "root", "pw", make_default=True)
    assert load_login("HTTP://127.0.0.1:8000", "root") == StoredLogin(password="pw")
    assert default_user("http://LOCALHOST:8000") == "root"
    assert list(read(store)["logins"]) == [URL]
