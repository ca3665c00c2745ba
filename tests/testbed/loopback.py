"""pytest fixtures: one in-process `LocalServer` on 127.0.0.1, scripted per test.

Unit tests of the registry code talk to it over real sockets with the package's real
`Transport`, `RegistryClient` and `verify_registry_access`; nothing of ours is patched. The
server is started once per session (starting and stopping one costs ~20 ms, a request ~1 ms);
the `loopback` fixture gives each test a fresh view of it: no script yet, nothing seen, and
every `Transport` it built closed afterwards. `tests/unit/conftest.py` imports the fixtures.

- Flow-module tests (challenge, auth, tokens, transport) take
  `loopback.transport(script, credentials=...)`: a `Transport` for the registry
  `loopback.netloc` that redacts those credentials.
- Client, verification and diagnosis tests name `loopback.netloc` as the registry and set the
  script with `loopback.serve(script)`.
- `loopback.seen` is what the server received in this test, in order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testbed.certs import Issued, issue_server_cert, make_ca
from testbed.local_http import LocalServer, Reply, Script, Seen
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.transport import ConnectionSettings, Transport


def _unscripted(seen: Seen) -> Reply:
    return Reply(500, body=b"loopback: this test set no script")


def check_transport(
    registry: str, credentials: Credentials, settings: ConnectionSettings | None = None
) -> Transport:
    """The package's real `Transport` for `registry`, redacting `credentials`' secrets."""
    return Transport(parse_registry_reference(registry), settings, redactor=credentials.redactor)


class Loopback:
    """The session's `LocalServer` as one test sees it: address, script, requests seen."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self._transports: list[Transport] = []

    @property
    def netloc(self) -> str:
        """`127.0.0.1:<port>`: the registry reference for client and verification tests."""
        return self.server.netloc

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`: the registry's base URL (a token realm is `url + /token`)."""
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def seen(self) -> list[Seen]:
        return self.server.seen

    def serve(self, script: Script) -> None:
        """Answer every later request with `script` (what was seen so far is kept)."""
        self.server.script = script

    def transport(
        self,
        script: Script,
        settings: ConnectionSettings | None = None,
        *,
        credentials: Credentials | None = None,
        named: str | None = None,
    ) -> Transport:
        """Serve `script`; a real `Transport` for this server as the registry.

        `named` is how the registry is named (default `netloc`; e.g. `f"http://{netloc}"`);
        `credentials` are the ones whose secrets it redacts.
        """
        self.serve(script)
        transport = check_transport(
            named or self.netloc, credentials or Credentials(None, None), settings
        )
        self._transports.append(transport)
        return transport

    def close(self) -> None:
        for transport in self._transports:
            transport.close()
        self._transports.clear()


def _reset(server: LocalServer) -> None:
    server.script = _unscripted
    server.seen.clear()


@pytest.fixture(scope="session")
def loopback_server() -> Iterator[LocalServer]:
    """The one `LocalServer` of the session (tests use it through `loopback`)."""
    server = LocalServer(_unscripted)
    with server:
        yield server


@pytest.fixture
def loopback(loopback_server: LocalServer) -> Iterator[Loopback]:
    """The loopback server for this test: no script until one is served, nothing seen."""
    _reset(loopback_server)
    view = Loopback(loopback_server)
    try:
        yield view
    finally:
        view.close()
        _reset(loopback_server)


@pytest.fixture(scope="session")
def loopback_cert(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    """A certificate for 127.0.0.1 from a throw-away CA, for `LocalServer(tls=...)`."""
    directory = tmp_path_factory.mktemp("loopback-tls")
    return issue_server_cert(make_ca(directory), directory)
