"""Issue 7 against the real server: limits that need a socket (the request head, timeouts,
connections per client) and the memory a refused body costs.

The server runs with short timeouts set through its settings; each test waits only for the
server to act (answer or close), with a generous ceiling that fails the test if it never does.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e

HEADER_TIMEOUT = 0.5
BODY_TIMEOUT = 0.5
KEEPALIVE = 2  # whole seconds (uvicorn's setting)
PER_CLIENT = 6
ROOT_PASSWORD = "slow-clients-root-password"
CEILING = 15.0  # seconds: "the server never acted", not a timing under test


@dataclass
class LimitedServer(LiveServer):
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, **self.settings}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LimitedServer]:
    live = LimitedServer(
        home=tmp_path_factory.mktemp("limits"),
        settings={
            "IMAGEREPO_ROOT_PASSWORD": ROOT_PASSWORD,
            "IMAGEREPO_WRITE_CLIENT_LOGIN": "false",
            "IMAGEREPO_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
            "IMAGEREPO_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
            "IMAGEREPO_BODY_MIN_BYTES_PER_SECOND": "1000",
            "IMAGEREPO_KEEPALIVE_TIMEOUT_SECONDS": str(KEEPALIVE),
            "IMAGEREPO_MAX_CONNECTIONS_PER_CLIENT": str(PER_CLIENT),
        },
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def token(server: LimitedServer) -> str:
    answer = httpx.post(
        f"{server.url}/api/v1/auth/token",
        data={"username": "root", "password": ROOT_PASSWORD},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    value: str = answer.json()["access_token"]
    return value


def connect(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=CEILING)


def until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def one_response(sock: socket.socket) -> bytes:
    """One whole response (head and `Content-Length` body) from a kept-alive connection."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"closed without a whole response: {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, f"closed in the middle of a response: {head + body!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def send_all_you_can(sock: socket.socket, data: bytes, chunk: int = 64 * 1024) -> int:
    """Send `data` until the server stops reading it (closes); returns the bytes sent."""
    sent = 0
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        for start in range(0, len(data), chunk):
            sock.sendall(data[start : start + chunk])
            sent += len(data[start : start + chunk])
    return sent


def healthz(server: LiveServer) -> bytes:
    return b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % server.port


# -- the request head ------------------------------------------------------------------------


def test_an_oversized_header_gets_431_and_is_not_read_to_the_end(server: LimitedServer) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 64 * 1024 + b"\r\n\r\n"
        )
        answer = until_closed(sock)
    assert status_of(answer) == 431
    assert b'"code": "headers_too_large"' in answer

    huge = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100 * 1024 * 1024
    with connect(server) as sock:
        sent = send_all_you_can(sock, huge)
        answer = until_closed(sock)
    assert status_of(answer) in (431, 0)  # 0: the reset beat the answer to us
    assert sent < 16 * 1024 * 1024  # refused after the first chunks, not after 100 MB


def test_too_many_header_fields_get_431(server: LimitedServer) -> None:
    def request(fields: int) -> bytes:  # Host, Connection and the rest made up
        made_up = b"".join(b"X-Field-%d: 1\r\n" % n for n in range(fields - 2))
        return b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + made_up + b"\r\n"

    for fields, status in ((100, 200), (101, 431)):
        with connect(server) as sock:
            sock.sendall(request(fields))
            assert status_of(until_closed(sock)) == status


def test_a_slow_head_is_cut_off_after_the_header_timeout(server: LimitedServer) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        answer = until_closed(sock)
        elapsed = time.monotonic() - started
    assert status_of(answer) == 408
    assert b'"code": "request_timeout"' in answer
    assert HEADER_TIMEOUT * 0.9 <= elapsed < CEILING


def test_a_silent_connection_is_closed_after_the_header_timeout(server: LimitedServer) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        assert until_closed(sock) == b""  # nothing to answer: just closed
        assert HEADER_TIMEOUT * 0.9 <= time.monotonic() - started < CEILING


def test_keep_alive_then_idle_then_a_slow_head(server: LimitedServer) -> None:
    with connect(server) as sock:
        sock.sendall(healthz(server))
        assert status_of(one_response(sock)) == 200
        started = time.monotonic()
        assert until_closed(sock) == b""  # idle after an answer: the keep-alive timeout
        assert KEEPALIVE * 0.9 <= time.monotonic() - started < CEILING
    with connect(server) as sock:
        sock.sendall(healthz(server))
        assert status_of(one_response(sock)) == 200
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # the next head starts, and stalls
        started = time.monotonic()
        assert status_of(until_closed(sock)) == 408
        assert time.monotonic() - started < KEEPALIVE  # the head deadline, not keep-alive


def test_a_whole_request_in_one_chunk_is_not_taken_for_a_long_head(
    server: LimitedServer, token: str
) -> None:
    body = json.dumps({"sha256": ["ef" * 32] * 600}).encode()  # 40 KB: more than a head may be
    request = (
        b"POST /api/v1/images/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        % (token.encode(), len(body))
    )
    with connect(server) as sock:
        for _ in range(2):  # and again on the same connection
            sock.sendall(request + body)
            assert status_of(one_response(sock)) == 200


# -- bodies ----------------------------------------------------------------------------------


def test_a_trickling_body_is_cut_off(server: LimitedServer, token: str) -> None:
    head = (
        b"POST /api/v1/images/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n" % token.encode()
    )
    with connect(server) as sock:
        sock.sendall(head)
        sock.settimeout(0.1)
        started = time.monotonic()
        answer = b""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            # One byte every 0.1 s: under the gap timeout, far under the minimum rate.
            while time.monotonic() - started < CEILING:
                sock.sendall(b" ")
                try:
                    answer = sock.recv(65536)
                    break
                except TimeoutError:
                    continue
        elapsed = time.monotonic() - started
    assert status_of(answer) == 408, answer
    assert elapsed < 3  # 0.5 s of grace, then 1000 B/s: ~0.5 s, not the 100 s it would take


def test_an_anonymous_flood_is_refused_without_memory(server: LimitedServer) -> None:
    assert server.process is not None
    before = peak_rss_kib(server.process.pid)
    body = b"[" + b"0," * (50 * 1024 * 1024) + b"0]"
    answer = httpx.post(
        f"{server.url}/api/v1/images/check",
        content=body,
        headers={"content-type": "application/json"},
        timeout=CEILING,
    )
    assert answer.status_code == 401
    assert answer.headers["connection"] == "close"
    assert peak_rss_kib(server.process.pid) - before < 20 * 1024  # not the 100 MB body


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


# -- connections -----------------------------------------------------------------------------


def test_connections_per_client_are_capped(server: LimitedServer) -> None:
    held = [connect(server) for _ in range(PER_CLIENT)]
    try:
        for sock in held:  # each is accepted and served, and stays open (keep-alive)
            sock.sendall(healthz(server))
            assert status_of(one_response(sock)) == 200
        with connect(server) as extra:
            answer = until_closed(extra)
        assert status_of(answer) == 503
        assert b'"code": "unavailable"' in answer
        held.pop().close()
        time.sleep(0.05)  # let the server see the close: not a timing under test
        with connect(server) as again:
            again.sendall(healthz(server))
            assert status_of(one_response(again)) == 200
    finally:
        for sock in held:
            sock.close()


def test_many_unfinished_heads_are_all_gone_after_the_header_timeout(
    server: LimitedServer,
) -> None:
    socks = [connect(server) for _ in range(50)]
    try:
        for sock in socks:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        statuses = sorted(status_of(until_closed(sock)) for sock in socks)
    finally:
        for sock in socks:
            sock.close()
    # PER_CLIENT got in and were cut off by the head deadline; the rest were refused at once.
    assert statuses.count(408) == PER_CLIENT
    assert statuses.count(503) == 50 - PER_CLIENT
