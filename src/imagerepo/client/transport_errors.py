"""httpx's errors, translated where they enter: one `TransportError` a user can act on.

httpx.ConnectError / ConnectTimeout  → kind "connect"  "cannot reach the server at …: why"
httpx.TimeoutException (other)       → kind "timeout"  "the server at … did not answer in time"
httpx.UnsupportedProtocol            → kind "url"      "… is not an http:// or https:// URL"
anything else                        → kind "network"  "lost the connection to the server …"
"""

from __future__ import annotations

import socket

import httpx

from imagerepo.errors import TransportError

# httpx errors after which the same request may well succeed: the network, not the request.
TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def transport_error(exc: httpx.HTTPError, where: str) -> TransportError:
    """The `TransportError` for `exc` raised while talking to the server at `where`."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
        reason = "connection timed out" if isinstance(exc, httpx.ConnectTimeout) else None
        return TransportError(
            f"cannot reach the server at {where}: {reason or connect_reason(exc)}"
            " — is `imagerepo serve` running?",
            kind="connect",
        )
    if isinstance(exc, httpx.TimeoutException):
        return TransportError(
            f"the server at {where} did not answer in time ({type(exc).__name__})",
            kind="timeout",
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return TransportError(f"{where} is not an http:// or https:// URL", kind="url")
    detail = str(exc) or type(exc).__name__
    return TransportError(f"lost the connection to the server at {where}: {detail}", kind="network")


def connect_reason(exc: BaseException) -> str:
    """The most telling cause in the chain (httpx hides 'refused' behind 'All attempts failed')."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "unknown host name"
        cause = cause.__cause__ or cause.__context__
    return str(exc) or "connection failed"
