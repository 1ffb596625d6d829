"""The client address a source's allow-list is checked against, read through trusted proxies only."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

from bridge.web.addresses import client_address


def test_client_address_reads_ipv4_mapped_peers_and_refuses_garbage() -> None:
    """An IPv4-mapped IPv6 peer is its IPv4 address; an unreadable hop gives no address at all."""
    trusted = [ip_network("10.0.0.0/8")]
    assert client_address("::ffff:203.0.113.5", [], []) == ip_address("203.0.113.5")
    assert client_address("10.0.0.1", ["not-an-ip"], trusted) is None
    assert client_address("10.0.0.1", [], trusted) == ip_address("10.0.0.1")
