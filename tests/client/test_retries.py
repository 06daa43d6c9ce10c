"""Transient failures are retried with backoff; a request the server refused on its merits is not.

The server is the real app; failures are played by `Wire` (HTTP answers before the app sees the
request) and `Flaky` (no answer at all: a reset or refused connection). Waits are recorded by
`Sleeps`, never slept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from imagerepo.client.api import ImageRepoClient, StaticToken
from imagerepo.client.retry import RetryPolicy, parse_retry_after, retryable_status
from imagerepo.client.selection import collect
from imagerepo.client.upload import Status, upload_all
from imagerepo.errors import ServiceUnavailable, TooManyRequests, TransportError
from tests.client.conftest import BASE_URL, CHECK, UPLOAD, Sleeps, Wire
from tests.images import make_image


class Flaky(httpx.AsyncBaseTransport):
    """Raises the queued network errors for a route, then lets requests through."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.failures: dict[str, list[httpx.HTTPError]] = {}
        self.refuse_all = False

    def fail(self, route: str, *errors: httpx.HTTPError) -> None:
        self.failures.setdefault(route, []).extend(errors)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.refuse_all:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        queue = self.failures.get(f"{request.method} {request.url.path}")
        if queue:
            raise queue.pop(0)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def flaky(wire: Wire) -> Flaky:
    return Flaky(httpx.ASGITransport(app=wire))


@pytest.fixture
async def flaky_client(flaky: Flaky, root_token: str, retry: RetryPolicy) -> ImageRepoClient:
    return ImageRepoClient(BASE_URL, tokens=StaticToken(root_token), transport=flaky, retry=retry)


def images(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"img_{i}.jpg" for i in range(count)]
    for i, path in enumerate(paths):
        path.write_bytes(make_image(seed=i))
    return paths


async def test_503s_and_a_429_are_retried_until_the_upload_succeeds(
    client: ImageRepoClient, wire: Wire, sleeps: Sleeps, tmp_path: Path
) -> None:
    wire.plan(UPLOAD, (503, {}), (503, {}), (429, {"Retry-After": "0"}))
    report = await upload_all(client, collect(files=images(tmp_path, 1)))
    assert report.summary() == "1 new, 0 updated, 0 already stored, 0 failed"
    assert wire.requests[UPLOAD] == 4
    assert sleeps.delays == [0.5, 1.0, 0.0]  # backoff, backoff, then Retry-After as given


async def test_retry_after_is_honoured(client: ImageRepoClient, wire: Wire, sleeps: Sleeps) -> None:
    wire.plan(CHECK, (429, {"Retry-After": "3"}), (502, {}))
    answer = await client.check_digests(["ab" * 32])
    assert answer.missing == ["ab" * 32]
    assert sleeps.delays == [3.0, 1.0]


async def test_a_retry_after_longer_than_any_wait_fails_at_once(
    client: ImageRepoClient, wire: Wire, sleeps: Sleeps
) -> None:
    """A throttled login says "come back in 15 minutes": the caller hears it now, no hang."""
    wire.plan(CHECK, (429, {"Retry-After": "900"}))
    with pytest.raises(TooManyRequests):
        await client.check_digests(["ab" * 32])
    assert sleeps.delays == [] and wire.requests[CHECK] == 1


async def test_five_attempts_then_the_file_fails_and_the_rest_go_on(
    client: ImageRepoClient, wire: Wire, sleeps: Sleeps, tmp_path: Path
) -> None:
    wire.plan(UPLOAD, *[(503, {})] * 5)
    report = await upload_all(client, collect(files=images(tmp_path, 2)), concurrency=1)
    assert sleeps.delays == [0.5, 1.0, 2.0, 4.0]
    assert wire.requests[UPLOAD] == 6
    assert [r.status for r in report.results] == [Status.FAILED, Status.NEW]
    assert report.results[0].error == "HTTP 503"
    assert not report.ok


async def test_a_permanent_4xx_is_not_retried(
    client: ImageRepoClient, wire: Wire, sleeps: Sleeps, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"this is not an image")
    report = await upload_all(client, collect(files=[bad]))
    assert wire.requests[UPLOAD] == 1 and sleeps.delays == []
    (result,) = report.results
    assert result.status is Status.FAILED
    assert result.error and "HTTP" not in result.error  # the server's own words


@pytest.mark.parametrize("status", [400, 403, 404, 409, 413, 415, 422])
async def test_no_4xx_but_429_is_retryable(status: int) -> None:
    assert not retryable_status(status)


async def test_a_connection_reset_mid_run_is_retried(
    flaky: Flaky, flaky_client: ImageRepoClient, sleeps: Sleeps, tmp_path: Path
) -> None:
    flaky.fail(UPLOAD, httpx.ReadError("Connection reset by peer"))
    flaky.fail(CHECK, httpx.RemoteProtocolError("Server disconnected without sending a response"))
    async with flaky_client:
        report = await upload_all(flaky_client, collect(files=images(tmp_path, 3)))
    assert report.summary() == "3 new, 0 updated, 0 already stored, 0 failed"
    assert len(sleeps.delays) == 2


async def test_a_timeout_is_retried(
    flaky: Flaky, flaky_client: ImageRepoClient, sleeps: Sleeps
) -> None:
    flaky.fail("GET /api/v1/users/me", httpx.ReadTimeout("timed out"))
    async with flaky_client:
        me = await flaky_client.me()
    assert me["username"] == "root" and sleeps.delays == [0.5]


async def test_a_refused_connection_is_retried_once_the_server_was_reached(
    flaky: Flaky, flaky_client: ImageRepoClient, sleeps: Sleeps
) -> None:
    async with flaky_client:
        await flaky_client.health()
        refused = httpx.ConnectError("[Errno 111] Connection refused")
        flaky.fail("GET /api/v1/users/me", refused, refused)  # the server restarting
        assert (await flaky_client.me())["username"] == "root"
    assert sleeps.delays == [0.5, 1.0]


async def test_a_server_that_never_answered_fails_at_once(
    flaky: Flaky, flaky_client: ImageRepoClient, sleeps: Sleeps
) -> None:
    flaky.refuse_all = True
    async with flaky_client:
        with pytest.raises(TransportError, match="cannot reach the server") as caught:
            await flaky_client.health()
    assert caught.value.context["kind"] == "connect"
    assert sleeps.delays == []


async def test_a_server_gone_for_good_stops_the_run(
    flaky: Flaky, flaky_client: ImageRepoClient, sleeps: Sleeps, tmp_path: Path
) -> None:
    files = images(tmp_path, 4)
    async with flaky_client:
        await flaky_client.health()
        flaky.fail(UPLOAD, *[httpx.ConnectError("Connection refused")] * 5)
        report = await upload_all(flaky_client, collect(files=files), concurrency=1)
    assert len(sleeps.delays) == 4
    first, *rest = report.results
    assert first.error is not None and first.error.endswith("(after 5 attempts)")
    assert [r.error for r in rest] == ["not sent: the server is unreachable"] * 3


async def test_a_failing_check_is_one_error(
    client: ImageRepoClient, wire: Wire, tmp_path: Path
) -> None:
    wire.plan(CHECK, *[(500, {})] * 5)
    with pytest.raises(ServiceUnavailable):
        await upload_all(client, collect(files=images(tmp_path, 1)))
    assert wire.requests[UPLOAD] == 0


# -- the policy itself ----------------------------------------------------------------------


def delays(policy: RetryPolicy, attempts: Sequence[int]) -> list[float]:
    return [policy.delay(a) for a in attempts]


def test_backoff_doubles_with_jitter_around_it() -> None:
    assert delays(RetryPolicy(jitter=lambda: 0.5), [1, 2, 3, 4]) == [0.5, 1.0, 2.0, 4.0]
    assert delays(RetryPolicy(jitter=lambda: 0.0), [1, 4]) == [0.25, 2.0]
    assert delays(RetryPolicy(jitter=lambda: 0.999), [1]) == [pytest.approx(0.7495)]
    assert delays(RetryPolicy(base_delay=0.001, jitter=lambda: 0.5), [1, 2]) == [0.001, 0.002]


def test_no_wait_is_longer_than_the_cap() -> None:
    policy = RetryPolicy(max_delay=10.0, jitter=lambda: 0.5)
    assert policy.delay(20) == 10.0
    assert policy.delay(1, retry_after=3600) == 10.0
    assert policy.delay(1, retry_after=-5) == 0.0


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=lambda: now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=lambda: now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None
