"""Who sent a request: the peer, or the client a trusted proxy forwarded it for."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address

from bridge.config.settings import Network

Address = IPv4Address | IPv6Address


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted_proxies: Sequence[Network]
) -> Address | None:
    """Return the client's address; None when an address on the way cannot be read.

    X-Forwarded-For is read right to left and only while each hop is a
    trusted proxy: the first address that is not one is the client. An
    entry the client wrote itself sits to the left of that and is never
    believed. Without trusted proxies the peer is the client.
    """
    hops = [peer or ""]
    if trusted_proxies:
        entries = [entry.strip() for value in forwarded_for for entry in value.split(",")]
        hops += reversed(entries)
    address = None
    for hop in hops:
        address = _parsed(hop)
        if address is None or not any(address in network for network in trusted_proxies):
            return address
    return address


def _parsed(text: str) -> Address | None:
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address
