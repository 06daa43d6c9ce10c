"""`imagerepo migrate` and `imagerepo check-config`, run as a newcomer would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.services import free_port


def run(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IMAGEREPO_")}
    return subprocess.run(
        [sys.executable, "-m", "imagerepo", *argv],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_migrate_then_check_config(tmp_path: Path) -> None:
    data = str(tmp_path / "lib")
    first = run("migrate", "--data-dir", data)
    assert first.returncode == 0, first.stderr
    assert "migrated from an empty database to revision" in first.stdout
    assert "already at revision" in run("migrate", "--data-dir", data).stdout

    good = run("check-config", "--data-dir", data)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.splitlines() == [
        f"database: ok (sqlite+aiosqlite:///{data}/imagerepo.db)",
        f"storage: ok (file://{data})",
        "cache: ok (in-process)",
    ]


def test_check_config_names_each_problem_on_one_line(tmp_path: Path) -> None:
    port = free_port()
    bad = run(
        "check-config",
        "--data-dir",
        str(tmp_path),
        IMAGEREPO_CACHE_URL=f"redis://:hunter2@127.0.0.1:{port}/0",
        IMAGEREPO_STORAGE_URL="file:///proc/nowhere",
    )
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    assert lines[0].startswith("database: ok")
    assert lines[1].startswith("storage: FAILED (file:///proc/nowhere): ")
    assert lines[2].startswith(f"cache: FAILED (redis://:***@127.0.0.1:{port}/0): ")
    assert "hunter2" not in bad.stdout + bad.stderr
    invalid = run("check-config", IMAGEREPO_TRUSTED_PROXIES="10.0.0.0/8,nope")
    assert invalid.returncode == 1
    assert "trusted_proxies" in invalid.stderr and "nope" in invalid.stderr
