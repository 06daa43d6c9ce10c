"""The imagerepo client: an async HTTP client (`ImageRepoClient`) and what the CLI builds on it.

    api.py      ImageRepoClient: the /api/v1 contract, errors turned back into ImageRepoError
    auth.py     which URL, which user, which token (flags, env, the local login store, a prompt)
    upload.py   the bulk uploader: file selection and a bounded pool of upload workers
    render.py   tables and JSON for the CLI

Nothing here imports server code; the only shared modules are `errors`, `config` (for the
default URL) and `credentials`.
"""

from imagerepo.client.api import ImageRepoClient, StaticToken, TokenProvider
from imagerepo.client.auth import StoredCredentials
from imagerepo.client.schemas import ImageJSON, ImagePage, TokenResponse, UploadResult, UserJSON

__all__ = [
    "ImageJSON",
    "ImagePage",
    "ImageRepoClient",
    "StaticToken",
    "StoredCredentials",
    "TokenProvider",
    "TokenResponse",
    "UploadResult",
    "UserJSON",
]
