"""`ImageRepoClient`: the async HTTP client every command and seed script goes through.

It speaks the `/api/v1` contract and nothing else. Two translations happen here, where the
network enters, so callers only ever catch `imagerepo.errors.ImageRepoError`:

- a non-2xx answer becomes the exception its `{"error": {"code", "message"}}` body names
  (`error_from_body`), so `NotFound` raised by the server is `NotFound` here;
- an httpx connection error or timeout becomes `TransportError` with a sentence a user can act on
  (`imagerepo.client.transport_errors`).

Transient failures (no answer, 5xx, 429) are retried here too, by a `RetryPolicy` (see
`imagerepo.client.retry` for which and how long), so every command and the bulk uploader get the
same behaviour; a caller sees an error only once the retries are spent.

Where tokens come from is not its business: it asks a `TokenProvider` before each authenticated
call and tells it when the server refused one (see `imagerepo.client.auth`). The transport is a
parameter, so tests can pass `httpx.ASGITransport(app=...)` and need no network.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
import secrets
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self, cast
from urllib.parse import quote

import httpx

from imagerepo import __version__
from imagerepo.client.retry import RetryPolicy, parse_retry_after, retryable_status
from imagerepo.client.schemas import (
    DigestCheck,
    ImageJSON,
    ImagePage,
    SearchParams,
    StoredImageJSON,
    TokenResponse,
    UploadResult,
    UserJSON,
    UserListItemJSON,
    Visibility,
    is_stored_images,
    upload_result,
)
from imagerepo.client.tokens import StaticToken, TokenProvider
from imagerepo.client.transport_errors import TRANSIENT, transport_error
from imagerepo.errors import AuthenticationFailed, ImageRepoError, TransportError, error_from_body

API = "/api/v1"
# Connecting is quick or never; reading waits for the server to decode and hash a large upload.
# No pool timeout: callers bound their own concurrency, a request waiting for a slot is not stuck.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=120.0, pool=None)
# Half the server's limit of 10 000 per request: a 350 KB body, answered in well under a second.
CHECK_BATCH = 5_000
__all__ = ["ImageRepoClient", "StaticToken", "TokenProvider"]  # the tokens' home: client/tokens


class ImageRepoClient:
    """One server, one user: `async with ImageRepoClient(url, tokens=...) as client: ...`."""

    def __init__(
        self,
        base_url: str,
        *,
        tokens: TokenProvider | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float | None = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
    ) -> None:
        base = base_url.strip().rstrip("/")
        self.base_url = base if "://" in base else f"http://{base}"
        self._tokens = tokens
        self._retry = retry if retry is not None else RetryPolicy()
        self._reached = False  # has the server answered anything yet? (see `_request`)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": f"imagerepo-client/{__version__}"},
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- accounts ---------------------------------------------------------------------------

    async def login(self, username: str, password: str) -> TokenResponse:
        """Trade a password for an access token (`InvalidCredentials` when it is wrong)."""
        response = await self._request(
            "POST",
            f"{API}/auth/token",
            auth=False,
            data={"username": username, "password": password},
        )
        body = _object(self._json(response), "token")
        try:
            return TokenResponse(
                access_token=str(body["access_token"]),
                token_type=str(body.get("token_type", "bearer")),
                expires_in=int(body["expires_in"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TransportError(f"the server at {self.base_url} sent a malformed token") from exc

    async def me(self) -> UserJSON:
        """The user the token belongs to."""
        response = await self._request("GET", f"{API}/users/me")
        return cast(UserJSON, _object(self._json(response), "user"))

    async def create_user(self, username: str, password: str, is_admin: bool = False) -> UserJSON:
        """Create an account (admins only; `Conflict` when the name is taken)."""
        response = await self._request(
            "POST",
            f"{API}/users",
            json={"username": username, "password": password, "is_admin": is_admin},
        )
        return cast(UserJSON, _object(self._json(response), "user"))

    async def list_users(self) -> list[UserListItemJSON]:
        """Every user with their image count (admins only)."""
        response = await self._request("GET", f"{API}/users")
        items = _object(self._json(response), "user list").get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise TransportError(f"the server at {self.base_url} sent a malformed user list")
        return cast(list[UserListItemJSON], items)

    async def delete_user(self, username: str, *, delete_images: bool = False) -> int:
        """Delete a user (admins only); returns how many of their images went too.

        `Conflict` while they own images and `delete_images` is False: nothing is deleted then.
        """
        response = await self._request(
            "DELETE",
            _user_path(username),
            params={"delete_images": "true" if delete_images else "false"},
        )
        deleted = _object(self._json(response), "deletion").get("images_deleted", 0)
        return deleted if isinstance(deleted, int) else 0

    async def change_password(
        self, username: str, password: str, *, current_password: str | None = None
    ) -> None:
        """Set `username`'s password ("me": your own, which needs `current_password`); the
        server revokes every token that user had, this client's own one included."""
        body = {"password": password}
        if current_password is not None:
            body["current_password"] = current_password
        await self._request("PUT", f"{_user_path(username)}/password", json=body)

    # -- images -----------------------------------------------------------------------------

    async def upload(
        self,
        path: Path,
        *,
        description: str | None = None,
        visibility: Visibility | None = None,
        tags: Sequence[str] = (),
    ) -> UploadResult:
        """Send one file, streamed from disk in chunks (never read whole into memory).

        `description` and `visibility` are sent only when given: then they also apply to an
        image the caller already has with these bytes (outcome `updated`); a new image without
        a visibility is public. `tags` are given to a new image.

        httpx reads the open file synchronously in 64 KiB chunks while it writes the request;
        that is one short local read per chunk, and it keeps the body's Content-Length exact.
        """
        fields: dict[str, str | list[str]] = {}
        if visibility is not None:
            fields["visibility"] = visibility
        if description is not None:
            fields["description"] = description
        if tags:
            fields["tag"] = list(tags)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        fh = await asyncio.to_thread(path.open, "rb")
        try:
            # httpx rewinds the file before each send, so a retry after a refused token works.
            response = await self._request(
                "POST",
                f"{API}/images",
                data=fields,
                files={"file": (path.name, fh, media_type)},
            )
        finally:
            await asyncio.to_thread(fh.close)
        return upload_result(response.status_code, _object(self._json(response), "image"))

    async def check_digests(self, digests: Sequence[str]) -> DigestCheck:
        """Which of these sha256 hex digests the caller already has (with each one's stored
        visibility and description), and which are missing.

        Asked in batches of `CHECK_BATCH`; repeated digests are asked once.
        """
        existing: dict[str, str] = {}
        missing: list[str] = []
        images: dict[str, StoredImageJSON] = {}
        unique = list(dict.fromkeys(d.lower() for d in digests))
        for start in range(0, len(unique), CHECK_BATCH):
            batch = unique[start : start + CHECK_BATCH]
            response = await self._request("POST", f"{API}/images/check", json={"sha256": batch})
            body = _object(self._json(response), "digest check")
            found, absent, stored = body.get("existing"), body.get("missing"), body.get("images")
            if not (
                isinstance(found, dict)
                and isinstance(absent, list)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in found.items())
                and all(isinstance(d, str) for d in absent)
                and (stored is None or is_stored_images(stored))
            ):
                raise TransportError(f"the server at {self.base_url} sent a malformed digest check")
            existing.update(found)
            missing.extend(absent)
            images.update(stored or {})
        return DigestCheck(existing=existing, missing=missing, images=images)

    async def list_images(
        self,
        *,
        owner: str | None = None,
        keywords: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        search: SearchParams | None = None,
    ) -> ImagePage:
        """One page of the images the caller may see, newest first unless `search` holds a
        `sort`; `search` holds any other listing parameters (`q`, filters, `tag` lists)."""
        params: dict[str, str | int | list[str]] = dict(search or {})
        if owner:
            params["owner"] = owner
        if keywords:
            params["keywords"] = keywords
        if limit is not None:
            params["limit"] = limit
        if cursor:
            params["cursor"] = cursor
        response = await self._request("GET", f"{API}/images", params=params)
        body = _object(self._json(response), "listing")
        items = body.get("items")
        next_cursor = body.get("next_cursor")
        if not isinstance(items, list) or not (next_cursor is None or isinstance(next_cursor, str)):
            raise TransportError(f"the server at {self.base_url} sent a malformed listing")
        return ImagePage(items=cast(list[ImageJSON], items), next_cursor=next_cursor or None)

    async def iter_images(
        self,
        *,
        owner: str | None = None,
        keywords: str | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
        search: SearchParams | None = None,
    ) -> AsyncIterator[ImageJSON]:
        """Every matching image, following `next_cursor` page after page (at most `max_items`)."""
        cursor: str | None = None
        sent = 0
        while max_items is None or sent < max_items:
            limit = page_size
            if max_items is not None:
                limit = min(limit or max_items, max_items - sent)
            page = await self.list_images(
                owner=owner, keywords=keywords, limit=limit, cursor=cursor, search=search
            )
            for item in page.items:
                if max_items is not None and sent >= max_items:
                    return
                yield item
                sent += 1
            if page.next_cursor is None or page.next_cursor == cursor or not page.items:
                return
            cursor = page.next_cursor

    async def get_image(self, image_id: str) -> ImageJSON:
        """The metadata of one image."""
        response = await self._request("GET", _image_path(image_id))
        return cast(ImageJSON, _object(self._json(response), "image"))

    async def download(self, image_id: str, dest: Path) -> Path:
        """Write the image's bytes to `dest`, replacing it only once every byte has arrived.

        The body is streamed into a temp file beside `dest` and renamed over it, so an interrupted
        download never leaves a truncated file under the final name. A missing folder is an
        `OSError` naming that folder (never the temp file), raised before anything is asked.
        """
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
        try:
            # Regular file permissions (0666 less umask), unlike mkstemp's 0600.
            fd = await asyncio.to_thread(os.open, tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except (FileNotFoundError, NotADirectoryError) as exc:
            folder = dest.parent
            raise type(exc)(exc.errno, f"folder {folder} does not exist") from None
        try:
            with os.fdopen(fd, "wb") as fh:
                await self.write_file(image_id, fh)
            await asyncio.to_thread(os.replace, tmp, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return dest

    async def write_file(self, image_id: str, out: BinaryIO) -> int:
        """Stream the image's bytes into `out`, an open binary file; returns how many."""
        response = await self._request("GET", f"{_image_path(image_id)}/file", stream=True)
        written = 0
        try:
            async for chunk in response.aiter_bytes():
                await asyncio.to_thread(out.write, chunk)
                written += len(chunk)
        except httpx.HTTPError as exc:
            raise transport_error(exc, self.base_url) from exc
        finally:
            await response.aclose()
        return written

    async def update_image(
        self,
        image_id: str,
        *,
        description: str | None = None,
        visibility: Visibility | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> ImageJSON:
        """Change the description, visibility and tags; what is left None or empty is not sent."""
        changes: dict[str, str | list[str]] = {}
        if description is not None:
            changes["description"] = description
        if visibility is not None:
            changes["visibility"] = visibility
        if add_tags:
            changes["add_tags"] = list(add_tags)
        if remove_tags:
            changes["remove_tags"] = list(remove_tags)
        response = await self._request("PATCH", _image_path(image_id), json=changes)
        return cast(ImageJSON, _object(self._json(response), "image"))

    async def similar(
        self, image_id: str | None = None, *, path: Path | None = None, distance: int = 8
    ) -> list[ImageJSON]:
        """Images you may see that look like image `image_id`, or like the file at `path`
        (sent, not stored), nearest first; each has a `distance` (0-64)."""
        params = {"distance": distance}
        if path is None:
            url = f"{_image_path(image_id or '')}/similar"
            response = await self._request("GET", url, params=params)
        else:
            fh = await asyncio.to_thread(path.open, "rb")
            try:
                response = await self._request(
                    "POST",
                    f"{API}/search/by-image",
                    params=params,
                    files={"file": (path.name, fh, "application/octet-stream")},
                )
            finally:
                await asyncio.to_thread(fh.close)
        items = _object(self._json(response), "similar images").get("items")
        if not isinstance(items, list):
            raise TransportError(f"the server at {self.base_url} sent a malformed answer")
        return cast(list[ImageJSON], items)

    async def delete_image(self, image_id: str) -> None:
        """Delete one of your images (only its owner may: admins have no rights over images)."""
        await self._request("DELETE", _image_path(image_id))

    async def health(self) -> dict[str, Any]:
        """`{"status": "ok"}` when the server is up; needs no login."""
        response = await self._request("GET", "/healthz", auth=False)
        return _object(self._json(response), "health answer")

    # -- plumbing ---------------------------------------------------------------------------

    async def call(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        """One authenticated request to a path of the API: (status, JSON answer)."""
        response = await self._request(method, url, **kwargs)
        return response.status_code, self._json(response)

    async def _request(
        self, method: str, url: str, *, auth: bool = True, stream: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """Send, retrying what `RetryPolicy` allows; once more if a refused token can be replaced.

        Returns only 2xx answers (unread when `stream`); anything else is raised as the
        `ImageRepoError` its body describes, or `TransportError` when no answer came.
        """
        token_replaced = False
        attempt = 0
        while True:
            attempt += 1
            headers: dict[str, str] = {}
            token: str | None = None
            if auth:
                if self._tokens is None:
                    raise AuthenticationFailed(f"{method} {url} needs a login and none was given")
                token = await self._tokens.token(self)
                headers["Authorization"] = f"Bearer {token}"
            request = self._http.build_request(method, url, headers=headers, **kwargs)
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.HTTPError as exc:
                error = transport_error(exc, self.base_url)
                # A refused first connection means no server: say so now, do not wait 7 s.
                transient = isinstance(exc, TRANSIENT) and (
                    self._reached or error.context.get("kind") != "connect"
                )
                if transient and attempt < self._retry.attempts:
                    await self._retry.wait(attempt)
                    continue
                if attempt > 1:
                    error = TransportError(
                        f"{error.message} (after {attempt} attempts)", **error.context
                    )
                raise error from exc
            self._reached = True
            if response.is_success:
                return response
            if (
                response.status_code == 401
                and token is not None
                and self._tokens is not None
                and not token_replaced
                and await self._tokens.rejected(token)
            ):
                await response.aclose()
                token_replaced = True
                attempt -= 1  # not the server failing: this try does not count
                continue
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if (
                retryable_status(response.status_code)
                and attempt < self._retry.attempts
                and self._retry.worth_waiting(retry_after)
            ):
                await response.aclose()
                await self._retry.wait(attempt, retry_after)
                continue
            raise await self._error(response)

    async def _error(self, response: httpx.Response) -> ImageRepoError:
        try:
            await response.aread()
            body: Any = response.json()
        except (httpx.HTTPError, ValueError):
            body = None
        finally:
            await response.aclose()
        return error_from_body(response.status_code, body)

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise TransportError(
                f"the server at {self.base_url} sent an answer that is not JSON "
                f"(HTTP {response.status_code})"
            ) from exc


def _user_path(username: str) -> str:
    return f"{API}/users/{quote(username, safe='')}"


def _image_path(image_id: str) -> str:
    # Quoted whole, so an id can never step into another route ("../users").
    return f"{API}/images/{quote(image_id, safe='')}"


def _object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise TransportError(f"expected a JSON object for the {what}, got {type(body).__name__}")
    return body
