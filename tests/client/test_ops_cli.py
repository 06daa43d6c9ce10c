"""`imagerepo migrate` and `imagerepo check-config`, run as the server's operator would."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from imagerepo.cli import app
from tests.services import free_port


def run(*argv: str) -> Result:
    return CliRunner().invoke(app, list(argv))


def test_migrate_then_check_config(tmp_path: Path) -> None:
    data = str(tmp_path / "lib")
    first = run("migrate", "--data-dir", data)
    assert first.exit_code == 0, first.output
    assert "migrated from an empty database to revision" in first.output
    assert "already at revision" in run("migrate", "--data-dir", data).output

    good = run("check-config", "--data-dir", data)
    assert good.exit_code == 0, good.output
    assert good.output.splitlines() == [
        f"database: ok (sqlite+aiosqlite:///{data}/imagerepo.db)",
        f"storage: ok (file://{data})",
        "cache: ok (in-process)",
        "queue: ok (in-process)",
    ]


def test_check_config_names_each_problem_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("IMAGEREPO_CACHE_URL", f"redis://:hunter2@127.0.0.1:{port}/0")
    monkeypatch.setenv("IMAGEREPO_STORAGE_URL", "file:///proc/nowhere")
    bad = run("check-config", "--data-dir", str(tmp_path))
    assert bad.exit_code == 1
    lines = bad.output.splitlines()
    assert lines[0].startswith("database: ok")
    assert lines[1].startswith("storage: FAILED (file:///proc/nowhere): ")
    assert lines[2].startswith(f"cache: FAILED (redis://:***@127.0.0.1:{port}/0): ")
    assert "hunter2" not in bad.output
    monkeypatch.setenv("IMAGEREPO_TRUSTED_PROXIES", "10.0.0.0/8,nope")
    invalid = run("check-config", "--data-dir", str(tmp_path))
    assert invalid.exit_code == 1
    assert "trusted_proxies" in invalid.output and "nope" in invalid.output


def test_check_config_checks_the_shared_metrics_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = str(tmp_path / "lib")
    assert run("migrate", "--data-dir", data).exit_code == 0
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    missing = run("check-config", "--data-dir", data)
    assert missing.exit_code == 1
    assert missing.output.splitlines() == [
        f"metrics: FAILED: PROMETHEUS_MULTIPROC_DIR={tmp_path / 'metrics'} is not a folder this"
        " user can write: create it (empty) before the first server process of this host starts"
    ]
    (tmp_path / "metrics").mkdir()
    made = run("check-config", "--data-dir", data)
    assert made.exit_code == 0, made.output
    assert made.output.splitlines()[-1] == (
        f"metrics: ok (every process of this host sums into {tmp_path / 'metrics'})"
    )
