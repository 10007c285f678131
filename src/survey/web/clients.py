"""Who a request comes from: the one place that says which address a client has, for rate limits and the login
throttle. Plain logic, no web framework.

A forwarding header (X-Forwarded-For) is written by whoever sent the request, so it is believed only when the
address that connected is a proxy named in SURVEY_TRUSTED_PROXIES; then each trusted proxy in the chain vouches
for the entry to its left, and the client is the right-most entry that is not a trusted proxy: the address the
nearest trusted proxy saw. Anything a client puts further left is never read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)


def real_client(peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str:
    """The client's address: `peer` (the address that connected) unless it is a trusted proxy, else the
    right-most address of the X-Forwarded-For values (in the order the headers came) that is not a trusted
    proxy. An entry that is not an address, met before any untrusted one, ends the walk at the last proxy."""
    client = peer or UNKNOWN
    if not trusted or not _trusted(client, trusted):
        return client
    entries = [entry.strip() for value in forwarded_for for entry in value.split(",")]
    for entry in reversed(entries):
        try:
            address = str(ipaddress.ip_address(entry))
        except ValueError:
            return client  # garbage: the proxy that passed it on is the last address anyone vouches for
        if not _trusted(address, trusted):
            return address
        client = address
    return client


def client_address(request, trusted: Sequence[Network]) -> str:
    """The client's address of a web request (anything with `.client.host` and `.headers.getall`)."""
    peer = request.client.host if request.client else None
    return real_client(peer, request.headers.getall("x-forwarded-for", []), trusted)
