"""Round trips of a client, counted on loopback: TCP handshakes + TLS handshakes + requests.

`CountingProxy` stands on its own loopback address and port in front of a real service and
passes bytes through untouched (TLS stays end to end), counting each accepted connection (one
TCP handshake) and each connection whose first bytes are a TLS ClientHello (one TLS
handshake); it reads the version the server chose from its ServerHello, because only TLS 1.3
costs one round trip per handshake (1.2 costs two). HTTP requests come from the registry's
access log and the token server's own log. This is what benchmarks/roundtrips.py counts
behind a delayed link, without the delay: the numbers, not the time.

`tls_round_trip_beds` (session-scoped): a Basic registry over TLS and a token registry over
TLS whose token service is HTTPS on its own address (`TOKEN_HOST`), each behind a proxy; the
token registry's realm names the token host's proxy. The client is trusted the way a user
does it, through `$XDG_CONFIG_HOME/docker/certs.d/<host:port>/ca.crt` for each host as the
client sees it (`RoundTripBeds.trust_in` writes them into a test's own XDG_CONFIG_HOME).
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from testbed.factory import Testbed
from testbed.net import LOOPBACK
from testbed.registry import Registry, RegistryStartError
from testbed.relay import Flow, Relay
from testbed.requirements import require_service
from testbed.token_server import TokenServer

TOKEN_HOST = "127.0.0.2"
"""The token service's own loopback address, as a real token host has its own name."""
MINIMUM = {"basic": 4, "token": 7}
"""Round trips of one cold check: Basic 1 TCP + 1 TLS + 2 requests; token with a separate
token host 2 TCP + 2 TLS + 3 requests (the ping, the token, the authenticated ping)."""
TLS_1_3 = "TLSv1.3"


def _client_hello(chunk: bytes) -> bool:
    """A TLS handshake record (0x16, version 3.x) holding a ClientHello (type 1)."""
    return len(chunk) >= 6 and chunk[0] == 0x16 and chunk[1] == 0x03 and chunk[5] == 0x01


def _server_version(chunk: bytes) -> str:
    """The version a ServerHello chose: its `supported_versions` extension (TLS 1.3) or
    the legacy field; "unknown" when the first bytes are not a whole ServerHello."""
    if len(chunk) < 44 or chunk[0] != 0x16 or chunk[5] != 0x02:
        return "unknown"
    legacy = chunk[9:11]
    position = 43 + 1 + chunk[43] + 2 + 1  # session id, cipher suite, compression
    end = min(len(chunk), position + 2 + int.from_bytes(chunk[position : position + 2], "big"))
    position += 2
    while position + 4 <= end:
        kind = int.from_bytes(chunk[position : position + 2], "big")
        size = int.from_bytes(chunk[position + 2 : position + 4], "big")
        if kind == 0x002B and size == 2:
            legacy = chunk[position + 4 : position + 6]
        position += 4 + size
    return {b"\x03\x04": TLS_1_3, b"\x03\x03": "TLSv1.2"}.get(bytes(legacy), legacy.hex())


@dataclass(frozen=True)
class Handshakes:
    """What a proxy saw: TCP connections, TLS ClientHellos, the versions servers chose."""

    tcp: int = 0
    tls: int = 0
    versions: tuple[str, ...] = ()

    def __sub__(self, other: Handshakes) -> Handshakes:
        return Handshakes(
            self.tcp - other.tcp, self.tls - other.tls, self.versions[len(other.versions) :]
        )


class _CountingFlow(Flow):
    """Reads a connection's first bytes each way: a ClientHello, then the chosen version."""

    def __init__(self, proxy: CountingProxy) -> None:
        self.proxy = proxy
        self.first_in, self.first_out, self.hello = True, True, False

    def from_client(self, chunk: bytes) -> tuple[bytes, bool]:
        if self.first_in:
            self.first_in, self.hello = False, _client_hello(chunk)
            self.proxy.add(tls=1 if self.hello else 0)
        return chunk, True

    def from_upstream(self, chunk: bytes) -> tuple[bytes, bool]:
        if self.first_out and self.hello:
            self.proxy.add(version=_server_version(chunk))
        self.first_out = False
        return chunk, True


class CountingProxy(Relay):
    """Forwards every connection on `host` to `upstream` (host, port) and counts handshakes."""

    def __init__(self, upstream: tuple[str, int], host: str = LOOPBACK) -> None:
        super().__init__(upstream, host)
        self._seen = Handshakes()
        self._lock = threading.Lock()

    def seen(self) -> Handshakes:
        with self._lock:
            return self._seen

    def add(self, tcp: int = 0, tls: int = 0, version: str | None = None) -> None:
        with self._lock:
            seen = self._seen
            versions = seen.versions + ((version,) if version else ())
            self._seen = Handshakes(seen.tcp + tcp, seen.tls + tls, versions)

    def accepted(self) -> None:
        self.add(tcp=1)  # counted before a byte is relayed, so before any answer

    def flow(self) -> Flow:
        return _CountingFlow(self)


@dataclass(frozen=True)
class RoundTrips:
    """One operation's round trips: handshakes from the proxies, requests from the logs."""

    tcp: int
    tls: int
    http: int
    requests: tuple[str, ...]
    versions: tuple[str, ...]

    @property
    def total(self) -> int:
        return self.tcp + self.tls + self.http

    @property
    def parts(self) -> tuple[int, int, int]:
        return (self.tcp, self.tls, self.http)


@dataclass
class CountedRegistry:
    """A TLS registry as its clients see it: through `proxy` (and `token_proxy`)."""

    kind: str
    registry: Registry = field(repr=False)
    proxy: CountingProxy = field(repr=False)
    token_proxy: CountingProxy | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return self.proxy.netloc

    @property
    def url(self) -> str:
        """What a connector names: `https://`, as a remote registry is named (a bare
        loopback name would be tried over plain HTTP first, a loopback-only rule)."""
        return f"https://{self.proxy.netloc}"

    @property
    def username(self) -> str:
        return self.registry.username

    @property
    def password(self) -> str:
        return self.registry.password

    @property
    def token_server(self) -> TokenServer | None:
        return self.registry.token_server

    @property
    def minimum(self) -> int:
        return MINIMUM[self.kind]

    @contextlib.contextmanager
    def counting(self) -> Iterator[list[RoundTrips]]:
        """Count what the block does; the counts are in the list when it ends."""
        found: list[RoundTrips] = []
        proxies = [p for p in (self.proxy, self.token_proxy) if p is not None]
        server = self.token_server
        mark, token_mark = self.registry.mark(), server.mark() if server else 0
        before = [p.seen() for p in proxies]
        yield found
        requests = [f"{r.method} {r.path} {r.status}" for r in self.registry.requests_since(mark)]
        if server is not None:
            requests += [f"token {t.method} {t.status}" for t in server.requests_since(token_mark)]
        seen = [p.seen() - b for p, b in zip(proxies, before, strict=True)]
        versions = tuple(v for s in seen for v in s.versions)
        tcp, tls = sum(s.tcp for s in seen), sum(s.tls for s in seen)
        found.append(RoundTrips(tcp, tls, len(requests), tuple(requests), versions))


@dataclass
class RoundTripBeds:
    """The counted registries by kind, and the CA that signed all their certificates."""

    registries: dict[str, CountedRegistry]
    ca_cert_path: Path

    def trust_in(self, config_home: Path) -> None:
        """certs.d entries under `config_home` (an XDG_CONFIG_HOME) for every host as the
        client sees it: the proxies' host:port."""
        hosts = [r.proxy.netloc for r in self.registries.values()]
        hosts += [r.token_proxy.netloc for r in self.registries.values() if r.token_proxy]
        for host in hosts:
            directory = config_home / "docker" / "certs.d" / host
            directory.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.ca_cert_path, directory / "ca.crt")


def _token_registry(testbed: Testbed, stack: contextlib.ExitStack) -> CountedRegistry:
    """A token registry over HTTPS whose realm is an HTTPS token host on `TOKEN_HOST`,
    both behind counting proxies."""
    proxies: list[CountingProxy] = []

    def advertise_a_proxy(server: TokenServer) -> None:
        proxies.append(stack.enter_context(CountingProxy((TOKEN_HOST, server.port), TOKEN_HOST)))
        server.advertised_url = f"https://{proxies[0].netloc}"

    registry = testbed.tls_token_registry("round-trip-token-tls", TOKEN_HOST, advertise_a_proxy)
    proxy = stack.enter_context(CountingProxy((LOOPBACK, registry.port)))
    return CountedRegistry("token", registry, proxy, proxies[0])


@pytest.fixture(scope="session")
def tls_round_trip_beds(testbed: Testbed) -> Iterator[RoundTripBeds]:
    """The Basic and the token registry over TLS behind counting proxies (see the module)."""
    with contextlib.ExitStack() as stack:
        try:
            basic = testbed.registry("tls")
            registries = {
                "basic": CountedRegistry(
                    "basic", basic, stack.enter_context(CountingProxy((LOOPBACK, basic.port)))
                ),
                "token": _token_registry(testbed, stack),
            }
        except (RegistryStartError, OSError) as error:
            require_service("docker-registry", f"TLS registries for round trips: {error}")
        yield RoundTripBeds(registries, testbed.ca.cert_path)
