"""Server settings, read from `IMAGEREPO_*` environment variables and validated once.

Settings are built by whoever starts the server (the CLI, `server/server.py`, a test) and passed to
`create_app`; nothing reads the environment at import time.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
LEGACY_DATA_DIR = Path("data")  # the default before 0.2: a folder under the working directory


def user_data_dir() -> Path:
    """The per-user library: `$XDG_DATA_HOME/imagerepo`, i.e. `~/.local/share/imagerepo`."""
    return platformdirs.user_data_path("imagerepo")


def default_data_dir() -> Path:
    """The same library from any working directory, except where `./data` already holds one
    (the old default): that one is kept, and the server says how to move it."""
    if (LEGACY_DATA_DIR / "imagerepo.db").exists():
        return LEGACY_DATA_DIR.resolve()
    return user_data_dir()


class Settings(BaseSettings):
    """Every server setting; the README's configuration table is checked against this class."""

    model_config = SettingsConfigDict(env_prefix="IMAGEREPO_", extra="ignore")

    host: str = Field(DEFAULT_HOST, description="Address the server binds to.")
    port: int = Field(DEFAULT_PORT, ge=0, le=65535, description="TCP port the server listens on.")
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Folder for blobs, the SQLite file and keys; default `~/.local/share/imagerepo`"
        " (`$XDG_DATA_HOME/imagerepo`), or `./data` if it already holds a library.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy async URL; default `sqlite+aiosqlite:///<data_dir>/imagerepo.db`.",
    )
    environment: Literal["development", "production"] = Field(
        "development", description="`production` refuses to start without an explicit secret key."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key that signs tokens; default: generated once into `<data_dir>/secret_key`.",
    )
    token_ttl_seconds: int = Field(3600, gt=0, description="Lifetime of an access token.")
    session_ttl_seconds: int = Field(
        14 * 24 * 3600,
        gt=0,
        description="Lifetime of a gallery sign-in (browser session cookie), from sign-in.",
    )
    root_password: SecretStr | None = Field(
        None, description="Password of the `root` user made on first start; generated if unset."
    )
    max_upload_bytes: int = Field(
        200 * 1024 * 1024, gt=0, description="Largest upload accepted (bytes); larger gets 413."
    )
    max_image_pixels: int = Field(
        150_000_000, gt=0, description="Largest width x height accepted; larger gets 422."
    )
    # Decoding memory (issue 7): every decode reserves its pixels' bytes before it starts.
    decode_memory_bytes: int = Field(
        1 << 30,
        ge=64 * 1024 * 1024,
        description="Bytes of decoded pixels all decodes (uploads, thumbnails, previews,"
        " full-size copies) may hold at once; a decode waits for its share. An image that alone"
        " needs more is refused with 422. Default sized for a 2 GB server.",
    )
    decode_wait_seconds: float = Field(
        30.0,
        gt=0,
        description="Longest a decode waits for its share of decode_memory_bytes; then 503 with"
        " Retry-After.",
    )
    # Request limits (issue 7): checked before a body is read; see docs/architecture.md, Limits.
    max_json_bytes: int = Field(
        1024 * 1024,
        gt=0,
        description="Largest JSON request body (bytes); larger gets 413. Fits /check's 10 000"
        " digests (~0.7 MB).",
    )
    max_form_bytes: int = Field(
        8 * 1024, gt=0, description="Largest login form body (bytes); larger gets 413."
    )
    max_header_bytes: int = Field(
        16 * 1024,
        ge=1024,
        description="Largest request line plus headers (bytes); larger gets 431 and the"
        " connection is closed.",
    )
    max_headers: int = Field(
        100, ge=10, description="Most header fields in one request; more gets 431."
    )
    header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="Time from connecting (or from the first byte of a later request) to a"
        " complete request head; then the connection is closed (408 if a head had started).",
    )
    body_timeout_seconds: float = Field(
        20.0,
        gt=0,
        description="Longest wait for the next piece of a request body; then 408. Also the grace"
        " before the minimum body rate applies.",
    )
    body_min_bytes_per_second: int = Field(
        1024,
        ge=1,
        description="Slowest accepted body: waiting for a body may take at most"
        " body_timeout_seconds + bytes received / this; then 408.",
    )
    keepalive_timeout_seconds: int = Field(
        5, ge=1, description="Idle time after a response before the connection is closed."
    )
    max_connections: int = Field(
        1000,
        ge=1,
        description="Open connections (and requests still running) the server takes; beyond"
        " it a new connection gets 503 and is closed.",
    )
    max_connections_per_client: int = Field(
        64,
        ge=1,
        description="Open connections from one peer address; beyond it 503 and closed. A peer"
        " in trusted_proxies is exempt (limit per client at the proxy).",
    )
    cache_size: int = Field(
        10_000, ge=0, description="Entries in the metadata cache (0 turns it off)."
    )
    cache_ttl_seconds: float = Field(60.0, ge=0, description="Lifetime of a cache entry.")
    # Outgrowing one machine (issue 10): shared cache, S3 storage, operations.
    cache_url: str | None = Field(
        None,
        pattern=r"^rediss?://",
        description="`redis://host:port/db`: a cache (and locks) shared by every server process;"
        " default: an in-process cache per process. A Redis outage degrades to cache misses.",
    )
    storage_url: str | None = Field(
        None,
        pattern=r"^(file|s3)://",
        description="Where image bytes live: `s3://bucket/prefix` (S3-compatible, see"
        " s3_endpoint) or `file:///path`; default: `blobs/` and `derivatives/` in data_dir.",
    )
    s3_endpoint: str | None = Field(
        None,
        description="S3 endpoint URL (e.g. `http://127.0.0.1:8333` for SeaweedFS or MinIO);"
        " default: AWS.",
    )
    s3_access_key: str | None = Field(None, description="S3 access key id.")
    s3_secret_key: SecretStr | None = Field(None, description="S3 secret access key.")
    s3_region: str = Field("us-east-1", description="S3 region.")
    # Blob references, the collector and direct uploads (issue 10; services/blob_refs.py).
    blob_grace_seconds: float = Field(
        3600.0,
        ge=0,
        description="The collector removes no original claimed more recently than this, nor a"
        " stored object with no reference row younger than this.",
    )
    gc_interval_seconds: float = Field(
        3600.0,
        ge=0,
        description="Each server process runs a collector pass this often (0: never; `imagerepo"
        " gc` runs one by hand).",
    )
    s3_public_endpoint: str | None = Field(
        None,
        description="The S3 endpoint as clients reach it, for direct uploads' presigned URLs"
        " (when the server reaches S3 by another address); default: s3_endpoint.",
    )
    direct_upload_ttl_seconds: int = Field(
        900,
        ge=60,
        le=7 * 24 * 3600,
        description="Lifetime of a direct upload's presigned PUT (S3 only); an upload not"
        " confirmed by then is collected.",
    )
    # Jobs (issue 10): derivative work after an upload; see services/processing.py.
    queue_url: str | None = Field(
        None,
        pattern=r"^postgres(ql)?(\+\w+)?://",
        description="`postgresql://...`: jobs go to procrastinate's tables in that PostgreSQL"
        " database (usually the library's own) and `imagerepo worker` processes run them; the"
        " server only enqueues. Unset: jobs run inside the server process.",
    )
    job_concurrency: int = Field(
        2,
        ge=1,
        description="Jobs one process runs at once (the server with no queue_url; the default"
        " of `imagerepo worker --concurrency`).",
    )
    job_max_attempts: int = Field(
        5, ge=1, description="Runs of a job before its image is marked `failed`."
    )
    job_retry_base_seconds: int = Field(
        2,
        ge=0,
        description="Backoff between runs: the n-th retry waits this ** n seconds (2: 2, 4, 8 s).",
    )
    job_lease_seconds: float = Field(
        600.0,
        gt=0,
        description="A `processing` image untouched this long is enqueued again (a lost job).",
    )
    job_sweep_seconds: float = Field(
        120.0, gt=0, description="How often job workers look for lost and stalled jobs."
    )
    job_heartbeat_seconds: float = Field(
        10.0,
        gt=0,
        description="procrastinate workers' heartbeat; a job whose worker missed three is"
        " handed out again.",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token that /metrics (Prometheus) requires; unset: /metrics is 404.",
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="`json`: one JSON object per log line, with the request id."
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated CIDRs of reverse proxies (e.g. `127.0.0.1/32`) whose"
        " `X-Forwarded-For` names the client; from any other peer it is ignored.",
    )
    argon2_time_cost: int = Field(3, ge=1, description="argon2id iterations.")
    argon2_memory_kib: int = Field(
        65536, ge=19456, description="argon2id memory in KiB (min 19 MiB)."
    )
    worker_threads: int = Field(
        0, ge=0, description="Threads for decoding and hashing; 0 means one per CPU core."
    )
    login_max_failures: int = Field(
        10,
        ge=1,
        description="Failed sign-ins for one username from one address before 429 (ten times"
        " that from one address across usernames).",
    )
    login_failure_window_seconds: float = Field(
        900.0, gt=0, description="How long failed sign-ins are counted (from the first one)."
    )
    anonymous_read: bool = Field(
        True,
        description="Visitors without a login may list, search and fetch public images"
        " (false: every route needs a login).",
    )
    write_client_login: bool = Field(
        True, description="On first start, store the root login in this machine's client config."
    )
    log_level: str = Field("info", description="uvicorn log level.")

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        """A relative folder is taken from the working directory once, here, and never again."""
        return value.expanduser().resolve()

    @field_validator(
        "cache_url",
        "storage_url",
        "s3_endpoint",
        "s3_access_key",
        "s3_public_endpoint",
        "queue_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part, strict=False)  # ValueError names the bad one
        return value

    @property
    def trusted_networks(self) -> tuple[IPNetwork, ...]:
        return tuple(
            ipaddress.ip_network(part, strict=False)
            for part in filter(None, (p.strip() for p in self.trusted_proxies.split(",")))
        )

    @property
    def uses_legacy_data_dir(self) -> bool:
        """True when no folder was configured and the old `./data` library was picked up."""
        return "data_dir" not in self.model_fields_set and self.data_dir != user_data_dir()

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production" and self.secret_key is None:
            raise ValueError(
                "IMAGEREPO_SECRET_KEY must be set when IMAGEREPO_ENVIRONMENT=production"
            )
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("IMAGEREPO_SECRET_KEY must be at least 32 characters")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'imagerepo.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def derivative_dir(self) -> Path:
        return self.data_dir / "derivatives"

    @property
    def public_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    def signing_key(self) -> str:
        """The token signing key: the configured one, or one generated once and kept on disk."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / SECRET_KEY_FILE
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(key)
        tmp.replace(path)
        return key
