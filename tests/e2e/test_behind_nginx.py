"""Behind a real nginx: the client address comes from X-Forwarded-For only via a trusted proxy,
and every log line of a request (JSON here) carries its request id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.conftest import LiveServer
from tests.services import NginxFactory

pytestmark = pytest.mark.e2e
CLIENT_IP = "127.0.0.3"  # where the test's requests come from; nginx reaches the server as .1


@dataclass
class ProxiedServer(LiveServer):
    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env.update(
            IMAGEREPO_TRUSTED_PROXIES="127.0.0.1/32",
            IMAGEREPO_LOG_FORMAT="json",
            IMAGEREPO_LOG_LEVEL="info",
            IMAGEREPO_WRITE_CLIENT_LOGIN="false",
        )
        return env

    def log_lines(self, request_id: str) -> list[dict[str, object]]:
        lines = (self.home / "server.log").read_text().splitlines()
        found = [json.loads(line) for line in lines if line.startswith("{")]
        return [entry for entry in found if entry.get("request_id") == request_id]


@pytest.fixture(scope="module")
def proxied(
    tmp_path_factory: pytest.TempPathFactory,
    nginx_proxy: NginxFactory,
    module_database_url: str | None,
    module_backend_env: dict[str, str],
) -> Iterator[tuple[ProxiedServer, str]]:
    server = ProxiedServer(  # on the scaled profile: docs/deploy.md's layout, one API worker
        home=tmp_path_factory.mktemp("proxied"),
        database_url=module_database_url,
        backend_env=module_backend_env,
    )
    server.start()
    try:
        yield server, nginx_proxy(server.url)
    finally:
        server.stop()


def access_client(server: ProxiedServer, request_id: str) -> str:
    entries = server.log_lines(request_id)
    access = [e for e in entries if e["logger"] == "uvicorn.access"]
    assert access, entries
    return str(access[0]["message"]).split(" - ")[0].rsplit(":", 1)[0]


def test_the_proxy_names_the_client_and_a_spoofed_header_is_ignored(
    proxied: tuple[ProxiedServer, str],
) -> None:
    server, proxy_url = proxied
    transport = httpx.HTTPTransport(local_address=CLIENT_IP)
    spoof = {"X-Forwarded-For": "6.6.6.6"}
    with httpx.Client(transport=transport) as client:
        via_proxy = client.get(f"{proxy_url}/healthz", headers={**spoof, "X-Request-ID": "via-1"})
        direct = client.get(f"{server.url}/healthz", headers={**spoof, "X-Request-ID": "direct-1"})
    assert via_proxy.status_code == direct.status_code == 200
    assert via_proxy.headers["x-request-id"] == "via-1"
    # nginx appended the address it saw; the spoofed entry left of it is the client's own claim
    assert access_client(server, "via-1") == CLIENT_IP
    # straight to the server the peer is not a trusted proxy: its header is ignored
    assert access_client(server, "direct-1") == CLIENT_IP
