"""Two server processes of one host sharing `PROMETHEUS_MULTIPROC_DIR`: `/metrics` from either
answers the host's totals (docs/deploy.md scrapes one of them, or goes through nginx, which picks
either). Without the folder each would count alone and a scrape would see a different process's
counters each time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import LiveServer
from tests.images import make_image

pytestmark = pytest.mark.e2e
ROOT_PASSWORD = "root-password-for-metrics"
METRICS_TOKEN = "metrics-token-for-tests"
LISTING = ("GET", "/api/v1/images", "2xx")


@dataclass
class MeteredServer(LiveServer):
    metrics_dir: Path | None = None

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env.update(
            IMAGEREPO_ROOT_PASSWORD=ROOT_PASSWORD,
            IMAGEREPO_WRITE_CLIENT_LOGIN="false",
            IMAGEREPO_SECRET_KEY="m" * 48,
            IMAGEREPO_METRICS_TOKEN=METRICS_TOKEN,
        )
        if self.metrics_dir is not None:
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir)
        return env

    def samples(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        answer = httpx.get(
            f"{self.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        assert answer.status_code == 200, answer.text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
        }


def listings(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    method, route, status = LISTING
    labels = (("method", method), ("route", route), ("status", status))
    return samples.get(("imagerepo_request_duration_seconds_count", labels), 0.0)


def uploads(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    return samples.get(("imagerepo_uploads_total", (("status", "201"),)), 0.0)


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory,
    module_database_url: str | None,
    module_backend_env: dict[str, str],
) -> Iterator[tuple[MeteredServer, MeteredServer]]:
    home = tmp_path_factory.mktemp("metered")
    shared = home / "metrics"
    shared.mkdir()
    made = [
        MeteredServer(
            home=home,
            database_url=module_database_url,
            backend_env=module_backend_env,
            metrics_dir=shared,
        )
        for _ in range(2)
    ]
    for server in made:  # one after the other: the first makes root
        server.start()
    try:
        yield made[0], made[1]
    finally:
        for server in made:
            server.stop()


def test_either_process_answers_the_sum_of_both(
    pair: tuple[MeteredServer, MeteredServer],
) -> None:
    one, two = pair
    for _ in range(3):
        assert httpx.get(f"{one.url}/api/v1/images").status_code == 200
    for _ in range(2):
        assert httpx.get(f"{two.url}/api/v1/images").status_code == 200
    token = httpx.post(
        f"{two.url}/api/v1/auth/token", data={"username": "root", "password": ROOT_PASSWORD}
    ).json()["access_token"]
    for server, seed in ((one, 1), (two, 2)):
        stored = httpx.post(
            f"{server.url}/api/v1/images",
            files={"file": (f"{seed}.jpg", make_image(seed=seed), "image/jpeg")},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert stored.status_code == 201, stored.text

    seen_by_one, seen_by_two = one.samples(), two.samples()
    assert listings(seen_by_one) == listings(seen_by_two) == 5
    assert uploads(seen_by_one) == uploads(seen_by_two) == 2
    assert ("imagerepo_upload_bytes_total", ()) in seen_by_one


def test_a_missing_folder_is_one_line_before_the_server_starts(tmp_path: Path) -> None:
    server = MeteredServer(home=tmp_path, metrics_dir=tmp_path / "not-made")
    done = server.run("server/server.py")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: PROMETHEUS_MULTIPROC_DIR={tmp_path / 'not-made'} is not a folder this user can"
        " write: create it (empty) before the first server process of this host starts"
    ]
