"""The client address the throttles count: the TCP peer, or, when that peer is one of
SAMSYN_TRUSTED_PROXIES, the address the proxies recorded in X-Forwarded-For.

DRF's get_ident trusted X-Forwarded-For from anyone unless NUM_PROXIES was set, which lets
every client pick its own throttle key; here the header is read only from trusted peers, and
from the right: each trusted hop vouches for the address to its left, up to the first one
that is not a trusted proxy (anything further left was written by the client).
"""
from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from typing import Any

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def _parse(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:            # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:                          # "192.0.2.1:443"
        text = text.split(":", 1)[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _is_trusted(addr: Address, trusted: tuple[str, ...]) -> bool:
    return any(addr in net for net in _networks(trusted))


def throttle_key(addr: Address) -> str:
    """IPv4: the address; IPv6: its /64 network (one subscriber usually holds a whole /64,
    so counting single IPv6 addresses would let one client take 2**64 keys)."""
    if isinstance(addr, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


def client_address(scope: Mapping[str, Any], trusted: tuple[str, ...]) -> str:
    """The throttle key of the request's client (see the module docstring)."""
    peer = scope.get("client")
    host = str(peer[0]) if peer else ""
    addr = _parse(host)
    if addr is None:  # a unix socket or no peer at all: one shared key
        return host or "unknown"
    if trusted and _is_trusted(addr, trusted):
        hops = [hop for name, value in scope.get("headers", ())
                if name.lower() == b"x-forwarded-for" for hop in value.decode("latin-1").split(",")]
        for hop in reversed(hops):
            found = _parse(hop)
            if found is None:  # garbage: keep the last address a trusted hop vouched for
                break
            addr = found
            if not _is_trusted(found, trusted):
                break
    return throttle_key(addr)
