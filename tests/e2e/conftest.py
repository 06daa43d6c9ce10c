"""A real server: `python server/server.py` as a subprocess on a free loopback port.

Each test module gets a fresh data folder and login store. Nothing is set but what a newcomer's
machine would differ in: where the data and the login store live, and the port. The server's first
start writes the root login (and its address) into that store, as it does after `make run`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

REPO = Path(__file__).parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    home: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: BinaryIO | None = None
    database_url: str | None = None  # None: SQLite in the data folder
    backend_env: dict[str, str] = field(default_factory=dict)  # scaled profile: S3, Redis

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGEREPO_")}
        env.update(
            IMAGEREPO_DATA_DIR=str(self.home / "data"),
            IMAGEREPO_PORT=str(self.port),
            IMAGEREPO_CONFIG=str(self.home / "config.json"),
            IMAGEREPO_CACHE_DIR=str(self.home / "cache"),
            IMAGEREPO_ARGON2_TIME_COST="2",
            IMAGEREPO_ARGON2_MEMORY_KIB="19456",
            IMAGEREPO_LOG_LEVEL="warning",
        )
        if self.database_url:
            env["IMAGEREPO_DATABASE_URL"] = self.database_url
        env.update(self.backend_env)
        return env

    def start(self) -> None:
        self.log = (self.home / "server.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "server/server.py"],
            cwd=REPO,
            env=self.env,
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {(self.home / 'server.log').read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)  # waiting for a subprocess to bind, not for timing
        raise RuntimeError("server did not answer /healthz within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def run(self, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run `python <argv...>` from the repository root, as the README does."""
        return subprocess.run(
            [sys.executable, *argv],
            cwd=REPO,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    module_database_url: str | None,
    module_backend_env: dict[str, str],
) -> Iterator[LiveServer]:
    backend_env = dict(module_backend_env)
    if module_backend_env and module_database_url:
        # The scaled profile: jobs in procrastinate's tables, run by a worker process of their own.
        backend_env["IMAGEREPO_QUEUE_URL"] = module_database_url
    live = LiveServer(
        home=tmp_path_factory.mktemp("live"),
        database_url=module_database_url,
        backend_env=backend_env,
    )
    worker = None
    if "IMAGEREPO_QUEUE_URL" in backend_env:
        migrated = live.run("-m", "imagerepo", "migrate")  # makes procrastinate's tables
        assert migrated.returncode == 0, migrated.stderr
        with (live.home / "worker.log").open("ab") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "imagerepo", "worker"],
                cwd=REPO,
                env=live.env,
                stdout=log,
                stderr=log,
            )
    live.start()
    try:
        yield live
    finally:
        live.stop()
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                assert worker.wait(timeout=30) == 0, (live.home / "worker.log").read_text()
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
