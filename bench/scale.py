"""Ingest and search throughput, embedded profile against scaled with 1 and 2 API processes,
with the CPU every process spent per request, so scaling can be read on a 2-core machine.

    .venv/bin/python bench/scale.py [--uploads 150] [--searches 1500] [--json out.json]

One run starts PostgreSQL, Redis and SeaweedFS (`scripts/services/*.sh`, in a temp folder,
stopped at the end), then for each set-up a fresh library: the embedded profile (SQLite, blobs
in the data folder, in-process cache, one process), and the scaled profile (PostgreSQL, S3,
Redis) with one and with two `imagerepo serve` processes. Each set-up gets the same uploads
(generated 1024x768 JPEGs, 8 at once, spread round-robin over the processes, straight to
them: no proxy) and then the same searches (`q=<word>` from the titles, with a `limit` that
makes nearly every query new to the cache, 16 at once). CPU seconds come from /proc/<pid>/stat
before and after each phase: every API process, the PostgreSQL server with its backends, Redis,
SeaweedFS, the job worker (the scaled set-ups run previews and full-size copies in one
`imagerepo worker` process on procrastinate; the embedded one runs them in the server), and
this client. The ingest phase ends when every image is `ready`, so its jobs are counted. With
two cores, two API processes can only go faster if one process left a core idle; the CPU per
request says what each part costs whatever the core count.
PostgreSQL here runs with fsync off (test service), SQLite with synchronous=FULL.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from PIL import Image, ImageDraw
from procs import CLOCK_TICKS, ServerProcess, clean_env, free_port

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.services import free_port_block  # SeaweedFS takes 12 ports in a row

REPO = Path(__file__).parents[1]
SCRIPTS = REPO / "scripts" / "services"
ROOT_PASSWORD = "bench-root-password"  # noqa: S105 - a throwaway library
WORDS = [
    "beach",
    "harbour",
    "forest",
    "mountain",
    "river",
    "market",
    "bridge",
    "garden",
    "castle",
    "desert",
    "island",
    "lake",
    "city",
    "village",
    "meadow",
    "canyon",
    "glacier",
    "tower",
    "temple",
    "station",
]


@dataclass
class Service:
    name: str
    state: Path
    url: str

    def pid(self) -> int:
        if self.name == "postgres":
            return int((self.state / "cluster" / "postmaster.pid").read_text().split()[0])
        return int((self.state / f"{self.name}.pid").read_text().strip())


@contextmanager
def service(name: str, root: Path, port: int) -> Iterator[Service]:
    state = root / name
    done = subprocess.run(
        [str(SCRIPTS / f"{name}.sh"), "start", str(state)],
        env={**os.environ, "PORT": str(port)},
        capture_output=True,
        text=True,
        check=True,
    )
    try:
        yield Service(name, state, done.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run([str(SCRIPTS / f"{name}.sh"), "stop", str(state)], check=False)


def tree_cpu_seconds(pid: int) -> float:
    """CPU of `pid`, its live children, and its children that ended (PostgreSQL's backends)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    total = sum(int(v) for v in fields[11:15]) / CLOCK_TICKS  # utime stime cutime cstime
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            with open(entry / "stat", encoding="ascii") as stat:
                child = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(child[1]) == pid:
            total += (int(child[11]) + int(child[12])) / CLOCK_TICKS
    return total


def client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def photo(index: int) -> tuple[str, bytes]:
    rng = random.Random(index)
    image = Image.new("RGB", (1024, 768), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        box = (
            sorted(rng.randrange(1024) for _ in range(2)),
            sorted(rng.randrange(768) for _ in range(2)),
        )
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle((box[0][0], box[1][0], box[0][1], box[1][1]), fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{index:05d}.jpg"
    return name, out.getvalue()


@dataclass
class Phase:
    requests: int
    seconds: float
    cpu: dict[str, float] = field(default_factory=dict)  # process -> CPU seconds

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def ms_per_request(self, name: str) -> float:
        return 1000 * self.cpu.get(name, 0.0) / self.requests


@dataclass
class Setup:
    label: str
    scaled: bool
    workers: int
    phases: dict[str, Phase] = field(default_factory=dict)


async def drive(urls: list[str], jobs: list[tuple[str, dict[str, object]]], at_once: int) -> None:
    """Run the (method, httpx keywords) jobs against `urls` round-robin, `at_once` in flight."""
    queue: asyncio.Queue[tuple[int, tuple[str, dict[str, object]]]] = asyncio.Queue()
    for number, job in enumerate(jobs):
        queue.put_nowait((number, job))
    limits = httpx.Limits(max_connections=at_once)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                number, (path, options) = queue.get_nowait()
                method = "POST" if "files" in options else "GET"
                url = urls[number % len(urls)] + path
                answer = await client.request(method, url, **options)  # type: ignore[arg-type]
                if answer.status_code >= 300:
                    raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")

        await asyncio.gather(*(worker() for _ in range(at_once)))


def measure(
    setup: Setup,
    name: str,
    urls: list[str],
    jobs: list[tuple[str, dict[str, object]]],
    at_once: int,
    processes: dict[str, list[int]],
    settle: Callable[[], None] | None = None,
) -> None:
    def snapshot() -> dict[str, float]:
        found = {
            label: sum(tree_cpu_seconds(pid) for pid in pids) for label, pids in processes.items()
        }
        found["client"] = client_cpu_seconds()
        return found

    before, started = snapshot(), time.perf_counter()
    asyncio.run(drive(urls, jobs, at_once))
    if settle is not None:
        settle()  # the phase's background work (jobs) is part of what it costs
    seconds, after = time.perf_counter() - started, snapshot()
    phase = Phase(len(jobs), seconds, {k: after[k] - before[k] for k in after})
    setup.phases[name] = phase
    print(
        f"{setup.label:28} {name:7} {phase.per_second:7.1f} req/s  "
        + "  ".join(f"{k} {phase.ms_per_request(k):.1f}" for k in phase.cpu)
        + " (CPU ms/request)",
        file=sys.stderr,
    )


def run_setup(
    setup: Setup,
    root: Path,
    backends: dict[str, Service],
    uploads: list[tuple[str, bytes]],
    searches: int,
) -> None:
    home = root / setup.label.replace(" ", "-")
    env = {
        "IMAGEREPO_DATA_DIR": str(home / "data"),
        "IMAGEREPO_ROOT_PASSWORD": ROOT_PASSWORD,
        "IMAGEREPO_SECRET_KEY": "b" * 48,
        "IMAGEREPO_WRITE_CLIENT_LOGIN": "false",
        "IMAGEREPO_LOG_LEVEL": "warning",
        "IMAGEREPO_CONFIG": str(home / "client.json"),
        "IMAGEREPO_ARGON2_TIME_COST": "2",
        "IMAGEREPO_ARGON2_MEMORY_KIB": "19456",
        "IMAGEREPO_WORKER_THREADS": str(max(1, 2 // setup.workers)),
    }
    processes: dict[str, list[int]] = {}
    if setup.scaled:
        database = f"bench_{setup.workers}"
        postgres = backends["postgres"]
        admin = postgres.url.replace("postgresql+asyncpg", "postgresql")
        quiet = {**os.environ, "PGOPTIONS": "--client-min-messages=warning"}
        subprocess.run(
            ["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {database}"], check=True, env=quiet
        )
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {database}"], check=True)
        redis_db = 5 + setup.workers
        subprocess.run(
            [
                "redis-cli",
                "-u",
                backends["redis"].url.rsplit("/", 1)[0] + f"/{redis_db}",
                "flushdb",
            ],
            check=True,
            capture_output=True,
        )
        env.update(
            IMAGEREPO_DATABASE_URL=postgres.url.rsplit("/", 1)[0] + f"/{database}",
            IMAGEREPO_STORAGE_URL=f"s3://imagerepo/bench-{setup.workers}-{os.getpid()}",
            IMAGEREPO_S3_ENDPOINT=backends["seaweedfs"].url,
            IMAGEREPO_S3_ACCESS_KEY="imagerepo",
            IMAGEREPO_S3_SECRET_KEY="imagerepo-secret",  # noqa: S106 - scripts/services/seaweedfs.sh
            IMAGEREPO_CACHE_URL=backends["redis"].url.rsplit("/", 1)[0] + f"/{redis_db}",
        )
        # Jobs (previews, full-size copies) in a worker process of their own, on procrastinate.
        env["IMAGEREPO_QUEUE_URL"] = env["IMAGEREPO_DATABASE_URL"]
        processes = {name: [svc.pid()] for name, svc in backends.items()}
        migrate = subprocess.run(
            [sys.executable, "-m", "imagerepo", "migrate"],
            env=clean_env(env),
            capture_output=True,
            text=True,
        )
        if migrate.returncode != 0:
            raise RuntimeError(migrate.stderr)
    with ExitStack() as stack:
        urls = []
        for number in range(setup.workers):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            server = ServerProcess(
                f"api-{number}",
                [sys.executable, "-m", "imagerepo", "serve", "--port", str(port)],
                clean_env(env),
                home / f"server-{number}.log",
                f"{url}/healthz",
            )
            home.mkdir(parents=True, exist_ok=True)
            stack.enter_context(server.start())
            urls.append(url)
            processes.setdefault("api", []).append(server.pid)
        if setup.scaled:
            log = stack.enter_context((home / "worker.log").open("wb"))
            job_worker = subprocess.Popen(
                [sys.executable, "-m", "imagerepo", "worker", "--concurrency", "2"],
                env=clean_env(env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            stack.callback(job_worker.wait, 60)
            stack.callback(job_worker.terminate)
            processes["jobs"] = [job_worker.pid]
        token = httpx.post(
            f"{urls[0]}/api/v1/auth/token", data={"username": "root", "password": ROOT_PASSWORD}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        ingest: list[tuple[str, dict[str, object]]] = [
            (
                "/api/v1/images",
                {"files": {"file": (n, data, "image/jpeg")}, "data": {"visibility": "public"}},
            )
            for n, data in uploads
        ]
        for _, options in ingest:
            options["headers"] = auth
        measure(setup, "ingest", urls, ingest, 8, processes, lambda: wait_ready(urls[0], auth))
        rng = random.Random(7)
        search: list[tuple[str, dict[str, object]]] = [
            (f"/api/v1/images?q={rng.choice(WORDS)}&limit={rng.randrange(10, 60)}", {})
            for _ in range(searches)
        ]
        measure(setup, "search", urls, search, 16, processes)


def wait_ready(url: str, auth: dict[str, str], deadline_seconds: float = 600) -> None:
    """Poll the listing until no image is `processing` (its jobs are done)."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        cursor, busy = "", 0
        while True:
            page = httpx.get(
                f"{url}/api/v1/images?limit=100{cursor}", headers=auth, timeout=60
            ).json()
            busy += sum(item["state"] == "processing" for item in page["items"])
            if not page.get("next_cursor"):
                break
            cursor = f"&cursor={page['next_cursor']}"
        if busy == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{busy} images still processing after {deadline_seconds} s")
        time.sleep(0.25)


def table(setups: list[Setup]) -> str:
    columns = ["api", "jobs", "postgres", "redis", "seaweedfs", "client"]
    lines = [
        "| set-up | phase | req/s | "
        + " | ".join(f"{c} CPU ms/req" for c in columns)
        + " | all CPU ms/req |",
        "|---|---|---:|" + "---:|" * (len(columns) + 1),
    ]
    for setup in setups:
        for name, phase in setup.phases.items():
            cells = [f"{phase.ms_per_request(c):.1f}" if c in phase.cpu else "—" for c in columns]
            total = sum(phase.ms_per_request(c) for c in phase.cpu)
            lines.append(
                f"| {setup.label} | {name} | {phase.per_second:.1f} | "
                + " | ".join(cells)
                + f" | {total:.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=150)
    parser.add_argument("--searches", type=int, default=1500)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    uploads = [photo(i) for i in range(args.uploads)]
    setups = [
        Setup("embedded, 1 process", scaled=False, workers=1),
        Setup("scaled, 1 process", scaled=True, workers=1),
        Setup("scaled, 2 processes", scaled=True, workers=2),
    ]
    root = Path(tempfile.mkdtemp(prefix="imagerepo-scale-"))
    root.chmod(0o711)  # PostgreSQL runs as its own user
    with ExitStack() as stack:
        backends = {
            "postgres": stack.enter_context(service("postgres", root, free_port())),
            "redis": stack.enter_context(service("redis", root, free_port())),
            "seaweedfs": stack.enter_context(service("seaweedfs", root, free_port_block(12))),
        }
        for setup in setups:
            run_setup(setup, root, backends, uploads, args.searches)
    with open("/proc/loadavg", encoding="ascii") as loadavg:
        load = " ".join(loadavg.read().split()[:3])
    print(table(setups))
    print(f"\n{os.cpu_count()} cores; load average at the end: {load}")
    if args.json:
        args.json.write_text(json.dumps([asdict(s) for s in setups], indent=2))


if __name__ == "__main__":
    main()
