"""Issue 7, "limits before work": what abusive clients cost a real server, before and after.

Starts `python -m imagerepo serve` from `--src` (default: this checkout) and runs each attack
from 127.0.0.1 while a prober on 127.0.0.2 (another client, as far as per-address limits go)
times GET /healthz every 50 ms. For each: the answer and when it came, how many bytes the server
took before answering, the server's peak RSS (VmHWM, reset before each attack), the slowest
/healthz. The slow clients: a 1 byte/s upload (how long the server keeps it), and N connections
that send half a request head (how many are still open after `--hold` seconds).

    .venv/bin/python bench/abuse_limits.py                        # this checkout
    .venv/bin/python bench/abuse_limits.py --src /tmp/before/src  # the landed code (worktree)
    .venv/bin/python bench/abuse_limits.py --only json,header     # some attacks only
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from procs import ServerProcess, clean_env, free_port, proc_status_kib

ROOT_PASSWORD = "bench-root-password-not-a-secret"  # noqa: S105 - a throwaway server's
MB = 1_000_000
CHUNK = 256 * 1024
ATTACKER = "127.0.0.1"
PROBER = "127.0.0.2"


@dataclass
class Outcome:
    name: str
    answer: str  # status line, or how the connection ended
    seconds: float
    sent_mb: float
    peak_rss_mib: float
    healthz_max_ms: float
    healthz_p50_ms: float
    healthz_failed: int = 0
    spooled_mb: float = 0.0


@dataclass
class Prober:
    """GET /healthz every 50 ms from another loopback address, in a thread."""

    url: str
    spool_dir: str  # the server's TMPDIR: its free space is sampled too
    latencies_ms: list[float] = field(default_factory=list)
    failed: int = 0
    spooled_mb: float = 0.0  # the most disk taken in `spool_dir` since the start
    _stop: threading.Event = field(default_factory=threading.Event)

    def _free_mb(self) -> float:
        stat = os.statvfs(self.spool_dir)
        return stat.f_bavail * stat.f_frsize / MB

    def _sample_disk(self) -> None:
        start = self._free_mb()
        while not self._stop.wait(0.02):
            self.spooled_mb = max(self.spooled_mb, start - self._free_mb())

    def _run(self) -> None:
        transport = httpx.HTTPTransport(local_address=PROBER)
        with httpx.Client(base_url=self.url, transport=transport, timeout=30) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    ok = client.get("/healthz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.latencies_ms.append((time.perf_counter() - started) * 1000)
                self.failed += not ok
                self._stop.wait(0.05)

    @contextlib.contextmanager
    def running(self) -> Iterator[Prober]:
        threads = [
            threading.Thread(target=self._run, daemon=True),
            threading.Thread(target=self._sample_disk, daemon=True),
        ]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            for thread in threads:
                thread.join()


def reset_peak(pid: int) -> None:
    with contextlib.suppress(OSError):  # "5" resets VmHWM to the current RSS
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def stream_request(port: int, head: bytes, body: Iterator[bytes]) -> tuple[str, float, int]:
    """Send `head` then `body` until the server answers or closes; (answer, seconds, sent)."""
    sock = socket.create_connection((ATTACKER, port))
    sock.setblocking(False)
    started = time.perf_counter()
    pending, sent, answer = head, 0, b""
    try:
        while True:
            wants_write = [sock] if pending else []
            readable, writable, _ = select.select([sock], wants_write, [], 120)
            if readable:
                try:
                    answer = sock.recv(65536)
                except ConnectionResetError:
                    answer = b""
                break
            if writable:
                try:
                    n = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += n
                pending = pending[n:] or next(body, b"")
            if not readable and not writable:
                break
        if not answer:
            sock.setblocking(True)
            sock.settimeout(120)
            with contextlib.suppress(OSError):
                answer = sock.recv(65536)
    finally:
        sock.close()
    seconds = time.perf_counter() - started
    line = answer.split(b"\r\n", 1)[0].decode(errors="replace") if answer else "closed, no answer"
    return line, seconds, sent - len(head)


def repeat(piece: bytes, total: int) -> Iterator[bytes]:
    block = piece * max(1, CHUNK // len(piece))
    left = total
    while left > 0:
        yield block[:left]
        left -= len(block)


def attack_json(port: int, size: int) -> tuple[str, float, int]:
    """Anonymous POST /api/v1/images/check: about `size` bytes of valid JSON (digests)."""
    opening, digest, closing = b'{"sha256": [', b'"' + b"a" * 64 + b'",', b'"' + b"a" * 64 + b'"]}'
    repeated = (size // len(digest)) * len(digest)
    head = (
        b"POST /api/v1/images/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % (len(opening) + repeated + len(closing))
    )
    return stream_request(port, head, iter([opening, *repeat(digest, repeated), closing]))


def attack_multipart_login(port: int, size: int) -> tuple[str, float, int]:
    """Anonymous POST /api/v1/auth/token whose body is a multipart file part of `size` bytes."""
    opening = b'--b\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\n'
    closing = b"\r\n--b--\r\n"
    head = (
        b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\n"
        b"Content-Length: %d\r\n\r\n" % (len(opening) + size + len(closing))
    )
    return stream_request(port, head, iter([opening, *repeat(b"x", size), closing]))


def attack_login_form(port: int, size: int) -> tuple[str, float, int]:
    """Anonymous POST /api/v1/auth/token with a urlencoded form of `size` bytes."""
    opening = b"username=root&password="
    head = (
        b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n" % (len(opening) + size)
    )
    return stream_request(port, head, iter([opening, *repeat(b"p", size)]))


def attack_header(port: int, size: int) -> tuple[str, float, int]:
    """GET /healthz with one header value of `size` bytes (it counts as the 'body' sent)."""
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
    return stream_request(port, head, iter([*repeat(b"a", size), b"\r\n\r\n"]))


def slow_upload(port: int, token: str, limit: float) -> tuple[str, float, int]:
    """An authenticated upload sending 1 byte per second; how long until the server ends it."""
    opening = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n\r\n'
    head = (
        b"POST /api/v1/images HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
        % token.encode()
    )
    sock = socket.create_connection((ATTACKER, port))
    sock.sendall(head + opening)  # then the file's bytes, one a second
    sock.settimeout(1.0)
    started, sent, answer = time.perf_counter(), 0, "still open at the limit"
    try:
        while time.perf_counter() - started < limit:
            try:
                sock.sendall(b"x")
                sent += 1
                data = sock.recv(65536)
                answer = data.split(b"\r\n", 1)[0].decode() if data else "closed, no answer"
                break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                answer = "reset"
                break
    finally:
        sock.close()
    return answer, time.perf_counter() - started, sent


def unfinished_heads(port: int, count: int, hold: float) -> tuple[str, float, int]:
    """`count` connections that each send half a request head; how many are open after `hold`."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection((ATTACKER, port))
        with contextlib.suppress(OSError):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        sock.setblocking(False)
        socks.append(sock)
    time.sleep(hold)
    still_open = 0
    answers: dict[str, int] = {}
    for sock in socks:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            still_open += 1
            continue
        except ConnectionResetError:
            data = b""
        key = data.split(b"\r\n", 1)[0].decode() if data else "closed"
        answers[key] = answers.get(key, 0) + 1
        sock.close()
    for sock in socks:
        sock.close()
    ended = ", ".join(f"{n} x {what}" for what, n in sorted(answers.items()))
    return f"{still_open} of {count} still open after {hold:.0f} s ({ended})", hold, 0


def login(url: str) -> str:
    answer = httpx.post(
        f"{url}/api/v1/auth/token",
        data={"username": "root", "password": ROOT_PASSWORD},
        timeout=60,
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def run(
    server: ServerProcess,
    url: str,
    spool_dir: str,
    name: str,
    attack: Callable[[], tuple[str, float, int]],
) -> Outcome:
    time.sleep(1.0)  # let the previous attack's leftovers settle
    reset_peak(server.pid)
    with Prober(url, spool_dir).running() as prober:
        answer, seconds, sent = attack()
    peak = (proc_status_kib(server.pid, "VmHWM") or 0) / 1024
    latencies = prober.latencies_ms or [float("nan")]  # nan: over before the first probe
    return Outcome(
        name,
        answer,
        seconds,
        sent / MB,
        peak,
        max(latencies),
        statistics.median(latencies),
        prober.failed,
        prober.spooled_mb,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--src", type=Path, default=Path(__file__).parents[1] / "src")
    parser.add_argument("--json-mb", type=int, default=500)
    parser.add_argument("--multipart-mb", type=int, default=1500)
    parser.add_argument("--form-mb", type=int, default=300)
    parser.add_argument("--header-mb", type=int, default=100)
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--hold", type=float, default=30.0)
    parser.add_argument("--slow-limit", type=float, default=60.0)
    parser.add_argument("--only", default="json,multipart,form,header,slow,heads")
    args = parser.parse_args()
    chosen = set(args.only.split(","))
    python = Path(sys.executable)
    with tempfile.TemporaryDirectory(prefix="imagerepo-abuse-") as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = clean_env(
            {
                "PYTHONPATH": str(args.src.resolve()),
                "IMAGEREPO_ROOT_PASSWORD": ROOT_PASSWORD,
                "IMAGEREPO_WRITE_CLIENT_LOGIN": "false",
                "IMAGEREPO_LOG_LEVEL": "warning",
                "TMPDIR": tmp,  # where Starlette would spool a form's file parts
            }
        )
        command = [str(python), "-m", "imagerepo", "serve", "--port", str(port)]
        command += ["--data-dir", str(Path(tmp) / "data")]
        with ServerProcess(
            "imagerepo serve", command, env, Path(tmp) / "server.log", f"{url}/healthz"
        ).start() as server:
            idle = (proc_status_kib(server.pid, "VmRSS") or 0) / 1024
            token = login(url)
            attacks: dict[str, tuple[str, Callable[[], tuple[str, float, int]]]] = {
                "json": (
                    f"anonymous {args.json_mb} MB JSON to /check",
                    lambda: attack_json(port, args.json_mb * MB),
                ),
                "multipart": (
                    f"anonymous {args.multipart_mb} MB multipart to /auth/token",
                    lambda: attack_multipart_login(port, args.multipart_mb * MB),
                ),
                "form": (
                    f"{args.form_mb} MB login form",
                    lambda: attack_login_form(port, args.form_mb * MB),
                ),
                "header": (
                    f"{args.header_mb} MB header",
                    lambda: attack_header(port, args.header_mb * MB),
                ),
                "slow": (
                    "1 byte/s upload (authenticated)",
                    lambda: slow_upload(port, token, args.slow_limit),
                ),
                "heads": (
                    f"{args.connections} unfinished heads",
                    lambda: unfinished_heads(port, args.connections, args.hold),
                ),
            }
            print(f"server from {args.src} (pid {server.pid}), idle RSS {idle:.0f} MiB")
            for key, (name, attack) in attacks.items():
                if key not in chosen:
                    continue
                outcome = run(server, url, tmp, name, attack)
                print(
                    f"{outcome.name}: {outcome.answer} after {outcome.seconds:.2f} s, "
                    f"{outcome.sent_mb:.1f} MB sent; peak RSS {outcome.peak_rss_mib:.0f} MiB; "
                    f"/healthz max {outcome.healthz_max_ms:.0f} ms, "
                    f"p50 {outcome.healthz_p50_ms:.1f} ms, failed {outcome.healthz_failed}; "
                    f"temp disk peak {outcome.spooled_mb:.0f} MB",
                    flush=True,
                )


if __name__ == "__main__":
    main()
