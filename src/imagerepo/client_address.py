"""Who the client is: the direct peer, or behind a trusted reverse proxy, whom it names.

The one helper every per-client decision uses (connection limits, request logs, metrics labels
never: those carry no addresses). `X-Forwarded-For` is believed only when the peer is inside
`IMAGEREPO_TRUSTED_PROXIES`; then it is read from the right, skipping further trusted proxies,
and the first address that is not one is the client. Anything left of that was written by the
client itself and proves nothing. A malformed entry stops the walk at the last trusted hop.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from imagerepo.config import IPNetwork


def is_trusted(address: str, trusted: Sequence[IPNetwork]) -> bool:
    if not trusted or not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in trusted)


def client_address(peer: str, forwarded_for: str | None, trusted: Sequence[IPNetwork]) -> str:
    """The client's address for a request from `peer` carrying `forwarded_for` (joined with
    commas if the header came more than once)."""
    if not forwarded_for or not is_trusted(peer, trusted):
        return peer
    client = peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            return client
        client = address
        if not is_trusted(address, trusted):
            return address
    return client
