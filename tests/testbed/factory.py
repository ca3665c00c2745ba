"""Starts and tracks the session's services so one teardown stops them all."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from testbed.certs import Issued, issue_server_cert, make_ca, make_signing_cert
from testbed.registry import Kind, Registry, start_registry
from testbed.token_server import TokenServer


@dataclass
class Testbed:
    """Registries (and token servers) under `root`; certificates are made on first use."""

    root: Path
    registry_binary: str
    htpasswd_binary: str | None = None
    registries: list[Registry] = field(default_factory=list)
    token_servers: list[TokenServer] = field(default_factory=list)
    _ca: Issued | None = None
    _server_cert: Issued | None = None
    _signer: Issued | None = None

    __test__ = False  # not a test class, despite the name

    @property
    def ca(self) -> Issued:
        if self._ca is None:
            self._ca = make_ca(self.root / "pki")
        return self._ca

    @property
    def server_cert(self) -> Issued:
        if self._server_cert is None:
            self._server_cert = issue_server_cert(self.ca, self.root / "pki")
        return self._server_cert

    @property
    def signer(self) -> Issued:
        if self._signer is None:
            self._signer = make_signing_cert(self.root / "pki")
        return self._signer

    def issue_cert(self, stem: str, names: Sequence[str]) -> Issued:
        """Another server certificate from the shared CA, also valid for `names`."""
        return issue_server_cert(self.ca, self.root / "pki", stem=stem, extra_names=names)

    def token_server(self, service: str = "testbed-registry") -> TokenServer:
        """A new, started token server signing with the shared signer."""
        server = TokenServer(self.signer, service=service).start()
        self.token_servers.append(server)
        return server

    def registry(
        self,
        kind: Kind,
        *,
        token_server: TokenServer | None = None,
        username: str = "testbed",
        password: str | None = None,
    ) -> Registry:
        """Start another registry of `kind`; a token registry gets its own token server
        unless one is given."""
        if kind == "token" and token_server is None:
            token_server = self.token_server()
        tls = kind == "tls"
        registry = start_registry(
            kind,
            self.root / f"{kind}-{len(self.registries)}",
            registry_binary=self.registry_binary,
            htpasswd_binary=self.htpasswd_binary,
            server_cert=self.server_cert if tls else None,
            ca_cert_path=self.ca.cert_path if tls else None,
            token_server=token_server,
            username=username,
            password=password,
        )
        self.registries.append(registry)
        return registry

    def tls_token_registry(
        self,
        name: str,
        token_host: str,
        on_token_server: Callable[[TokenServer], None] | None = None,
    ) -> Registry:
        """A token registry over HTTPS whose token service is HTTPS on `token_host`, its own
        loopback address, as a real token host is a host of its own. `on_token_server` runs
        before the registry starts, which reads the realm (e.g. to advertise a proxy)."""
        cert = self.issue_cert(f"{name}-token-host", [token_host])
        server = TokenServer(self.signer, host=token_host, tls=cert).start()
        self.token_servers.append(server)
        if on_token_server is not None:
            on_token_server(server)
        registry = start_registry(
            "token",
            self.root / name,
            registry_binary=self.registry_binary,
            server_cert=self.server_cert,
            ca_cert_path=self.ca.cert_path,
            token_server=server,
        )
        self.registries.append(registry)
        return registry

    def stop(self) -> None:
        for registry in self.registries:
            registry.stop()
        for server in self.token_servers:
            server.stop()
