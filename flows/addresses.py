"""Where the fetcher may connect: every address is checked at the moment it is dialled.

A feed or page URL comes from the internet, so its host may name the user's own machine or network
(``localhost``, ``10.0.0.5``, ``169.254.169.254``, ``http://2130706433/``), or a DNS name whose
answer changes between a check and the connection (DNS rebinding). The fetcher's network backend
therefore resolves each host once, with one resolver, checks every address it got, and dials only
those checked addresses; TLS still uses the host name (SNI and certificate), and the Host header is
the URL's. Redirects open new connections, so they go through the same check.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Iterable
from functools import cache

import httpcore
import httpx

# host, port -> the addresses it resolves to (IPv4 or IPv6 text). A plain function, so that tests can
# give a different answer on each lookup without touching the socket module.
Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv6 that a NAT64 gateway turns into the IPv4 in its last 32 bits
_LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)  # 2130706433, 0x7f.1, 017700000001, 127.1


class AddressRefused(Exception):
    """The host is, or resolves to, an address silkwatch does not connect to."""


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer (getaddrinfo), in its order, without repeats."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def literal_address(host: str) -> IPAddress | None:
    """The address a host spelled as an IP literal means, in any spelling the C library accepts
    (``127.0.0.1``, ``::ffff:127.0.0.1``, ``2130706433``, ``0x7f.1``, ``017700000001``)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if ip.version != 6:
        return None
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    """False for loopback, private, link-local (169.254.169.254 included), multicast, reserved and
    unspecified addresses, also when an IPv6 address carries one of them inside (::ffff:127.0.0.1)."""
    return all(
        candidate.is_global and not candidate.is_multicast and not candidate.is_reserved
        for candidate in (ip, _embedded_ipv4(ip))
        if candidate is not None
    )


def _refusal(host: str, what: str) -> AddressRefused:
    return AddressRefused(
        f"refused: {host} is {what}, not a public address "
        "(set [fetch] allow_private_networks = true to allow local and private networks)"
    )


def checked_addresses(
    host: str, port: int, resolver: Resolver, allow_private: bool, allowed: tuple[IPNetwork, ...] = ()
) -> list[str]:
    """The addresses to dial for ``host``: resolved once; refused when any of them is not public
    (unless ``allow_private``, or it lies in one of the ``allowed`` networks)."""
    literal = literal_address(host)
    name = host.rstrip(".").lower()
    if literal is not None:
        addresses = [str(literal)]
    elif not (allow_private or allowed) and (name == "localhost" or name.endswith(".localhost")):
        raise _refusal(host, "a loopback name")  # RFC 6761: always this machine, whatever DNS says
    else:
        addresses = resolver(host, port)
    if not addresses:
        raise httpcore.ConnectError(f"cannot resolve {host}: no address")
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not is_public(ip) and not any(ip in network for network in allowed):
                raise _refusal(host, address)
    return addresses


def allowed_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """``[fetch] allowed_private_addresses``: addresses or CIDR networks (``192.168.1.20``, ``10.8.0.0/16``)."""
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


StreamWrapper = Callable[[httpcore.NetworkStream], httpcore.NetworkStream]


class PinnedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, dialling only the addresses checked for the host it is given;
    each connection is handed over through ``wrap`` (the fetcher's reads that a stop can end)."""

    def __init__(
        self, resolver: Resolver, allow_private: bool, allowed: Iterable[str] = (), wrap: StreamWrapper = lambda s: s
    ):
        self._resolver, self._allow_private, self._allowed = resolver, allow_private, allowed_networks(allowed)
        self._wrap = wrap

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.NetworkStream:
        failure: httpcore.ConnectError | None = None
        for address in checked_addresses(host, port, self._resolver, self._allow_private, self._allowed):
            try:
                return self._wrap(super().connect_tcp(address, port, timeout, local_address, socket_options))
            except httpcore.ConnectError as exc:  # the next address, as getaddrinfo users do
                failure = exc
        raise failure or httpcore.ConnectError(f"cannot connect to {host}")


class PinnedTransport(httpx.HTTPTransport):
    """httpx's own transport (TLS, keep-alive, limits), over ``PinnedBackend``. httpx 0.28 takes no
    network backend argument; its ``__init__`` only builds the connection pool, so this builds it."""

    def __init__(
        self, resolver: Resolver, allow_private: bool, allowed: Iterable[str], limits: httpx.Limits,
        wrap: StreamWrapper = lambda s: s,
    ):  # fmt: skip
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(resolver, allow_private, allowed, wrap),
        )


@cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying context (certifi's CAs) for every client: loading the CAs costs ~20 ms each time."""
    return httpx.create_ssl_context(trust_env=False)
