"""Limits uvicorn's HTTP/1.1 protocol lacks: request-head size and field count, a deadline for the
head, and open connections per client.

An ASGI app is only called once a request's head is complete, so these live in the protocol: a
subclass of uvicorn's `HttpToolsProtocol` (httptools served 1.3-1.8x the requests per second of
h11 here; `bench/http_parsers.py`). uvicorn keeps the limits it has: `timeout_keep_alive` closes
a connection idle between requests and `limit_concurrency` answers 503 past N connections or
running requests (both set in `imagerepo.serve`).

    accepted ── over max_connections, or max_connections_per_client from this address → 503, close
       │  head deadline starts (header_timeout)
       ▼
    head arriving ── over max_header_bytes, or more than max_headers fields → 431, close
       │          └─ deadline passes → 408 (just closed if not a byte came), close
       ▼  head complete: deadline off; the app runs (its body limits: `imagerepo.api.limits`)
    response sent ── idle: uvicorn's keep-alive timer ── next head's first byte: deadline again

The head is counted twice: per chunk as it arrives (bounding what httptools buffers for a head
that never ends) and per field as it is parsed (exact, for a head that comes in one chunk).
Refusals carry the one JSON error body. The client is the direct peer; a peer inside
`IMAGEREPO_TRUSTED_PROXIES` carries many clients' requests on its connections, so it is not held
to `max_connections_per_client` (limit per client at the proxy; the total cap still applies).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from imagerepo.client_address import is_trusted
from imagerepo.config import IPNetwork, Settings

log = logging.getLogger("imagerepo.connections")

HEADER_LINE_OVERHEAD = len(b": \r\n")


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_header_bytes: int
    max_headers: int
    header_timeout_seconds: float
    max_connections: int
    max_connections_per_client: int
    trusted_proxies: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
            header_timeout_seconds=settings.header_timeout_seconds,
            max_connections=settings.max_connections,
            max_connections_per_client=settings.max_connections_per_client,
            trusted_proxies=settings.trusted_networks,
        )


class _HeadRefused(Exception):
    """Raised from a parser callback; httptools hands it back as the context of its own error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def limited_protocol(limits: ConnectionLimits) -> type[LimitedHttpToolsProtocol]:
    """A protocol class for `uvicorn.Config(http=...)` with `limits` and its own count of open
    connections per client (one per server)."""
    configured = limits

    class Configured(LimitedHttpToolsProtocol):
        limits = configured
        open_by_client: ClassVar[Counter[str]] = Counter()

    return Configured


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    limits: ClassVar[ConnectionLimits]
    open_by_client: ClassVar[Counter[str]]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._peer: str | None = None  # set while counted in `open_by_client`
        self._deadline: asyncio.TimerHandle | None = None
        self._reading_head = True  # from connect, and after each request, to a complete head
        self._head_started = False  # a byte of the current head has been parsed
        self._head_chunk_bytes = 0  # bytes of whole chunks that ended inside the head
        self._head_bytes = 0  # bytes of the parsed request target and header fields
        self._head_fields = 0
        self._heads_completed = 0

    # -- connections --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = self.client[0] if self.client else ""
        if len(self.connections) > self.limits.max_connections:
            self._refuse_connection("the server has too many open connections")
            return
        if self.open_by_client[peer] >= self.limits.max_connections_per_client and not is_trusted(
            peer, self.limits.trusted_proxies
        ):
            self._refuse_connection("too many open connections from your address")
            return
        self.open_by_client[peer] += 1
        self._peer = peer
        self._start_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadline()
        if self._peer is not None:
            self.open_by_client[self._peer] -= 1
            if self.open_by_client[self._peer] <= 0:
                del self.open_by_client[self._peer]
            self._peer = None
        super().connection_lost(exc)

    # -- the request head ---------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        # uvicorn's own, plus: a refused head gets its own answer, and chunks are counted.
        if self.transport.is_closing():
            return  # refused or timed out: what still arrives is not parsed
        self._unset_keepalive_if_required()
        in_head, heads_completed = self._reading_head, self._heads_completed
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _HeadRefused):
                self._refuse_head(exc.__context__)
            else:
                self._invalid_request()
            return
        except httptools.HttpParserError:
            self._invalid_request()
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        # The whole chunk was head only if a head was being read before it and no head was
        # completed in it (a chunk may hold a whole request and the start of the next).
        if in_head and self._heads_completed == heads_completed and not self.transport.is_closing():
            self._head_chunk_bytes += len(data)
            if self._head_chunk_bytes > self.limits.max_header_bytes:
                self._refuse_head(self._head_too_large())

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True
        self._head_bytes = self._head_fields = 0
        self._start_deadline()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_fields += 1
        if self._head_fields > self.limits.max_headers:
            raise _HeadRefused(
                431,
                "headers_too_large",
                f"a request may have at most {self.limits.max_headers} header fields",
            )
        self._count_head(len(name) + len(value) + HEADER_LINE_OVERHEAD)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._stop_deadline()
        self._reading_head = self._head_started = False
        self._heads_completed += 1
        self._head_chunk_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_head = True

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.limits.max_header_bytes:
            raise self._head_too_large()

    def _head_too_large(self) -> _HeadRefused:
        return _HeadRefused(
            431,
            "headers_too_large",
            f"the request line and headers may take at most {self.limits.max_header_bytes} bytes",
        )

    # -- the head deadline --------------------------------------------------------------------

    def _start_deadline(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(
                self.limits.header_timeout_seconds, self._deadline_passed
            )

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._head_started:
            self._refuse_head(
                _HeadRefused(408, "request_timeout", "the request head arrived too slowly")
            )
        else:
            self.transport.close()  # connected and said nothing: nobody to answer

    # -- answers ------------------------------------------------------------------------------

    def _refuse_connection(self, message: str) -> None:
        log.info("%s: 503 %s", self._peer_name(), message)
        self._refuse(503, "unavailable", message)

    def _refuse_head(self, refused: _HeadRefused) -> None:
        log.info("%s: %d %s", self._peer_name(), refused.status, refused.message)
        self._refuse(refused.status, refused.code, refused.message)

    def _invalid_request(self) -> None:
        self.logger.warning("Invalid HTTP request received.")
        self.send_400_response("Invalid HTTP request received.")

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer with the JSON error body (unless a response is under way) and close."""
        self._stop_deadline()
        if self.cycle is None or self.cycle.response_complete:
            body = json.dumps({"error": {"code": code, "message": message}}).encode()
            head = [STATUS_LINE[status]]
            for name, value in self.server_state.default_headers:
                head += [name, b": ", value, b"\r\n"]
            head += [
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(body),
                b"connection: close\r\n\r\n",
            ]
            self.transport.write(b"".join([*head, body]))
        self.transport.close()

    def _peer_name(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "unix socket"
