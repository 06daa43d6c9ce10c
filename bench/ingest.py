"""Ingest benchmark: the real `imagerepo upload` → `imagerepo serve` pipeline beside its floors.

    .venv/bin/python bench/ingest.py            # 300 x 3 MP + 60 x 12 MP JPEGs, several minutes
    .venv/bin/python bench/ingest.py --small    # 60 x 3 MP + 12 x 12 MP, about a minute
    .venv/bin/python bench/ingest.py --json out.json

What is measured, in one run, on the same photos (deterministic photo-like JPEGs with camera
EXIF, drawn once by `photos.py` and cached under `bench/out/photos/`):

1. Full pipeline: a fresh server (`imagerepo serve`, a subprocess on a free loopback port, empty
   temp data dir, SQLite) and the real client (`imagerepo upload --dir D --concurrency 8 --quiet`,
   another subprocess), timed from the client's spawn to its exit, so interpreter start-up and the
   one login are in it. Every image must come back from the API afterwards; a failed upload or a
   server error stops the bench with the server's log tail (nothing is retried or worked around).
2. Re-sync: the same command again on the unchanged folder (with the same fresh client cache dir),
   timed the same way; what it actually sent is read from the server's access log.
3. Floors: `cp -r` of the folder (without and with `sync`), the bytes POSTed to a bare ASGI app
   that only writes bodies to disk (`bare_asgi.py`, httpx client, same multipart shape and
   concurrency), and a plain Pillow thumbnail loop on every core (`floors.py`).

Why these floors: the server must decode each upload (to validate it and make its thumbnail),
so decode+resize is the work it cannot avoid; the issue's target is a pipeline at ≥ 0.8x that
floor. `cp -r` and the bare ASGI app show what the bytes alone cost, on disk and over HTTP.

Client and server share the machine's cores with each other (as they would on a laptop that
uploads to itself); floors use all cores too. Numbers from a shared 2-core machine are noisy:
the load average is printed with the results. MB are 10^6 bytes; RSS is in MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import PIL
from floors import Timing, bare_asgi_floor, copy_floor, thumbnail_floor
from photos import PhotoSet, ensure_photos, photo_paths
from procs import Run, ServerProcess, clean_env, free_port, machine_busy_seconds, timed_run
from pyspy import MODES, Mode, cpu_by_kind, recording, summarise, thread_kinds

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_WORKDIR = BENCH_DIR / "out"
ROOT_PASSWORD = "bench-root-password-not-a-secret"  # noqa: S105 - a throwaway server's
TARGET_RATIO = 0.8
MB = 1_000_000


class BenchFailure(Exception):
    """The pipeline under test failed; the message carries the evidence (logs, outputs)."""


@dataclass(slots=True)
class Row:
    name: str
    seconds: float
    images: int
    bytes: int
    note: str = ""
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # ours, by process
    machine_cpu_seconds: float = 0.0  # every process on the machine, ours included

    @property
    def ours_cores(self) -> float:
        return sum(self.cpu_seconds.values()) / self.seconds

    @property
    def others_cores(self) -> float:
        """Cores kept busy by everyone else meanwhile (other engineers' tests, py-spy)."""
        return max(0.0, self.machine_cpu_seconds - sum(self.cpu_seconds.values())) / self.seconds

    @property
    def cpu_ms_per_image(self) -> float:
        return 1000 * sum(self.cpu_seconds.values()) / self.images

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.bytes / MB / self.seconds

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "images_per_s": self.images_per_s,
            "mb_per_s": self.mb_per_s,
            "ours_cores": self.ours_cores,
            "others_cores": self.others_cores,
        }


@dataclass(slots=True)
class Pipeline:
    upload: Row
    event_loop_cpu_seconds: float  # the server's main thread, part of upload's server CPU
    server_thread_cpu_seconds: dict[str, float]  # during the upload, by thread kind
    resync_seconds: float
    resync_cpu_seconds: dict[str, float]
    upload_requests: dict[str, int]
    resync_requests: dict[str, int]
    upload_summary: str
    resync_summary: str
    stored: int
    idle_rss_mib: float
    peak_rss_mib_after_upload: float
    peak_rss_mib: float
    data_dir_bytes: int
    profile: str | None = None


# -- the pipeline ----------------------------------------------------------------------------


def imagerepo_command() -> list[str]:
    """The installed `imagerepo` script beside this interpreter, else `python -m imagerepo`."""
    script = Path(sys.executable).parent / "imagerepo"
    return [str(script)] if script.exists() else [sys.executable, "-m", "imagerepo"]


def run_pipeline(
    folder: Path,
    run_dir: Path,
    concurrency: int,
    py_spy: Path | None = None,
    *,
    profile_mode: Mode = "busy",
) -> Pipeline:
    paths = photo_paths(folder)
    total_bytes = sum(p.stat().st_size for p in paths)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_env, client_env = _environments(run_dir, port)
    upload = [
        *imagerepo_command(),
        *("upload", "--dir", str(folder), "--concurrency", str(concurrency), "--quiet"),
    ]
    server = ServerProcess(
        "imagerepo serve", [*imagerepo_command(), "serve"], server_env,
        run_dir / "server.log", f"{url}/healthz",
    )  # fmt: skip
    profile = run_dir / "server-profile.txt"
    with server.start():
        idle_rss = server.rss_mib() or 0.0
        log_mark = server.log_size()
        _progress(f"uploading {len(paths)} photos with: {' '.join(upload[-7:])}")
        with recording(py_spy, server.pid, profile, mode=profile_mode):
            server_cpu, threads = server.cpu_seconds(), server.thread_cpu_seconds()
            machine = machine_busy_seconds()
            first = timed_run(upload, client_env)
            machine = machine_busy_seconds() - machine
            server_cpu = server.cpu_seconds() - server_cpu
            threads = {
                tid: cpu - threads.get(tid, 0.0) for tid, cpu in server.thread_cpu_seconds().items()
            }
        main_tid = server.pid
        _check_run("upload", first, server, log_mark)
        upload_requests = server.requests_since(log_mark)
        peak_after_upload = server.peak_rss_mib() or 0.0
        stored = count_images(url)
        if stored != len(paths):
            raise BenchFailure(
                f"{stored} images listed by the API after uploading {len(paths)}\n"
                f"client said: {first.stdout.strip()}\nserver log tail:\n{server.log_tail()}"
            )

        _progress("re-sync: the same upload again on the unchanged folder")
        log_mark = server.log_size()
        resync_cpu_before = server.cpu_seconds()
        again = timed_run(upload, client_env)
        resync_server_cpu = server.cpu_seconds() - resync_cpu_before
        _check_run("re-sync", again, server, log_mark)
        resync_requests = server.requests_since(log_mark)
        peak = server.peak_rss_mib() or 0.0
    row = Row(
        "full pipeline (imagerepo upload → serve)",
        first.seconds,
        len(paths),
        total_bytes,
        f"`imagerepo upload --concurrency {concurrency}` to `imagerepo serve`, timed from the "
        "client's start to its exit (interpreter start-up and one login included)",
        {"server": server_cpu, "client": first.cpu_seconds},
        machine,
    )
    profiled = py_spy is not None and profile.exists()
    return Pipeline(
        upload=row,
        event_loop_cpu_seconds=threads.get(main_tid, 0.0),
        server_thread_cpu_seconds=cpu_by_kind(
            threads, thread_kinds(profile) if profiled else {}, main_tid
        ),
        resync_seconds=again.seconds,
        resync_cpu_seconds={"server": resync_server_cpu, "client": again.cpu_seconds},
        upload_requests=_request_counts(upload_requests),
        resync_requests=_request_counts(resync_requests),
        upload_summary=_last_line(first.stdout),
        resync_summary=_last_line(again.stdout),
        stored=stored,
        idle_rss_mib=idle_rss,
        peak_rss_mib_after_upload=peak_after_upload,
        peak_rss_mib=peak,
        data_dir_bytes=_tree_bytes(run_dir / "data"),
        profile=(
            f"mode: {profile_mode}; " + summarise(profile, keep_waits=profile_mode == "wall")
            if profiled
            else None
        ),
    )


def _environments(run_dir: Path, port: int) -> tuple[dict[str, str], dict[str, str]]:
    """The server's and the client's environment: nothing of the user's (no IMAGEREPO_* setting
    is inherited; config, caches and data all live in `run_dir`)."""
    isolated = {
        "IMAGEREPO_CONFIG": str(run_dir / "client.json"),
        "IMAGEREPO_CACHE_DIR": str(run_dir / "cache"),
        "XDG_CONFIG_HOME": str(run_dir / "xdg-config"),
        "XDG_CACHE_HOME": str(run_dir / "xdg-cache"),
    }
    server = {
        "IMAGEREPO_DATA_DIR": str(run_dir / "data"),
        "IMAGEREPO_HOST": "127.0.0.1",
        "IMAGEREPO_PORT": str(port),
        "IMAGEREPO_ROOT_PASSWORD": ROOT_PASSWORD,
    }
    client = {
        "IMAGEREPO_URL": f"http://127.0.0.1:{port}",
        "IMAGEREPO_USER": "root",
        "IMAGEREPO_PASSWORD": ROOT_PASSWORD,
    }
    return clean_env({**isolated, **server}), clean_env({**isolated, **client})


def _check_run(what: str, run: Run, server: ServerProcess, log_mark: int) -> None:
    problems = server.problems_since(log_mark)
    if run.returncode == 0 and not problems:
        return
    raise BenchFailure(
        f"{what} failed: `imagerepo upload` exited {run.returncode}; "
        f"{len(problems)} server error line(s)\n"
        f"--- client stdout (tail) ---\n{_tail(run.stdout)}\n"
        f"--- client stderr (tail) ---\n{_tail(run.stderr)}\n"
        f"--- server log (tail) ---\n{server.log_tail(60)}"
    )


def count_images(url: str) -> int:
    """How many images root can list, following every page (a separate login, not timed)."""
    with httpx.Client(base_url=url, timeout=60.0) as client:
        answer = client.post(
            "/api/v1/auth/token", data={"username": "root", "password": ROOT_PASSWORD}
        )
        answer.raise_for_status()
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        count, cursor = 0, None
        while True:
            params: dict[str, str | int] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = client.get("/api/v1/images", params=params, headers=headers)
            page.raise_for_status()
            body = page.json()
            count += len(body["items"])
            cursor = body.get("next_cursor")
            if not cursor:
                return count


def _request_counts(counts: Any) -> dict[str, int]:
    return {f"{m} {p} → {s}": n for (m, p, s), n in sorted(counts.items())}


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


# -- the report -------------------------------------------------------------------------------


def machine_facts() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import uvicorn

    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "pillow": PIL.__version__,
        "uvicorn": uvicorn.__version__,
        "httpx": httpx.__version__,
        "kernel": platform.release(),
    }


def load_average() -> str:
    with open("/proc/loadavg", encoding="ascii") as loadavg:
        return " ".join(loadavg.read().split()[:3])


def render(
    rows: list[Row], pipeline: Pipeline, facts: dict[str, Any], extra: dict[str, Any]
) -> str:
    ours = pipeline.upload
    lines = [
        f"imagerepo ingest benchmark, {extra['date']}: {extra['photos']}",
        "",
        "| step | seconds | images/s | MB/s | pipeline ÷ floor | CPU ms/image "
        "| busy cores: ours + others |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        versus = "—" if row is ours else f"{ours.images_per_s / row.images_per_s:.2f}x"
        lines.append(
            f"| {row.name} | {row.seconds:.2f} | {row.images_per_s:.1f} | {row.mb_per_s:.1f} "
            f"| {versus} | {row.cpu_ms_per_image:.1f} "
            f"| {row.ours_cores:.2f} + {row.others_cores:.2f} |"
        )
    lines += ["", "What each row is (CPU ms/image: ours, by process):"]
    for row in rows:
        parts = ", ".join(
            f"{who} {1000 * cpu / row.images:.1f}" for who, cpu in row.cpu_seconds.items()
        )
        lines.append(f"- {row.name}: {row.note} [{parts}]")
    pillow = rows[-1]
    ratio = ours.images_per_s / pillow.images_per_s
    verdict = "MET" if ratio >= TARGET_RATIO else "NOT met"
    server_ms = 1000 * ours.cpu_seconds["server"] / ours.images
    client_ms = 1000 * ours.cpu_seconds["client"] / ours.images
    loop_ms = 1000 * pipeline.event_loop_cpu_seconds / ours.images
    floor_ms = 1000 * pillow.cpu_seconds["workers"] / pillow.images
    lines += [
        "",
        f"Target, full pipeline ≥ {TARGET_RATIO}x the decode+resize floor (images/s): "
        f"{ratio:.2f}x → {verdict}",
        f"CPU per image: pipeline {server_ms + client_ms:.0f} ms (server {server_ms:.0f} ms, of "
        f"which {loop_ms:.0f} ms on its event-loop thread; client {client_ms:.0f} ms); Pillow "
        f"floor {floor_ms:.0f} ms. By CPU spent, the pipeline is at "
        f"{floor_ms / (server_ms + client_ms):.2f}x the floor.",
        f"Re-sync of the unchanged folder: {pipeline.resync_seconds:.2f} s (CPU: server "
        f"{pipeline.resync_cpu_seconds['server']:.2f} s, client "
        f"{pipeline.resync_cpu_seconds['client']:.2f} s); the client said: "
        f"{pipeline.resync_summary or '?'}; the server saw {_requests(pipeline.resync_requests)}",
        f"First upload: the client said: {pipeline.upload_summary or '?'}; the server saw "
        f"{_requests(pipeline.upload_requests)}; the API lists {pipeline.stored} images",
        f"Server RSS: {pipeline.idle_rss_mib:.0f} MiB idle after start; peak (VmHWM) "
        f"{pipeline.peak_rss_mib_after_upload:.0f} MiB after the upload, "
        f"{pipeline.peak_rss_mib:.0f} MiB after the re-sync. Data dir: "
        f"{pipeline.data_dir_bytes / MB:.0f} MB",
        "Server CPU by thread during the upload, ms per image: "
        + ", ".join(
            f"{kind} {1000 * cpu / ours.images:.1f}"
            for kind, cpu in pipeline.server_thread_cpu_seconds.items()
        )
        + " (MainThread is the event loop)",
        f"CLI start-up alone (`imagerepo --help`): {extra['cli_startup_seconds']:.2f} s",
        f"Machine: {facts['nproc']} cores ({facts['cpu_model']}), {facts['memory_gib']} GiB, "
        f"Linux {facts['kernel']}, Python {facts['python']}, Pillow {facts['pillow']}, uvicorn "
        f"{facts['uvicorn']}, httpx {facts['httpx']}; load average {extra['load_before']} "
        f"before, {extra['load_after']} after. Shared machine: 'others' above is CPU that "
        "other work took during each step; numbers are noisy.",
    ]
    if pipeline.profile:
        lines += [
            "",
            "Server profile during the upload (py-spy; this run was profiled, so its "
            "numbers carry py-spy's own CPU under 'others'):",
        ]
        lines.append(pipeline.profile)
    return "\n".join(lines)


def _requests(counts: dict[str, int]) -> str:
    return ", ".join(f"{n}x {what}" for what, n in counts.items()) or "none"


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--small", action="store_true", help="60 x 3 MP + 12 x 12 MP photos")
    parser.add_argument("--count-3mp", type=int, help="number of 3 MP photos (default 300)")
    parser.add_argument("--count-12mp", type=int, help="number of 12 MP photos (default 60)")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality (default 90)")
    parser.add_argument("--seed", type=int, default=2021, help="photo generator seed")
    parser.add_argument("--concurrency", type=int, default=8, help="uploads in flight (8)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="Pillow floor processes"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="photo cache and temp runs (default bench/out, git-ignored)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the run folder (logs, data)")
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="also write the results as JSON to PATH; alone: JSON on stdout, the table on stderr",
    )
    parser.add_argument(
        "--py-spy", type=Path, metavar="BIN", help="profile the server with this py-spy binary"
    )
    parser.add_argument(
        "--py-spy-mode",
        choices=MODES,
        default="busy",
        help="busy: threads not idle (default); gil: the thread holding the GIL; wall: every "
        "thread all the time, waits included",
    )
    args = parser.parse_args(argv)
    default_3, default_12 = (60, 12) if args.small else (300, 60)
    args.count_3mp = default_3 if args.count_3mp is None else args.count_3mp
    args.count_12mp = default_12 if args.count_12mp is None else args.count_12mp
    if args.count_3mp + args.count_12mp < 1:
        parser.error("nothing to upload: give at least one photo")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    facts = machine_facts()
    load_before = load_average()
    photo_set = PhotoSet(args.count_3mp, args.count_12mp, args.quality, args.seed)
    _progress(f"photos: {photo_set.key} (drawn once, then cached)")
    started = time.perf_counter()
    folder = ensure_photos(photo_set, args.workdir / "photos", workers=args.workers)
    _progress(f"photos ready in {time.perf_counter() - started:.1f} s: {folder}")
    paths = photo_paths(folder)
    total = sum(p.stat().st_size for p in paths)
    for path in paths:  # every step reads from the page cache, the first one too
        path.read_bytes()

    args.workdir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=args.workdir))
    failed = False
    try:
        cli_startup = timed_run([*imagerepo_command(), "--help"]).seconds
        pipeline = run_pipeline(
            folder, run_dir, args.concurrency, args.py_spy, profile_mode=args.py_spy_mode
        )
        _progress("floor: cp -r")
        plain_cp = copy_floor(folder, run_dir / "copy", sync=False)
        synced_cp = copy_floor(folder, run_dir / "copy-sync", sync=True)
        _progress("floor: bare ASGI app")
        bare = bare_asgi_floor(folder, run_dir, args.concurrency)
        _progress("floor: Pillow thumbnail loop")
        pillow = thumbnail_floor(paths, args.workers)
    except BenchFailure as exc:
        failed = True
        print(f"BENCH FAILED (run folder kept: {run_dir})\n{exc}", file=sys.stderr)
        return 1
    except BaseException:
        failed = True
        print(f"[bench] stopped; run folder kept: {run_dir}", file=sys.stderr)
        raise
    finally:
        if not (failed or args.keep):
            shutil.rmtree(run_dir, ignore_errors=True)

    n = len(paths)

    def floor(name: str, timing: Timing) -> Row:
        return Row(
            name, timing.seconds, n, total, timing.note, timing.cpu_seconds,
            timing.machine_cpu_seconds,
        )  # fmt: skip

    rows = [
        pipeline.upload,
        floor("cp -r", plain_cp),
        floor("cp -r + sync", synced_cp),
        floor("bare ASGI write", bare),
        floor(f"Pillow thumbnail loop ({args.workers} procs)", pillow),
    ]
    extra = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "photos": f"{args.count_3mp} x 3 MP + {args.count_12mp} x 12 MP JPEG q{args.quality}, "
        f"{total / MB:.0f} MB in all",
        "cli_startup_seconds": cli_startup,
        "load_before": load_before,
        "load_after": load_average(),
    }
    table = render(rows, pipeline, facts, extra)
    print(table, file=sys.stderr if args.json == "-" else sys.stdout)
    if args.json:
        pillow_row = rows[-1]
        result = {
            **extra,
            "photo_set": asdict(photo_set),
            "photo_bytes": total,
            "images": n,
            "machine": facts,
            "rows": [r.as_json() for r in rows],
            "pipeline": {k: v for k, v in asdict(pipeline).items() if k != "upload"},
            "target_ratio": TARGET_RATIO,
            "ratio_to_pillow_floor": pipeline.upload.images_per_s / pillow_row.images_per_s,
        }
        text = json.dumps(result, indent=2, ensure_ascii=False)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
