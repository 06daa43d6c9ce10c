"""Optional sampling profile of the server during the upload, with py-spy (not a dependency).

py-spy is never installed into the project's venv; put it anywhere, e.g.
`pip install --target /tmp/pyspy py-spy`, and pass `--py-spy /tmp/pyspy/bin/py-spy`.
It samples the server from outside without pausing it (`--nonblocking`).

Two cautions, both handled in `summarise`:
- py-spy's "busy" samples include threads that are runnable but waiting for a core, and some
  that are parked in a queue or lock wait (they show with the waiting line as the leaf). So
  per-thread CPU is taken from /proc (exact), and py-spy only names the threads (thread id →
  Python thread name) and says which functions the busy samples were in.
- Samples whose leaf line is a wait (`.get(`, `.wait(`, `.acquire(`, `select`) are dropped from
  the function tables: they are a thread waking up or going to sleep, not work.
"""

from __future__ import annotations

import contextlib
import linecache
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

# `thread (12345): MainThread;frame (/path/file.py:12);frame (/path/file.py:34) 17`
_LINE = re.compile(r"^thread \((?P<tid>\d+)\): (?P<stack>.*) (?P<count>\d+)$")
_FRAME = re.compile(r"^(?P<name>.*) \((?P<path>.*):(?P<line>\d+)\)$")
_POOL_SUFFIX = re.compile(r"(_\d+|-\d+)(?= |$)")
Mode = Literal["busy", "gil", "wall"]
MODES: tuple[Mode, ...] = ("busy", "gil", "wall")
_RUNNER = "Runner.run ("
_LOOP_ITSELF = "(in the event loop itself: uvloop, httptools, sockets, callbacks)"
_WAITS = (".get(", ".wait(", ".acquire(", "select(", ".poll(", "tx.get")


@contextlib.contextmanager
def recording(
    py_spy: Path | None, pid: int, output: Path, *, mode: Mode = "busy"
) -> Iterator[None]:
    """Run `py-spy record` on `pid` for the duration of the block (no-op without `py_spy`).

    Modes: `busy` samples threads that are not idle (native code such as JPEG decoding
    included); `gil` only the thread holding the GIL (Python's own work); `wall` every thread
    all the time, waits included (where each thread's wall time goes).
    """
    if py_spy is None:
        yield
        return
    command = [str(py_spy), "record", "--pid", str(pid), "--rate", "100", "--format", "raw"]
    command += ["--nonblocking", "--threads", "--full-filenames", "--output", str(output)]
    command += {"busy": [], "gil": ["--gil"], "wall": ["--idle"]}[mode]
    spy = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(1.0)  # let it attach before the work starts
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            spy.wait(60)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()


def thread_kinds(raw: Path) -> dict[int, str]:
    """Thread id → Python thread name with pool numbers folded (`imagerepo_0` → `imagerepo_*`)."""
    kinds: dict[int, str] = {}
    for line in _lines(raw):
        match = _LINE.match(line)
        if match:
            name = match["stack"].split(";", 1)[0]
            kinds[int(match["tid"])] = _POOL_SUFFIX.sub("*", name)
    return kinds


def cpu_by_kind(
    thread_cpu: Mapping[int, float], kinds: Mapping[int, str], main_tid: int
) -> dict[str, float]:
    """CPU seconds per thread kind; the main thread is the event loop."""
    totals: dict[str, float] = {}
    for tid, seconds in thread_cpu.items():
        fallback = "other threads" if not kinds else "other threads (no busy samples)"
        kind = "MainThread" if tid == main_tid else kinds.get(tid, fallback)
        totals[kind] = totals.get(kind, 0.0) + seconds
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    return {kind: seconds for kind, seconds in ranked if seconds > 0}


def summarise(raw: Path, top: int = 12, *, keep_waits: bool = False) -> str:
    """What the samples say, as text: per thread kind, its hottest leaf frames (waits marked, or
    dropped unless `keep_waits`); over all threads, self time (the leaf) and the inclusive time
    of imagerepo's own functions (the event loop's trunk, CLI → uvicorn → asyncio.run, left
    out, and samples inside the loop's C code shown as one line)."""
    samples: list[tuple[str, int, list[str], int]] = []
    dropped = 0
    for line in _lines(raw):
        match = _LINE.match(line)
        if not match:
            continue
        thread, *frames = match["stack"].split(";")
        count = int(match["count"])
        if frames and _is_wait(frames[-1]):
            if not keep_waits:
                dropped += count
                continue
            frames[-1] = "[waiting] " + frames[-1]
        runner = [i for i, f in enumerate(frames) if f.startswith(_RUNNER)]
        if runner:  # cut the trunk down to asyncio's Runner.run
            frames = frames[runner[-1] + 1 :] or [_LOOP_ITSELF]
        kind = _POOL_SUFFIX.sub("*", thread)
        samples.append((kind, int(match["tid"]), [_short(f) for f in frames], count))
    total = sum(count for *_, count in samples)
    if not total:
        return "py-spy recorded no samples"

    kinds: dict[str, Counter[str]] = {}
    threads: dict[str, set[int]] = {}
    leaves: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    for kind, tid, frames, count in samples:
        leaf = frames[-1] if frames else "?"
        kinds.setdefault(kind, Counter())[leaf] += count
        threads.setdefault(kind, set()).add(tid)
        leaves[leaf] += count
        functions = dict.fromkeys(f.rsplit(":", 1)[0] + ")" for f in frames if "imagerepo/" in f)
        ours.update(dict.fromkeys(functions, count))

    def share(counter: Counter[str], of: int, n: int = top) -> list[str]:
        return [f"    {100 * c / of:5.1f}%  {name}" for name, c in counter.most_common(n)]

    lines = [
        f"{total} samples at 100 Hz"
        + (f" ({dropped} samples parked in waits dropped)" if dropped else ""),
        "per thread kind (shares of that kind's samples):",
    ]
    for kind, counter in sorted(kinds.items(), key=lambda item: -item[1].total()):
        n = counter.total()
        lines.append(f"  {kind}: {n} samples, {len(threads[kind])} thread(s)")
        lines += share(counter, n, 4)
    lines += ["self (leaf frame), all threads:", *share(leaves, total)]
    lines += ["inclusive, imagerepo's own functions, all threads:", *share(ours, total)]
    return "\n".join(lines)


def _lines(raw: Path) -> list[str]:
    return raw.read_text(encoding="utf-8", errors="replace").splitlines()


def _is_wait(frame: str) -> bool:
    match = _FRAME.match(frame)
    if not match:
        return False
    source = linecache.getline(match["path"], int(match["line"]))
    return any(wait in source for wait in _WAITS)


def _short(frame: str, *, line: bool = True) -> str:
    """`f (/venv/lib/python3.11/site-packages/pkg/mod.py:12)` → `f (pkg/mod.py:12)`."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match["path"]
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in path:
            path = path.rsplit(marker, 1)[1]
            break
    return f"{match['name']} ({path}:{match['line']})" if line else f"{match['name']} ({path})"
