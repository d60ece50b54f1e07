"""The SSRF guard: webhook targets must resolve only to public addresses (unless a setting allows private)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from shared.errors import invalid

_BLOCKED_NAMES = {"localhost", "metadata.google.internal", "metadata"}


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local  # includes 169.254.169.254, the cloud metadata address
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"))
    )


async def check_target(url: str, *, allow_private: bool) -> None:
    """422 unless `url` is http(s) and every address its host resolves to is public (or private is allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid("url", "must be an http or https URL with a host", "bad_url")
    if parts.username or parts.password:
        raise invalid("url", "must not carry credentials", "bad_url")
    if allow_private:
        return
    host = parts.hostname.lower().rstrip(".")
    if host in _BLOCKED_NAMES:
        raise invalid("url", f"{host} is not a public address", "private_address")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise invalid("url", f"{host} does not resolve", "unresolvable") from exc
    for *_, sockaddr in infos:
        if not _public(str(sockaddr[0])):
            raise invalid("url", f"{host} resolves to a non-public address ({sockaddr[0]})", "private_address")
