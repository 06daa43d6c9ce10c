"""The local login store: which servers this machine knows, and how to log in to each.

Like `~/.pgpass`, it is a plain JSON file readable by its owner only (mode 0600, folder 0700)::

    {"default_url": "http://127.0.0.1:8000" | null,
     "logins": {"<normalized url>": {
         "default_user": "root" | null,
         "users": {"<name>": {"password": str | null,
                              "token": str | null,
                              "token_expires_at": float | null}}}}}

It lives at `$IMAGEREPO_CONFIG`, else `$XDG_CONFIG_HOME/imagerepo/config.json`, else
`~/.config/imagerepo/config.json`. The server writes the root login here on its first start, the
CLI adds tokens after each login, so the next command needs no password.

Every write is read-modify-write under an advisory lock on the folder, into a temp file made 0600
from the start and renamed over the old one: a crash or a concurrent command never leaves a
half-written or briefly world-readable file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from imagerepo.errors import ImageRepoError

try:  # POSIX only; elsewhere concurrent writers fall back to last-writer-wins.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

CONFIG_ENV = "IMAGEREPO_CONFIG"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class StoredLogin:
    """What the store knows about one user on one server."""

    password: str | None = None
    token: str | None = None
    token_expires_at: float | None = None


def config_path() -> Path:
    """Where the store lives; read from the environment on every call, so tests can move it."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "imagerepo" / "config.json"


def normalize_url(url: str) -> str:
    """The key a server is stored under, so `http://LOCALHOST:8000/` and `http://127.0.0.1:8000`
    find the same login: scheme and host lower-cased, `localhost` made `127.0.0.1`, a default port
    and any trailing slash dropped; `http://` is assumed when no scheme is given."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if host == "localhost":
        host = "127.0.0.1"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))


def load_login(url: str, username: str) -> StoredLogin | None:
    """The stored login of `username` at `url`, or None when there is none."""
    entry = _server(_read(), url)["users"].get(username)
    if not isinstance(entry, dict):
        return None
    return StoredLogin(
        password=_str_or_none(entry.get("password")),
        token=_str_or_none(entry.get("token")),
        token_expires_at=_float_or_none(entry.get("token_expires_at")),
    )


def default_user(url: str) -> str | None:
    """The user commands act as at `url` when none is named."""
    return _str_or_none(_server(_read(), url).get("default_user"))


def default_url() -> str | None:
    """The server commands talk to when none is named."""
    return _str_or_none(_read().get("default_url"))


def save_login(
    url: str,
    username: str,
    password: str | None = None,
    *,
    token: str | None = None,
    token_expires_at: float | None = None,
    make_default: bool = False,
) -> Path:
    """Store what is given for `username` at `url`, keeping every field passed as None.

    `make_default` also makes this user the default for `url` and `url` the default server (the
    server's first start and `imagerepo login` do; `user add` does not, so adding a user never
    changes who the next command acts as). Returns the path written.
    """
    key = normalize_url(url)
    with _locked() as path:
        data = _read(path)
        server = _server(data, key)
        data["logins"][key] = server
        user = server["users"].get(username)
        if not isinstance(user, dict):
            user = {"password": None, "token": None, "token_expires_at": None}
        if password is not None:
            user["password"] = password
        if token is not None:
            user["token"] = token
            user["token_expires_at"] = token_expires_at
        server["users"][username] = user
        if make_default:
            server["default_user"] = username
            data["default_url"] = key
        _write(path, data)
    return path


def drop_token(url: str, username: str) -> None:
    """Forget the token of `username` at `url` (the server refused it) but keep the password."""
    key = normalize_url(url)
    with _locked() as path:
        data = _read(path)
        user = _server(data, key)["users"].get(username)
        if isinstance(user, dict) and user.get("token") is not None:
            user["token"] = None
            user["token_expires_at"] = None
            _write(path, data)


def forget_login(url: str, username: str) -> bool:
    """Remove everything stored for `username` at `url`; True if there was something."""
    key = normalize_url(url)
    with _locked() as path:
        data = _read(path)
        server = _server(data, key)
        if username not in server["users"]:
            return False
        del server["users"][username]
        if server.get("default_user") == username:
            server["default_user"] = None
        data["logins"][key] = server
        _write(path, data)
    return True


def _server(data: dict[str, Any], url: str) -> dict[str, Any]:
    """The entry for `url`, shaped {"default_user", "users"} even when absent or damaged."""
    entry = data["logins"].get(normalize_url(url))
    if not isinstance(entry, dict):
        entry = {}
    users = entry.get("users")
    entry["users"] = users if isinstance(users, dict) else {}
    entry.setdefault("default_user", None)
    return entry


def _read(path: Path | None = None) -> dict[str, Any]:
    """The whole store, with its top level always well-shaped; a missing file is an empty store."""
    path = path or config_path()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raw = ""
    try:
        data = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        raise ImageRepoError(
            f"the login store {path} is not valid JSON ({exc}); fix or delete it"
        ) from exc
    if not isinstance(data, dict):
        raise ImageRepoError(f"the login store {path} is not a JSON object; fix or delete it")
    if not isinstance(data.get("logins"), dict):
        data["logins"] = {}
    data.setdefault("default_url", None)
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    """Replace the store atomically; the temp file is 0600 from its creation (mkstemp)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked() -> Iterator[Path]:
    """Create the folder (0700) if needed and hold an exclusive lock on it while writing."""
    path = config_path()
    folder = path.parent
    if not folder.is_dir():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield path
        return
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(dir_fd, fcntl.LOCK_EX)
        yield path
    finally:
        os.close(dir_fd)  # closing releases the lock


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _float_or_none(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
