"""urllib3 connections that obey the transport: the deadline's watchdog and the peer rule.

A request decided by `policy` may carry a rule about the address it must reach: `loopback`
(credentials over plain HTTP to a loopback registry: Docker decides on the resolved address,
not the name, and so do we) or `public` (inside a ZenML server, a host other than the
registry must not be loopback, link-local or private). The rule is checked against the
address the socket is actually connected to, as soon as it is connected (before a TLS
handshake or a request byte) and again before a kept-alive connection is reused, so a name
that resolves differently the second time (DNS rebinding) cannot slip past it. Requests
through an HTTP proxy are connected to the proxy; the transport checks their host name
instead.

The current exchange (watchdog and rule) travels in a context variable because urllib3 builds
connections deep inside `requests`; it is set only around one `HTTPAdapter.send` call.
SOCKS proxies use their own connection classes and get only urllib3's per-read timeouts.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection

from zenml_docker_connector.registry.deadline import SocketWatchdog
from zenml_docker_connector.registry.outgoing import PeerRule
from zenml_docker_connector.registry.policy import peer_allowed


class PeerRefusedError(Exception):
    """The connected address breaks the request's peer rule (nothing was sent)."""

    def __init__(self, address: str, rule: PeerRule) -> None:
        super().__init__(f"{address} is not a {rule} address")
        self.address = address
        self.rule = rule


@dataclass(frozen=True)
class Exchange:
    """What the connections of one request must know."""

    watchdog: SocketWatchdog
    rule: PeerRule


_current: ContextVar[Exchange | None] = ContextVar("zenml_docker_exchange", default=None)


@contextlib.contextmanager
def exchange(watchdog: SocketWatchdog, rule: PeerRule) -> Iterator[None]:
    """Connections made or reused inside follow `watchdog` and `rule`."""
    token = _current.set(Exchange(watchdog, rule))
    try:
        yield
    finally:
        _current.reset(token)


def host_addresses(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (for hosts reached through a proxy)."""
    found = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in found})


class _Guarded:
    """Mixed into urllib3's connection classes (before them in the MRO)."""

    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        """Connect, check the peer before a byte is sent (TLS included), register the socket."""
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        current = _current.get()
        if current is not None:
            try:
                _check_peer(sock, current.rule)
            except PeerRefusedError:
                sock.close()
                raise
            current.watchdog.track(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        """A kept-alive connection is checked again against this request's rule."""
        current = _current.get()
        if current is not None and self.sock is not None:
            _check_peer(self.sock, current.rule)
        super().request(*args, **kwargs)  # type: ignore[misc]


def _check_peer(sock: socket.socket, rule: PeerRule) -> None:
    if rule == "any":
        return
    address = str(sock.getpeername()[0])
    if not peer_allowed(address, rule):
        raise PeerRefusedError(address, rule)


class _GuardedHTTPConnection(_Guarded, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_Guarded, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


def _install(manager: PoolManager) -> PoolManager:
    manager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}
    return manager


class GuardedAdapter(HTTPAdapter):
    """`requests`' adapter with our connection classes, directly and through HTTP proxies."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _install(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        known = proxy in self.proxy_manager
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not known and not proxy.lower().startswith("socks"):
            _install(manager)
        return manager
