"""Which URLs a webhook may be sent to (the SSRF rule), checked when an endpoint is created and again before every
delivery, on the addresses the host resolves to *then* (a name that pointed at a public address at creation may point
at 127.0.0.1 later: DNS rebinding). The delivery connects to the address that was checked, never resolving again.

Refused: anything but http(s); user info in the URL; hosts resolving to loopback, private (RFC 1918, unique local),
link-local, shared (100.64/10), multicast, reserved or unspecified addresses, and the cloud metadata addresses -
unless PROMPTER_WEBHOOK_ALLOWED_HOSTS names the host, or a CIDR containing the address."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# AWS, GCP and Azure (169.254.169.254), AWS over IPv6, Alibaba, Oracle's and ECS's task metadata.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
SHARED = ipaddress.ip_network("100.64.0.0/10")


class UrlRefused(InvalidInput):
    code = "webhook_url_refused"


@dataclass(frozen=True, slots=True)
class Target:
    """A URL as checked: where to connect (`address`) and what to name there (the host, for Host and TLS SNI)."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


def refused_address(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip in METADATA_ADDRESSES
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in SHARED)
    )


class UrlPolicy:
    def __init__(self, allowed: list[str]) -> None:
        self.hosts: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for item in allowed:
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.hosts.add(item.lower().rstrip("."))

    def parse(self, url: str) -> tuple[str, str, int]:
        """(scheme, host, port) of a well-formed http(s) URL; 400 invalid_webhook_url otherwise."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise _invalid(url, "it is not a valid URL") from None
        if parts.scheme not in ("http", "https"):
            raise _invalid(url, "only http:// and https:// URLs can receive webhooks")
        if not parts.hostname:
            raise _invalid(url, "it has no host")
        if parts.username is not None or parts.password is not None:
            raise _invalid(url, "credentials in the URL are not allowed; put a token in the path or query instead")
        return parts.scheme, parts.hostname.lower().rstrip("."), port or (443 if parts.scheme == "https" else 80)

    def allows(self, host: str, ip: IPAddress) -> bool:
        if host in self.hosts or not refused_address(ip):
            return True
        return any(ip in network for network in self.networks if network.version == ip.version)

    async def check(self, url: str) -> Target:
        """Resolve the URL's host and check every address it resolves to; the first one is where to connect."""
        scheme, host, port = self.parse(url)
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                raise UrlRefused(
                    f"The webhook URL's host {host!r} does not resolve ({exc}). Check the name.",
                ) from None
            addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
        for ip in addresses:
            if not self.allows(host, ip):
                raise UrlRefused(
                    f"The webhook URL's host {host!r} resolves to {ip}, a loopback, private, link-local or cloud "
                    "metadata address, which webhooks may not reach. Use a public address, or let an operator allow "
                    "the host or its network in PROMPTER_WEBHOOK_ALLOWED_HOSTS.",
                )
        return Target(url, scheme, host, port, str(addresses[0]))


def _invalid(url: str, why: str) -> InvalidInput:
    return InvalidInput(f"The webhook URL {url[:200]!r} is refused: {why}.", code="invalid_webhook_url")
