"""The real app for client tests, behind `Wire`: an ASGI middleware that counts what reaches the
server (requests per route, image bytes uploaded) and can play a failing server by answering
chosen requests itself before letting the rest through. Nothing about the server is mocked.

`run` drives the `imagerepo` command against that app. The CLI runs its own event loop
(`asyncio.run`), so it runs in a worker thread, and its client reaches the app, which lives on
the test's loop, through `LoopBridge`. Only the client's transport is swapped; the command, the
login, the app and its database are the real ones.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from typer.testing import CliRunner, Result

from imagerepo import cli, credentials
from imagerepo.app import create_app
from imagerepo.cli import runner
from imagerepo.client.api import ImageRepoClient, StaticToken
from imagerepo.client.retry import RetryPolicy
from imagerepo.config import Settings
from tests.conftest import ROOT_PASSWORD
from tests.images import make_image

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BASE_URL = "http://imagerepo.test"
UPLOAD = "POST /api/v1/images"
CHECK = "POST /api/v1/images/check"


@pytest.fixture(autouse=True)
def digest_cache_dir(
    isolated_client_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own digest cache, never the user's ~/.cache."""
    folder = tmp_path / "digest-cache"
    monkeypatch.setenv("IMAGEREPO_CACHE_DIR", str(folder))
    return folder


@dataclass
class Wire:
    """See the module docstring. `plan(route, *answers)` queues (status, headers) answers."""

    app: ASGIApp
    requests: Counter[str] = field(default_factory=Counter)
    image_bytes: int = 0
    planned: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)

    def plan(self, route: str, *answers: tuple[int, dict[str, str]]) -> None:
        self.planned.setdefault(route, []).extend(answers)

    def reset(self) -> None:
        self.requests.clear()
        self.image_bytes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = f"{scope['method']} {scope['path']}"
        self.requests[route] += 1
        queue = self.planned.get(route)
        if queue:
            status, headers = queue.pop(0)
            body = json.dumps({"error": {"code": "planned", "message": f"planned {status}"}})
            raw_headers = [(b"content-type", b"application/json")]
            raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
            await send({"type": "http.response.start", "status": status, "headers": raw_headers})
            await send({"type": "http.response.body", "body": body.encode()})
            return
        if route == UPLOAD:

            async def counting() -> Message:
                message = await receive()
                if message["type"] == "http.request":
                    self.image_bytes += len(message.get("body", b""))
                return message

            await self.app(scope, counting, send)
            return
        await self.app(scope, receive, send)


@dataclass
class Sleeps:
    """Records the waits a `RetryPolicy` asks for, and waits not at all."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def retry(sleeps: Sleeps) -> RetryPolicy:
    """The default policy, with its waits recorded instead of slept (jitter fixed at x1)."""
    return RetryPolicy(jitter=lambda: 0.5, sleep=sleeps)


@pytest.fixture
async def wire(settings: Settings) -> AsyncIterator[Wire]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield Wire(app)


@pytest.fixture
async def root_token(wire: Wire) -> str:
    async with ImageRepoClient(BASE_URL, transport=httpx.ASGITransport(app=wire)) as bare:
        token = (await bare.login("root", ROOT_PASSWORD)).access_token
    wire.reset()
    return token


@pytest.fixture
async def client(wire: Wire, root_token: str, retry: RetryPolicy) -> AsyncIterator[ImageRepoClient]:
    """`ImageRepoClient` as root, talking to the app through `wire`."""
    async with ImageRepoClient(
        BASE_URL,
        tokens=StaticToken(root_token),
        transport=httpx.ASGITransport(app=wire),
        retry=retry,
    ) as connected:
        yield connected


class LoopBridge(httpx.AsyncBaseTransport):
    """Sends each request on `loop` (where the app lives) and hands the answer back."""

    def __init__(self, inner: httpx.AsyncBaseTransport, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = inner
        self.loop = loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        done: Future[httpx.Response] = asyncio.run_coroutine_threadsafe(
            self.inner.handle_async_request(request), self.loop
        )
        return await asyncio.wrap_future(done)


class Run(Protocol):
    """`await run("upload", ...)`; `input` is the command's stdin."""

    async def __call__(self, *args: str, input: str | None = None) -> Result: ...


@pytest.fixture
async def run(wire: Wire, retry: RetryPolicy, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The CLI against the in-process app, as root unless `--user` says otherwise."""
    bridge = LoopBridge(httpx.ASGITransport(app=wire), asyncio.get_running_loop())

    def client(url: str, **kwargs: Any) -> ImageRepoClient:
        return ImageRepoClient(url, transport=bridge, retry=retry, **kwargs)

    monkeypatch.setattr(runner, "ImageRepoClient", client)
    credentials.save_login(BASE_URL, "root", ROOT_PASSWORD)

    async def invoke(*args: str, input: str | None = None) -> Result:
        argv = [*args, "--url", BASE_URL]
        return await asyncio.to_thread(CliRunner().invoke, cli.app, argv, input=input)

    return invoke


def tree(root: Path, names: list[str]) -> Path:
    """Files under `root`: a distinct small image for each name, text for `.txt` names."""
    for seed, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make_image(seed=seed) if not name.endswith(".txt") else b"notes")
    return root
