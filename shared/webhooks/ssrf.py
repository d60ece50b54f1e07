"""The SSRF guard: webhook targets must resolve only to public addresses (unless a setting allows private).

A delivery connects to the very address that was checked (`pinned`): the URL's host is replaced by that
address, with the `Host` header and the TLS server name (SNI, certificate check) kept as the name, so a DNS
answer that changes between the check and the connection (rebinding) cannot reach an internal address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

from shared.errors import invalid

_BLOCKED_NAMES = {"localhost", "metadata.google.internal", "metadata"}
# IPv6 ranges that embed (or translate to) an IPv4 address: 6to4, Teredo, NAT64 (well-known and local-use),
# IPv4-compatible and IPv4-translated (SIIT). A webhook has no business there; refusing them keeps internal
# IPv4 addresses from hiding behind them.
_EMBEDDED_IPV4 = tuple(
    ipaddress.ip_network(net)
    for net in ("2002::/16", "2001::/32", "64:ff9b::/96", "64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96")
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif any(ip in network for network in _EMBEDDED_IPV4):
            return False
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local  # includes 169.254.169.254, the cloud metadata address
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT)
    )


@dataclass(frozen=True)
class PinnedTarget:
    """Where to send a delivery: the URL (its host the checked address), and the headers/extensions keeping the name."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def _parts(url: str) -> tuple[SplitResult, str, int]:
    """The URL's parts, lower-case host and port; 422 for anything but a well-formed http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        port = parts.port  # a port out of 0..65535 raises ValueError here
    except ValueError as exc:
        raise invalid("url", f"is not a valid URL ({exc})", "bad_url") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid("url", "must be an http or https URL with a host", "bad_url")
    if parts.username or parts.password:
        raise invalid("url", "must not carry credentials", "bad_url")
    default = 443 if parts.scheme == "https" else 80
    return parts, parts.hostname.lower().rstrip("."), port or default


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (a seam for tests)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(sockaddr[0]) for *_, sockaddr in infos]


async def _public_address(host: str, port: int) -> str:
    """The first address of `host`, after checking that every address it resolves to is public; else 422."""
    if host in _BLOCKED_NAMES:
        raise invalid("url", f"{host} is not a public address", "private_address")
    try:
        addresses = await resolve(host, port)
    except (OSError, UnicodeError, ValueError) as exc:
        raise invalid("url", f"{host} does not resolve", "unresolvable") from exc
    for address in addresses:
        if not _public(address):
            raise invalid("url", f"{host} resolves to a non-public address ({address})", "private_address")
    if not addresses:
        raise invalid("url", f"{host} does not resolve", "unresolvable")
    return addresses[0].split("%", 1)[0]


async def check_target(url: str, *, allow_private: bool) -> None:
    """422 unless `url` is http(s) and every address its host resolves to is public (or private is allowed)."""
    await pinned(url, allow_private=allow_private)


async def pinned(url: str, *, allow_private: bool) -> PinnedTarget:
    """`check_target`, and the target to connect to: the checked address, with the name kept for Host and TLS."""
    parts, host, port = _parts(url)
    if allow_private:
        return PinnedTarget(url=url)
    address = await _public_address(host, port)
    shown = f"[{address}]" if ":" in address else address
    netloc = f"{shown}:{parts.port}" if parts.port else shown
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    host_header = f"{host}:{parts.port}" if parts.port else host
    return PinnedTarget(
        url=parts._replace(netloc=netloc).geturl(), headers={"Host": host_header}, extensions=extensions
    )
