"""httptools or h11 under uvicorn: requests per second for ordinary traffic, to choose which
HTTP/1.1 protocol `imagerepo.connection_limits` extends.

Starts the app (from `--src`, default this checkout) under uvicorn with each parser in turn, and
with httptools plus imagerepo's limits on connections and heads ("limited", what `serve` runs),
alternating `--rounds` times. Drives each from this process with `--connections` keep-alive
connections for `--seconds`: GET /healthz (the framework alone) and GET /api/v1/users/me with a
token (a dependency, a JWT check, a cached user). Prints the median of the rounds.

    .venv/bin/python bench/http_parsers.py [--rounds 3] [--seconds 5] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from procs import ServerProcess, clean_env, free_port

ROOT_PASSWORD = "bench-root-password-not-a-secret"  # noqa: S105 - a throwaway server's
LAUNCH = """
import sys, uvicorn
from imagerepo.app import create_app
from imagerepo.config import Settings
settings = Settings()
http = sys.argv[1]
if http == "limited":
    from imagerepo.connection_limits import ConnectionLimits, limited_protocol
    http = limited_protocol(ConnectionLimits.of(settings))
uvicorn.run(create_app(settings), host="127.0.0.1", port=settings.port, http=http,
            log_level="warning", access_log=False)
"""


async def keep_alive_load(port: int, request: bytes, seconds: float, connections: int) -> float:
    """Requests per second over `connections` keep-alive connections, one request at a time each."""
    done = 0
    until = time.perf_counter() + seconds

    async def one() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < until:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            done += 1
        writer.close()

    await asyncio.gather(*(one() for _ in range(connections)))
    return done / seconds


def measure(src: Path, parser: str, args: argparse.Namespace) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="imagerepo-parsers-") as tmp:
        port = free_port()
        env = clean_env(
            {
                "PYTHONPATH": str(src.resolve()),
                "IMAGEREPO_PORT": str(port),
                "IMAGEREPO_DATA_DIR": str(Path(tmp) / "data"),
                "IMAGEREPO_ROOT_PASSWORD": ROOT_PASSWORD,
                "IMAGEREPO_WRITE_CLIENT_LOGIN": "false",
            }
        )
        url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-c", LAUNCH, parser]
        with ServerProcess(parser, command, env, Path(tmp) / "log", f"{url}/healthz").start():
            token = httpx.post(
                f"{url}/api/v1/auth/token",
                data={"username": "root", "password": ROOT_PASSWORD},
                timeout=60,
            ).json()["access_token"]
            common = b"Host: 127.0.0.1\r\nUser-Agent: bench\r\nAccept: */*\r\n"
            health = b"GET /healthz HTTP/1.1\r\n" + common + b"\r\n"
            me = (
                b"GET /api/v1/users/me HTTP/1.1\r\n"
                + common
                + b"Authorization: Bearer %s\r\n\r\n" % token.encode()
            )
            return (
                asyncio.run(keep_alive_load(port, health, args.seconds, args.connections)),
                asyncio.run(keep_alive_load(port, me, args.seconds, args.connections)),
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--src", type=Path, default=Path(__file__).parents[1] / "src")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    # "limited": httptools with imagerepo's limits on connections and heads (what `serve` runs)
    results: dict[str, list[tuple[float, float]]] = {"httptools": [], "h11": [], "limited": []}
    for _ in range(args.rounds):
        for name in results:
            results[name].append(measure(args.src, name, args))
    for name, rounds in results.items():
        health = statistics.median(r[0] for r in rounds)
        me = statistics.median(r[1] for r in rounds)
        print(f"{name:9}  /healthz {health:6.0f} req/s   /users/me {me:6.0f} req/s")


if __name__ == "__main__":
    main()
