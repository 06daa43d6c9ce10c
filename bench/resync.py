"""Re-sync of an unchanged folder: how long `imagerepo upload` takes when there is nothing to send.

The issue's target: 10 000 unchanged files in under 2 s, end to end. This makes N small distinct
PNGs (default 10 000, in 100 folders, cached under bench/out/), starts a real server, uploads them
once, then times the same command again (median of `--repeat` runs) with the digest cache warm,
and once more with `--rehash` (every file read and hashed again) for comparison.

    .venv/bin/python bench/resync.py [--files 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
from pathlib import Path

from ingest import ROOT_PASSWORD, imagerepo_command
from PIL import Image
from procs import ServerProcess, clean_env, free_port, timed_run

OUT = Path(__file__).parent / "out"
TARGET_SECONDS = 2.0


def make_files(count: int) -> Path:
    """`count` distinct 16x16 PNGs; made once per count and kept."""
    root = OUT / f"resync-{count}"
    done = root / ".complete"
    if done.exists():
        return root
    for n in range(count):
        folder = root / f"{n % 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        image = Image.new("RGB", (16, 16), ((n * 7) % 256, (n // 256) % 256, n % 256))
        image.putpixel((n % 16, (n // 16) % 16), (255 - n % 256, 0, 0))
        out = io.BytesIO()
        image.save(out, format="PNG")
        (folder / f"img_{n:05d}.png").write_bytes(out.getvalue())
    done.touch()
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = make_files(args.files)
    with tempfile.TemporaryDirectory(prefix="imagerepo-resync-") as tmp:
        run_dir = Path(tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        isolated = {
            "IMAGEREPO_CONFIG": str(run_dir / "client.json"),
            "IMAGEREPO_CACHE_DIR": str(run_dir / "cache"),
        }
        server_env = clean_env(
            {
                **isolated,
                "IMAGEREPO_DATA_DIR": str(run_dir / "data"),
                "IMAGEREPO_PORT": str(port),
                "IMAGEREPO_ROOT_PASSWORD": ROOT_PASSWORD,
            }
        )
        client_env = clean_env(
            {
                **isolated,
                "IMAGEREPO_URL": url,
                "IMAGEREPO_USER": "root",
                "IMAGEREPO_PASSWORD": ROOT_PASSWORD,
            }
        )
        upload = [*imagerepo_command(), "upload", "--dir", str(folder), "--quiet"]
        server = ServerProcess(
            "imagerepo serve", [*imagerepo_command(), "serve"], server_env,
            run_dir / "server.log", f"{url}/healthz",
        )  # fmt: skip
        with server.start():
            first = timed_run(upload, client_env)
            if first.returncode != 0:
                raise SystemExit(f"first upload failed:\n{first.stdout[-2000:]}{first.stderr}")
            warm = [timed_run(upload, client_env) for _ in range(args.repeat)]
            rehash = timed_run([*upload, "--rehash"], client_env)
    summary = warm[-1].stdout.strip().splitlines()[-2:]
    median = statistics.median(r.seconds for r in warm)
    print(f"{args.files} files in {folder}")
    print(f"first upload:              {first.seconds:7.2f} s")
    print(
        f"re-sync, digest cache warm: {median:6.2f} s (median of {len(warm)}: "
        f"{', '.join(f'{r.seconds:.2f}' for r in warm)})"
    )
    print(f"re-sync with --rehash:      {rehash.seconds:6.2f} s")
    print(f"the client said: {' / '.join(summary)}")
    verdict = "met" if median < TARGET_SECONDS else "NOT met"
    print(f"target: under {TARGET_SECONDS:.0f} s for the warm re-sync -> {verdict}")


if __name__ == "__main__":
    main()
