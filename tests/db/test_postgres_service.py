"""The PostgreSQL that scripts/services/postgres.sh starts answers on its URL (the repositories'
PostgreSQL tests, a later part of issue 10, build on this fixture)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit


def test_the_session_postgres_answers(postgres_url: str) -> None:
    url = urlsplit(postgres_url)
    assert url.scheme == "postgresql+asyncpg" and url.hostname == "127.0.0.1"
    psql = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))[-1]
    answer = subprocess.run(
        [
            str(psql),
            "-h",
            "127.0.0.1",
            "-p",
            str(url.port),
            "-U",
            "postgres",
            "-d",
            url.path.lstrip("/"),
            "-tAc",
            "SELECT current_database(), current_setting('server_version_num')::int >= 150000",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert answer.stdout.strip() == "imagerepo|t"
