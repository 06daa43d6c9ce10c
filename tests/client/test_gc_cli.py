"""`imagerepo gc`: one collector pass on the server's data folder."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from typer.testing import CliRunner

from imagerepo.cli import app


def test_gc_removes_an_old_orphan_and_keeps_a_young_one(tmp_path: Path) -> None:
    data = tmp_path / "lib"
    assert CliRunner().invoke(app, ["migrate", "--data-dir", str(data)]).exit_code == 0
    keys = []
    for content, age in ((b"old orphan", 2 * 3600), (b"young orphan", 0)):
        key = hashlib.sha256(content).hexdigest()
        path = data / "blobs" / key[:2] / key[2:4] / key
        path.parent.mkdir(parents=True)
        path.write_bytes(content)
        then = time.time() - age
        os.utime(path, (then, then))
        keys.append(path)
    done = CliRunner().invoke(app, ["gc", "--data-dir", str(data)])
    assert done.exit_code == 0, done.output
    assert "removed 0 unreferenced, 1 orphaned" in done.output
    assert not keys[0].exists() and keys[1].exists()
