"""The connection caps of `imagerepo.connection_limits`, on uvicorn's protocol with a stand-in
transport: the total cap, and that the per-client cap counts each peer address on its own.
(The same protocol against real sockets: tests/e2e/test_slow_clients.py.)"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from imagerepo.connection_limits import ConnectionLimits, LimitedHttpToolsProtocol, limited_protocol


class FakeTransport(asyncio.Transport):
    def __init__(self, peer: str, port: int) -> None:
        super().__init__()
        self.peer = (peer, port)
        self.written = b""
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": self.peer, "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...


async def app(scope: Any, receive: Any, send: Any) -> None: ...


class Server:
    """uvicorn's shared state and a protocol class with `limits`, as `serve` sets them up."""

    def __init__(self, total: int, per_client: int) -> None:
        limits = ConnectionLimits(
            max_header_bytes=16384,
            max_headers=100,
            header_timeout_seconds=60,
            max_connections=total,
            max_connections_per_client=per_client,
        )
        self.protocol = limited_protocol(limits)
        self.config = Config(app=app, http=self.protocol, lifespan="off", log_level="warning")
        self.config.load()
        self.state = ServerState()
        self.port = 40000

    def connect(self, peer: str) -> tuple[LimitedHttpToolsProtocol, FakeTransport]:
        protocol = self.protocol(
            config=self.config,
            server_state=self.state,
            app_state={},
            _loop=asyncio.get_running_loop(),
        )
        self.port += 1
        transport = FakeTransport(peer, self.port)
        protocol.connection_made(transport)
        return protocol, transport


def refused(transport: FakeTransport) -> bool:
    return transport.closed and transport.written.startswith(b"HTTP/1.1 503 ")


async def test_past_the_total_a_new_connection_gets_503() -> None:
    server = Server(total=3, per_client=10)
    opened = [server.connect(peer) for peer in ["10.0.0.1", "10.0.0.2"] * 2]
    assert [refused(t) for _, t in opened] == [False, False, False, True]
    assert b'"code": "unavailable"' in opened[3][1].written
    for protocol, _ in (opened[0], opened[3]):  # one served and the refused one go
        protocol.connection_lost(None)
    assert not refused(server.connect("10.0.0.9")[1])  # room for one more
    assert refused(server.connect("10.0.0.9")[1])


async def test_the_per_client_cap_counts_each_address_apart() -> None:
    server = Server(total=100, per_client=2)
    opened = [server.connect(peer) for peer in ["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.1"]]
    assert [refused(t) for _, t in opened] == [False, False, False, True]
    opened[3][0].connection_lost(None)  # the refused one was never counted
    opened[0][0].connection_lost(None)
    assert server.protocol.open_by_client == {"10.0.0.1": 1, "10.0.0.2": 1}
    assert not refused(server.connect("10.0.0.1")[1])
    assert refused(server.connect("10.0.0.1")[1])
