from __future__ import annotations

import ipaddress

from imagerepo.client_address import client_address, is_trusted

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32"))


def test_an_untrusted_peer_is_the_client_whatever_it_claims() -> None:
    assert client_address("203.0.113.9", "198.51.100.1", PROXIES) == "203.0.113.9"
    assert client_address("203.0.113.9", "198.51.100.1", ()) == "203.0.113.9"


def test_a_trusted_proxy_names_the_client_read_from_the_right() -> None:
    assert client_address("127.0.0.1", "198.51.100.1", PROXIES) == "198.51.100.1"
    # the client wrote a fake first entry; the proxies appended what they saw
    assert client_address("127.0.0.1", "6.6.6.6, 198.51.100.1, 10.1.2.3", PROXIES) == (
        "198.51.100.1"
    )
    assert client_address("127.0.0.1", "10.0.0.5, 10.0.0.6", PROXIES) == "10.0.0.5"
    assert client_address("127.0.0.1", "garbage, 10.0.0.6", PROXIES) == "10.0.0.6"
    assert client_address("127.0.0.1", "", PROXIES) == "127.0.0.1"
    assert client_address("127.0.0.1", "2001:db8::1", PROXIES) == "2001:db8::1"


def test_is_trusted() -> None:
    assert is_trusted("10.9.8.7", PROXIES)
    assert not is_trusted("::1", PROXIES)
    assert not is_trusted("", PROXIES)
    assert not is_trusted("not-an-ip", PROXIES)
