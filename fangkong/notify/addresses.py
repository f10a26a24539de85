"""Where a channel may post: public addresses only, unless the installation names the
host as an internal gateway (`FANGKONG_NOTIFY_INTERNAL_HOSTS`).

A webhook or gateway address is typed by an administrator. Unchecked, it could point
the server at itself (127.0.0.1 and an admin port), the intranet, or the cloud's
metadata service (169.254.169.254), and the delivery log would even say what answered.
The address is checked when a channel is saved, and again before every send on what
the name resolves to then (DNS can change between the two); the request then goes to
the address that was checked, never to a second lookup of the name.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
# Carrier-grade NAT (RFC 6598): not private in Python's table, not public either.
_SHARED = ipaddress.ip_network("100.64.0.0/10")


class AddressRefused(Exception):
    """The address is not one the server may post to; the message says why."""


class Unresolvable(Exception):
    """The name resolves to no address now (perhaps for a moment)."""


@dataclass(frozen=True)
class Target:
    """Where to send: the URL's parts, and the checked address to connect to."""

    scheme: str
    host: str
    port: int
    path: str  # with the query
    address: str


def _why_not(ip: IP) -> Promise | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA:
        return gettext_lazy("the cloud metadata service")
    if ip.is_unspecified:
        return gettext_lazy("an unspecified address")
    if ip.is_loopback:
        return gettext_lazy("a loopback address (this server itself)")
    if ip.is_link_local:
        return gettext_lazy("a link-local address")
    if ip in _SHARED:
        return gettext_lazy("a carrier-grade NAT address")
    if ip.is_multicast:
        return gettext_lazy("a multicast address")
    if ip.is_reserved:  # before "private": Python's private table includes 240.0.0.0/4
        return gettext_lazy("a reserved address")
    if ip.is_private:
        return gettext_lazy("a private network address")
    if not ip.is_global:
        return gettext_lazy("a reserved address")
    return None


def _internal_names_and_networks() -> tuple[
    set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]
]:
    names: set[str] = set()
    networks = []
    for entry in getattr(settings, "FANGKONG_NOTIFY_INTERNAL_HOSTS", []):
        entry = entry.strip().lower().strip("[]")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return names, networks


def resolve(host: str, port: int) -> list[IP]:
    """Every address the name resolves to now (a literal address is itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Unresolvable(host) from None
    found: list[IP] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in found:
            found.append(ip)
    if not found:
        raise Unresolvable(host)
    return found


def _parts(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
        scheme = ""
    host = (parts.hostname or "").rstrip(".")
    if scheme not in ("http", "https") or not host:
        raise AddressRefused(_("Enter an address starting with http:// or https://."))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or (443 if scheme == "https" else 80), path


def _refusal(host: str, ip: IP, why: Promise) -> str:
    values = {"host": host, "ip": ip, "why": why}
    if host.strip("[]") == str(ip):
        return (
            _(
                "%(host)s is %(why)s: channels post only to public addresses, unless the "
                "installation names the host in FANGKONG_NOTIFY_INTERNAL_HOSTS."
            )
            % values
        )
    return (
        _(
            "%(host)s resolves to %(ip)s, %(why)s: channels post only to public addresses, "
            "unless the installation names the host in FANGKONG_NOTIFY_INTERNAL_HOSTS."
        )
        % values
    )


def target_for(url: str) -> Target:
    """Where to send `url`, after checking every address its host resolves to now.

    Raises AddressRefused when one of them is loopback, private, link-local (the
    metadata service among them), unspecified, carrier-grade NAT, multicast or reserved
    and the host is not named as an internal gateway; Unresolvable when the name
    resolves to nothing.
    """
    scheme, host, port, path = _parts(url)
    names, networks = _internal_names_and_networks()
    addresses = resolve(host, port)
    if host.lower() not in names:
        for ip in addresses:
            why = _why_not(ip)
            if why is not None and not any(ip in network for network in networks):
                raise AddressRefused(_refusal(host, ip, why))
    return Target(scheme, host, port, path, str(addresses[0]))


def check_to_save(url: str) -> None:
    """Refuse an address no send could use (AddressRefused). A name that resolves to
    nothing at the moment is let through: every send checks it again."""
    with contextlib.suppress(Unresolvable):
        target_for(url)
