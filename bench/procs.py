"""Servers as subprocesses for the benchmarks: start on a free loopback port, wait for health,
read memory and CPU from /proc (psutil is not a dependency), stop, and show the log's tail."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# uvicorn's access log: `INFO:     127.0.0.1:50312 - "POST /api/v1/images HTTP/1.1" 201 Created`
ACCESS_LINE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>[^ ?"]+)[^"]* HTTP/[0-9.]+" (?P<status>\d{3})'
)


@dataclass(frozen=True, slots=True)
class Run:
    """A finished command: wall time, CPU time of it and its children, its output."""

    seconds: float
    cpu_seconds: float
    returncode: int
    stdout: str
    stderr: str


def timed_run(command: Sequence[str], env: Mapping[str, str] | None = None) -> Run:
    """Run `command` to completion, timing it from spawn to exit (interpreter start included)."""
    before = children_cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run(
        list(command), env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    cpu = children_cpu_seconds() - before
    return Run(seconds, cpu, done.returncode, done.stdout, done.stderr)


def children_cpu_seconds() -> float:
    """CPU time of this process's finished (waited-for) children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float:
    """CPU time spent by everything on the machine (all cores, all containers) since boot, from
    the first line of /proc/stat: user, nice, system, irq, softirq and steal; idle and iowait
    are not busy."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick); another process could still take
    it before the server binds, which on a bench machine does not happen in practice."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any IMAGEREPO_* setting (a user's own database URL or
    login must never leak into a benchmark), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGEREPO_")}
    env.update(extra)
    return env


def proc_status_kib(pid: int, field: str) -> int | None:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM, ...), or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def proc_cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU time so far of every thread of `pid`, or of its thread `tid` only (the
    main thread's tid is the pid: for a uvicorn server, that is the event loop)."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path, encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14 and stime 15 (man 5 proc).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class ServerProcess:
    """One server subprocess whose output goes to `log_path`; `with` stops it (SIGTERM, then
    SIGKILL after `stop_timeout` seconds)."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        health_url: str,
        *,
        cwd: Path | None = None,
        stop_timeout: float = 20.0,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.env = dict(env)
        self.log_path = log_path
        self.health_url = health_url
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    def start(self, timeout: float = 60.0) -> Self:
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the bench, which stops it
        )
        try:
            self._wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self._process is not None and self._process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with code {self._process.returncode} before it "
                        f"answered {self.health_url}:\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.health_url).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{self.name} did not answer {self.health_url} within {timeout:.0f} s:\n"
                        f"{self.log_tail()}"
                    )
                time.sleep(0.1)

    def rss_mib(self) -> float | None:
        kib = proc_status_kib(self.pid, "VmRSS")
        return None if kib is None else kib / 1024

    def peak_rss_mib(self) -> float | None:
        """The high-water mark of resident memory since the process started (VmHWM)."""
        kib = proc_status_kib(self.pid, "VmHWM")
        return None if kib is None else kib / 1024

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def main_thread_cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid, self.pid)

    def thread_cpu_seconds(self) -> dict[int, float]:
        """CPU time so far of each live thread, by thread id."""
        found = {}
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError):  # a thread may end meanwhile
                found[int(task.name)] = proc_cpu_seconds(self.pid, int(task.name))
        return found

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def requests_since(self, offset: int) -> Counter[tuple[str, str, str]]:
        """Requests in the access log written after byte `offset`: (method, path, status) → n."""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", errors="replace")
        return Counter((m["method"], m["path"], m["status"]) for m in ACCESS_LINE.finditer(text))

    def problems_since(self, offset: int) -> list[str]:
        """Log lines after `offset` that report a server error (tracebacks, ERROR, 5xx)."""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", errors="replace")
        found = []
        for line in text.splitlines():
            access = ACCESS_LINE.search(line)
            if (access and access["status"].startswith("5")) or (
                not access and ("Traceback" in line or line.startswith(("ERROR", "CRITICAL")))
            ):
                found.append(line)
        return found

    def stop(self) -> int | None:
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return self._process.returncode

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
