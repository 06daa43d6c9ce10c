"""Tiny files that declare huge pictures: the server's resident memory while it handles them.

Starts a real server (from `--src`, default this checkout), makes two users, and for each bomb
measures the server's RSS during and after: alice uploads it, bob fetches `/file` (the full-size
copy others get) and `/preview`; then four uploads and four `/file` fetches at once, timing
`/healthz` meanwhile. Peak is VmHWM, reset before each step (`/proc/<pid>/clear_refs`), checked
against 5 ms samples of VmRSS; settled is VmRSS after `--settle` seconds of idle.

    .venv/bin/python bench/bombs.py                           # this checkout
    .venv/bin/python bench/bombs.py --src /tmp/before-mem/src # another checkout (git worktree)
    .venv/bin/python bench/bombs.py --budget 536870912        # IMAGEREPO_DECODE_MEMORY_BYTES

Bombs: `png-1row` is the pen test's file (12000x12000 RGB, one zlib stream that ends after the
first row, ~130 bytes); `png` is the valid one (every row, ~420 KB); `gif` is a 1x1 frame on a
10000x15000 screen (35 bytes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from procs import ServerProcess, clean_env, free_port, proc_status_kib

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.bombs import gif_bomb, png_bomb

ROOT_PASSWORD = "bench-root-password-not-a-secret"  # noqa: S105 - a throwaway server's
MIB = 1 << 20
BOMBS: dict[str, Callable[[int], bytes]] = {
    "png-1row": lambda n: png_bomb(12_000 - n, 12_000, rows=1),
    "png": lambda n: png_bomb(12_000 - n, 12_000),
    "gif": lambda n: gif_bomb(10_000 - n, 15_000),
}


@dataclass
class Step:
    name: str
    statuses: list[int]
    seconds: float
    peak_mib: float
    settled_mib: float
    healthz_max_ms: float | None = None


class Sampler:
    """VmRSS of `pid` every 5 ms in a thread; VmHWM reset at the start (when permitted)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, proc_status_kib(self.pid, "VmRSS") or 0)
            time.sleep(0.005)

    @contextlib.contextmanager
    def running(self) -> Iterator[Sampler]:
        with contextlib.suppress(OSError):  # "5" resets VmHWM to the current RSS
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            hwm = proc_status_kib(self.pid, "VmHWM") or 0
            self.peak_kib = max(self.peak_kib, hwm)


async def login(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    answer = await client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def make_user(client: httpx.AsyncClient, root: dict[str, str], name: str) -> dict[str, str]:
    password = f"{name}-password-for-bench"
    answer = await client.post(
        "/api/v1/users", json={"username": name, "password": password}, headers=root
    )
    answer.raise_for_status()
    return await login(client, name, password)


async def measure(
    server: ServerProcess,
    client: httpx.AsyncClient,
    name: str,
    work: Callable[[], Awaitable[list[int]]],
    settle: float,
) -> Step:
    healthz: list[float] = []
    done = asyncio.Event()

    async def probe_health() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await client.get("/healthz")
            healthz.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.05)

    with Sampler(server.pid).running() as sampler:
        started = time.perf_counter()
        prober = asyncio.create_task(probe_health())
        statuses = await work()
        seconds = time.perf_counter() - started
        done.set()
        await prober
    await asyncio.sleep(settle)
    settled = (proc_status_kib(server.pid, "VmRSS") or 0) / 1024
    return Step(name, statuses, seconds, sampler.peak_kib / 1024, settled, max(healthz))


async def scenario(
    server: ServerProcess, url: str, bomb: str, settle: float, concurrent: int
) -> list[Step]:
    make = BOMBS[bomb]
    steps: list[Step] = []
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        root = await login(client, "root", ROOT_PASSWORD)
        alice = await make_user(client, root, "alice")
        bob = await make_user(client, root, "bob")
        await asyncio.sleep(settle)
        steps.append(
            Step("start", [], 0.0, 0.0, (proc_status_kib(server.pid, "VmRSS") or 0) / 1024)
        )
        ids: list[str] = []

        async def send(n: int) -> int:
            answer = await client.post(
                "/api/v1/images",
                files={"file": (f"{bomb}-{n}.img", make(n), "application/octet-stream")},
                headers=alice,
            )
            if answer.status_code in (200, 201):
                ids.append(answer.json()["id"])
            return answer.status_code

        async def fetch(image_id: str, what: str) -> int:
            answer = await client.get(f"/api/v1/images/{image_id}/{what}", headers=bob)
            return answer.status_code

        async def one_upload() -> list[int]:
            return [await send(0)]

        steps.append(await measure(server, client, "upload", one_upload, settle))
        if ids:
            first = ids[0]

            async def one_file() -> list[int]:
                return [await fetch(first, "file")]

            async def one_preview() -> list[int]:
                return [await fetch(first, "preview")]

            steps.append(await measure(server, client, "/file (bob)", one_file, settle))
            steps.append(await measure(server, client, "/preview (bob)", one_preview, settle))
        if concurrent:
            before = len(ids)

            async def burst() -> list[int]:
                uploads = [send(n) for n in range(1, concurrent + 1)]
                return list(await asyncio.gather(*uploads))

            steps.append(await measure(server, client, f"{concurrent} uploads at once", burst, 0))
            fresh = ids[before:]

            async def files() -> list[int]:
                return list(await asyncio.gather(*(fetch(i, "file") for i in fresh)))

            if fresh:
                steps.append(
                    await measure(server, client, f"{len(fresh)} /file at once", files, settle)
                )
    return steps


def run(src: Path, bomb: str, budget: int | None, settle: float, concurrent: int) -> list[Step]:
    with tempfile.TemporaryDirectory(prefix="imagerepo-bombs-") as tmp:
        run_dir = Path(tmp)
        port = free_port()
        env = {
            "PYTHONPATH": str(src),
            "IMAGEREPO_DATA_DIR": str(run_dir / "data"),
            "IMAGEREPO_PORT": str(port),
            "IMAGEREPO_ROOT_PASSWORD": ROOT_PASSWORD,
            "IMAGEREPO_CONFIG": str(run_dir / "client.json"),
            "IMAGEREPO_WRITE_CLIENT_LOGIN": "false",
            "IMAGEREPO_ARGON2_TIME_COST": "2",
            "IMAGEREPO_ARGON2_MEMORY_KIB": "19456",
            "IMAGEREPO_LOG_LEVEL": "warning",
        }
        if budget is not None:
            env["IMAGEREPO_DECODE_MEMORY_BYTES"] = str(budget)
        url = f"http://127.0.0.1:{port}"
        server = ServerProcess(
            "imagerepo serve", [sys.executable, "-m", "imagerepo", "serve"], clean_env(env),
            run_dir / "server.log", f"{url}/healthz",
        )  # fmt: skip
        with server.start():
            steps = asyncio.run(scenario(server, url, bomb, settle, concurrent))
            problems = server.problems_since(0)
        if problems:
            print(f"  server log problems: {problems[:5]}")
        return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--src", type=Path, default=Path(__file__).parents[1] / "src")
    parser.add_argument("--bomb", choices=list(BOMBS), action="append")
    parser.add_argument("--budget", type=int, default=None)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--concurrent", type=int, default=4)
    args = parser.parse_args()
    print(f"server source: {args.src.resolve()}  cores: {os.cpu_count()}")
    for bomb in args.bomb or list(BOMBS):
        size = len(BOMBS[bomb](0))
        print(f"\n{bomb} ({size} bytes)")
        print(
            f"  {'step':<22} {'statuses':<26} {'s':>6} {'peak MiB':>9} {'settled':>8} {'hz ms':>7}"
        )
        for step in run(args.src, bomb, args.budget, args.settle, args.concurrent):
            health = f"{step.healthz_max_ms:7.0f}" if step.healthz_max_ms is not None else ""
            print(
                f"  {step.name:<22} {','.join(map(str, step.statuses)):<26} {step.seconds:6.2f} "
                f"{step.peak_mib:9.0f} {step.settled_mib:8.0f} {health}"
            )


if __name__ == "__main__":
    main()
