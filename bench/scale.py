"""Scale-out benchmark: ingest and search throughput on the embedded profile and on the scaled
profile (PostgreSQL + SeaweedFS + Redis) with 1 and 2 API worker processes, in one run.

    .venv/bin/python bench/scale.py                  # 240 uploads, 600 searches per profile
    .venv/bin/python bench/scale.py --images 60 --searches 150   # a quick look

Every service is a real program started by the repo's scripts (`scripts/services/*.sh`) on
loopback in a temp folder; API workers are `python server/server.py` subprocesses. With two
workers, nginx balances them (`scripts/services/nginx.sh` with two upstreams); with a job queue
configured (`imagerepo worker` exists), the scaled profiles also run one job worker process.

For each profile the client (this process, httpx with `--concurrency` connections) uploads
`--images` distinct 1024x768 JPEGs as one user, then sends `--searches` listing requests (`q=`
with one or two words of the description vocabulary, mostly distinct, so mostly cache misses).
Reported: throughput, latency p50/p95, and the CPU seconds each process spent per request
(read from /proc before and after: API workers, job worker, PostgreSQL with all its backends,
Redis, SeaweedFS, nginx). On a 2-core machine two workers cannot run faster than the cores
allow; the CPU per request is what says how the work would spread over more machines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from PIL import Image, ImageDraw
from procs import ServerProcess, clean_env, free_port, proc_cpu_seconds

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts" / "services"
PYTHON = sys.executable
ROOT_PASSWORD = "bench-root-password"  # noqa: S105 (a throwaway server of this run)
Job = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]
WORDS = (
    "harbour",
    "sunset",
    "mountain",
    "river",
    "forest",
    "city",
    "night",
    "market",
    "festival",
    "beach",
    "snow",
    "garden",
    "bridge",
    "street",
    "portrait",
    "family",
    "concert",
    "museum",
    "lake",
    "desert",
)


@dataclass
class Service:
    name: str
    state: Path
    url: str

    def pids(self) -> list[int]:
        """The service's main process and all its descendants (PostgreSQL's backends)."""
        for pidfile in (self.state / f"{self.name}.pid", self.state / "cluster/postmaster.pid"):
            if pidfile.exists():
                return descendants(int(pidfile.read_text().split()[0]))
        return []


def descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found.extend(frontier)
    return found


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError):  # a backend that ended meanwhile
            total += proc_cpu_seconds(pid)
    return total


@contextmanager
def service(name: str, state: Path, port: int, **env: str) -> Iterator[Service]:
    command = [str(SCRIPTS / f"{name}.sh"), "start", str(state)]
    done = subprocess.run(
        command, env={**os.environ, "PORT": str(port), **env}, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{name} did not start: {done.stderr.strip()[-500:]}")
    try:
        yield Service(name, state, done.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run([str(SCRIPTS / f"{name}.sh"), "stop", str(state)], check=False)


def free_block(count: int) -> int:
    while True:
        base = random.randrange(20000, 30000 - count)
        if all(_free(base + offset) for offset in range(count)):
            return base


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def make_jpeg(seed: int) -> bytes:
    """A distinct 1024x768 picture: shapes on a gradient (cheap to draw, photo-sized to decode)."""
    rng = random.Random(seed)
    picture = Image.linear_gradient("L").resize((1024, 768)).convert("RGB")
    draw = ImageDraw.Draw(picture)
    for _ in range(24):
        x, y = rng.randrange(1024), rng.randrange(768)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x, y, x + rng.randrange(20, 300), y + rng.randrange(20, 300)), fill=colour)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)
    return out.getvalue()


@dataclass
class Profile:
    name: str
    workers: int
    env: dict[str, str]
    migrate: bool = False
    job_worker: bool = False


@dataclass
class Phase:
    requests: int
    seconds: float
    latencies: list[float]
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def drive(url: str, jobs: list[Job], concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = list(reversed(jobs))
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def one_worker() -> None:
            while queue:
                job = queue.pop()
                started = time.perf_counter()
                answer = await job(client)
                latencies.append(time.perf_counter() - started)
                if answer.status_code >= 400:
                    raise SystemExit(f"{answer.request.url}: {answer.status_code} {answer.text}")

        started = time.perf_counter()
        await asyncio.gather(*(one_worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def login(url: str, username: str, password: str) -> dict[str, str]:
    answer = httpx.post(
        f"{url}/api/v1/auth/token", data={"username": username, "password": password}
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def has_job_worker() -> bool:
    done = subprocess.run(
        [PYTHON, "-m", "imagerepo", "worker", "--help"], capture_output=True, cwd=REPO
    )
    return done.returncode == 0


def run_profile(
    profile: Profile, home: Path, args: argparse.Namespace, services: dict[str, Service]
) -> tuple[Phase, Phase]:
    home.mkdir(parents=True, exist_ok=True)
    env = clean_env(
        {
            "IMAGEREPO_DATA_DIR": str(home / "data"),
            "IMAGEREPO_CONFIG": str(home / "config.json"),
            "IMAGEREPO_CACHE_DIR": str(home / "cache"),
            "IMAGEREPO_ROOT_PASSWORD": ROOT_PASSWORD,
            "IMAGEREPO_SECRET_KEY": "b" * 48,
            "IMAGEREPO_WRITE_CLIENT_LOGIN": "false",
            "IMAGEREPO_LOG_LEVEL": "warning",
            "IMAGEREPO_TRUSTED_PROXIES": "127.0.0.1/32",
            "IMAGEREPO_MAX_CONNECTIONS_PER_CLIENT": "1000",
            **profile.env,
        }
    )
    if profile.migrate:
        subprocess.run([PYTHON, "-m", "imagerepo", "migrate"], env=env, cwd=REPO, check=True)
    with ExitStack() as stack:
        workers: list[ServerProcess] = []
        for index in range(profile.workers):
            port = free_port()
            worker = ServerProcess(
                f"api-{index}",
                [PYTHON, "server/server.py"],
                {**env, "IMAGEREPO_PORT": str(port)},
                home / f"api-{index}.log",
                f"http://127.0.0.1:{port}/healthz",
                cwd=REPO,
            )
            stack.enter_context(worker.start())
            workers.append(worker)
        job_worker: subprocess.Popen[bytes] | None = None
        if profile.job_worker:
            job_log = (home / "jobs.log").open("wb")
            job_worker = subprocess.Popen(
                [PYTHON, "-m", "imagerepo", "worker"],
                env=env,
                cwd=REPO,
                stdout=job_log,
                stderr=subprocess.STDOUT,
            )
            stack.callback(job_worker.terminate)
        entry = workers[0].health_url.removesuffix("/healthz")
        if profile.workers > 1:
            upstream = ",".join(w.health_url.removesuffix("/healthz") for w in workers)
            nginx = stack.enter_context(
                service("nginx", home / "nginx", free_port(), UPSTREAM=upstream)
            )
            entry = nginx.url
            services = {**services, "nginx": nginx}

        root = login(entry, "root", ROOT_PASSWORD)
        httpx.post(
            f"{entry}/api/v1/users",
            json={"username": "bench", "password": "bench-password-1"},
            headers=root,
        ).raise_for_status()
        user = login(entry, "bench", "bench-password-1")
        rng = random.Random(7)
        pictures = [make_jpeg(seed) for seed in range(args.images)]

        def upload(index: int) -> Job:
            words = " ".join(rng.sample(WORDS, 3))
            return lambda client: client.post(
                "/api/v1/images",
                files={"file": (f"bench-{index}.jpg", pictures[index], "image/jpeg")},
                data={"description": words, "visibility": rng.choice(["public", "private"])},
                headers=user,
            )

        def search(_: int) -> Job:
            q = " ".join(rng.sample(WORDS, rng.choice([1, 2])))
            sort = rng.choice(["", "&sort=taken_at"])
            return lambda client: client.get(f"/api/v1/images?q={q}&limit=50{sort}", headers=user)

        def measured(jobs: list[Job]) -> Phase:
            pids = {f"api ({profile.workers})": [w.pid for w in workers]}
            if job_worker is not None:
                pids["job worker"] = [job_worker.pid]
            for name, svc in services.items():
                pids[name] = svc.pids()
            before = {name: cpu_of(p) for name, p in pids.items()}
            seconds, latencies = asyncio.run(drive(entry, jobs, args.concurrency))
            after = {name: cpu_of(p) for name, p in pids.items()}
            phase = Phase(len(jobs), seconds, latencies)
            phase.cpu = {name: (after[name] - before[name]) / len(jobs) for name in pids}
            return phase

        ingest = measured([upload(i) for i in range(args.images)])
        searching = measured([search(i) for i in range(args.searches)])
        return ingest, searching


def render(results: list[tuple[Profile, Phase, Phase]]) -> str:
    base_ingest, base_search = results[0][1].rate, results[0][2].rate
    lines = [
        "| profile | API workers | ingest img/s (xembedded) | upload p95 ms | search req/s"
        " (xembedded) | search p95 ms | CPU ms per upload, by process | CPU ms per search,"
        " by process |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for profile, ingest, search in results:
        lines.append(
            f"| {profile.name} | {profile.workers} | {ingest.rate:.1f} "
            f"({ingest.rate / base_ingest:.2f}x) | {ingest.p(0.95):.0f} | {search.rate:.0f} "
            f"({search.rate / base_search:.2f}x) | {search.p(0.95):.1f} | "
            f"{_cpu(ingest.cpu)} | {_cpu(search.cpu)} |"
        )
    return "\n".join(lines)


def _cpu(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds * 1000:.1f}" for name, seconds in cpu.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=240)
    parser.add_argument("--searches", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    jobs = has_job_worker()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="imagerepo-scale-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        pg = stack.enter_context(service("postgres", root / "postgres", free_port()))
        redis = stack.enter_context(service("redis", root / "redis", free_port()))
        s3 = stack.enter_context(service("seaweedfs", root / "seaweedfs", free_block(12)))
        scaled_services = {"postgres": pg, "redis": redis, "seaweedfs": s3}
        results = []
        profiles = [Profile("embedded (SQLite, local folder)", 1, {})]
        for workers in (1, 2):
            database = f"scale_{workers}"
            subprocess.run(
                [
                    _psql(pg),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    pg.url.rsplit(":", 1)[1].split("/")[0],
                    "-U",
                    "postgres",
                    "-c",
                    f"CREATE DATABASE {database}",
                ],
                check=True,
                capture_output=True,
            )
            scaled = {
                "IMAGEREPO_DATABASE_URL": pg.url.rsplit("/", 1)[0] + f"/{database}",
                "IMAGEREPO_STORAGE_URL": f"s3://imagerepo/scale-{workers}",
                "IMAGEREPO_S3_ENDPOINT": s3.url,
                "IMAGEREPO_S3_ACCESS_KEY": "imagerepo",
                "IMAGEREPO_S3_SECRET_KEY": "imagerepo-secret",
                "IMAGEREPO_CACHE_URL": redis.url.rsplit("/", 1)[0] + f"/{workers}",
            }
            if jobs:
                scaled["IMAGEREPO_QUEUE_URL"] = scaled["IMAGEREPO_DATABASE_URL"]
            profiles.append(
                Profile(
                    f"scaled (PostgreSQL, SeaweedFS, Redis){' + job worker' * jobs}",
                    workers,
                    scaled,
                    migrate=True,
                    job_worker=jobs,
                )
            )
        for index, profile in enumerate(profiles):
            print(f"# {profile.name}, {profile.workers} API worker(s)", file=sys.stderr)
            used = {} if index == 0 else scaled_services
            ingest, search = run_profile(profile, root / f"p{index}", args, used)
            results.append((profile, ingest, search))
        print(
            f"load average before/after: {load_before:.2f}/{os.getloadavg()[0]:.2f};"
            f" cores: {os.cpu_count()}"
        )
        print(render(results))


def _psql(pg: Service) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))
    return str(found[-1]) if found else "psql"


if __name__ == "__main__":
    main()
