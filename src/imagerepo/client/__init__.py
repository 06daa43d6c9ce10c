"""The imagerepo client: an async HTTP client (`ImageRepoClient`) and what the CLI builds on it.

    api.py           ImageRepoClient: the /api/v1 contract, errors turned back into ImageRepoError
    retry.py         which failures are retried, and how long to wait (backoff, Retry-After)
    auth.py          which URL, which user, which token (flags, env, the login store, a prompt)
    selection.py     which files: folder walks, hidden/symlink/extension rules, --include/--exclude
    digest_cache.py  SQLite cache of (path, size, mtime) → sha256, so unchanged files are not read
    digests.py       the sha256 of each file: from that cache, else hashed in worker threads
    upload.py        bulk sync: hash, ask /images/check, send only what is missing, report each
    render.py        tables and JSON for the CLI

Nothing here imports server code; the only shared modules are `errors` and `credentials` (not
even `config`: its pydantic-settings import alone cost every client command 0.1 s).
"""

from imagerepo.client.api import ImageRepoClient, StaticToken, TokenProvider
from imagerepo.client.auth import StoredCredentials
from imagerepo.client.retry import RetryPolicy
from imagerepo.client.schemas import (
    DigestCheck,
    ImageJSON,
    ImagePage,
    NearDuplicateJSON,
    PhotoMetadataJSON,
    TokenResponse,
    UploadResult,
    UserJSON,
)

__all__ = [
    "DigestCheck",
    "ImageJSON",
    "ImagePage",
    "ImageRepoClient",
    "NearDuplicateJSON",
    "PhotoMetadataJSON",
    "RetryPolicy",
    "StaticToken",
    "StoredCredentials",
    "TokenProvider",
    "TokenResponse",
    "UploadResult",
    "UserJSON",
]
