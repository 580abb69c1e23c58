"""Outbound connections to addresses users give us (web push endpoints) reach the public
internet only: never this machine, the private network, the cloud metadata service, or any other
address that is not globally routable (server-side request forgery).

``is_public`` decides for one address; ``refuse_private_host`` checks a host name when it is
given (what it resolves to now); ``public_only_socket`` is a socket factory for aiohttp's
connector, so the check is made on the very address each connection goes to, after DNS, for IP
literals and redirects too (a name may resolve elsewhere by the time it is used).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# NAT64 (RFC 6052): an IPv4 address carried in the last 32 bits; Python calls it global.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class PrivateAddress(OSError):
    """A connection to (or a name resolving to) an address that is not public."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(address: str | IPAddress) -> bool:
    """Whether ``address`` is a globally routable unicast address (IPv4 or IPv6, including an
    IPv4 address embedded in an IPv6 one)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not is_public(embedded):
            return False
    return not (
        not ip.is_global
        or ip.is_multicast
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_unspecified
    )


async def refuse_private_host(host: str, port: int, *, resolve_seconds: float) -> None:
    """Raise ``PrivateAddress`` when ``host`` is, or now resolves to, any address that is not
    public. A name that does not resolve (in ``resolve_seconds``) passes: it cannot be connected to
    either, and every connection is checked again when it is made."""
    literal = host.strip("[]")
    try:
        ipaddress.ip_address(literal.split("%", 1)[0])
    except ValueError:
        pass
    else:
        if not is_public(literal):
            raise PrivateAddress(f"{host} is not a public address")
        return
    if literal.lower().rstrip(".") == "localhost" or literal.lower().endswith(".localhost"):
        raise PrivateAddress(f"{host} is this machine")
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(resolve_seconds):
            infos = await loop.getaddrinfo(literal, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):
        return
    for _, _, _, _, sockaddr in infos:
        if not is_public(str(sockaddr[0])):
            raise PrivateAddress(f"{host} resolves to an address that is not public")


def public_only_socket(addr_info: tuple[Any, ...]) -> socket.socket:
    """aiohttp ``socket_factory``: a socket for ``addr_info`` only if its address is public."""
    family, type_, proto, _, sockaddr = addr_info
    if not is_public(str(sockaddr[0])):
        raise PrivateAddress(f"refused to connect to {sockaddr[0]}: not a public address")
    return socket.socket(family=family, type=type_, proto=proto)
