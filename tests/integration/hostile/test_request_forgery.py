"""A registry cannot make the connector read back internal services (issue 11, "Read back
internal services"). The internal service here listens on 127.0.0.2: loopback, but not the
registry's host (127.0.0.1). Inside a ZenML server (`refuse_private_destinations`, which the
glue turns on there) nothing but the registry's own host may be private; everywhere, a body
that arrived through a redirect is never quoted, and credentials never follow a redirect to
another origin."""

from __future__ import annotations

import json
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed.hostile import bearer_pair, raw_controls
from testbed.leaks import assert_no_secret
from testbed.local_http import LocalServer, Reply, Seen, bearer_challenge
from testbed.net import free_port
from testbed.zenml_server_fixture import ZenServer
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import (
    CredentialsRejectedError,
    DestinationRefusedError,
    InsecureTransportError,
    TokenServiceError,
)
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.cache import AuthCache
from zenml_docker_connector.registry.policy import (
    ALLOW_PRIVATE_NETWORKS_ENV,
    private_networks_allowed,
)
from zenml_docker_connector.registry.transport import ConnectionSettings, Timeouts
from zenml_docker_connector.registry.verification import verify_registry_access

pytestmark = pytest.mark.timeout(60)

PASSWORD = "Forgery-Secret-7e21"
INTERNAL_SECRET = "INTERNAL-ONLY: db_password=hunter2"
SERVER = ConnectionSettings(refuse_private_destinations=True, timeouts=Timeouts(2, 2))


@pytest.fixture
def internal() -> Iterator[LocalServer]:
    """An internal JSON service the registry's operator would like to read."""
    body = json.dumps({"message": INTERNAL_SECRET, "details": INTERNAL_SECRET}).encode()
    with LocalServer(lambda seen: Reply(401, body=body), bind="127.0.0.2") as service:
        yield service


def _verify(netloc: str, credentials: Credentials, settings: ConnectionSettings) -> Any:
    return verify_registry_access(
        parse_registry_reference(netloc), credentials, settings=settings, cache=AuthCache()
    )


def _redirect_to(target: str) -> Any:
    return lambda seen: Reply(302, [("Location", target)])


def test_credentials_never_follow_a_realm_redirect_to_an_internal_service(
    internal: LocalServer,
) -> None:
    with (
        bearer_pair(_redirect_to(f"{internal.url}/api")) as (registry, token_service),
        pytest.raises(InsecureTransportError, match="another origin"),
    ):
        _verify(registry.netloc, Credentials("mallory", PASSWORD), ConnectionSettings())
    assert internal.seen == [] and len(token_service.seen) == 1


def test_an_answer_through_a_redirect_is_never_quoted(internal: LocalServer) -> None:
    """Outside a server an anonymous token request may follow a redirect; what the target
    answers is reported by status only."""
    with (
        bearer_pair(_redirect_to(f"{internal.url}/api")) as (registry, _token_service),
        pytest.raises(CredentialsRejectedError) as caught,
    ):
        _verify(registry.netloc, Credentials(None, None), ConnectionSettings())
    assert len(internal.seen) == 1  # reached (no credentials, not inside a server) ...
    assert "INTERNAL-ONLY" not in str(caught.value)  # ... but nothing of it is shown


@pytest.mark.parametrize("credentials", [Credentials("mallory", PASSWORD), Credentials(None, None)])
def test_inside_a_server_a_redirect_to_a_private_address_is_refused(
    internal: LocalServer, credentials: Credentials
) -> None:
    with (
        bearer_pair(_redirect_to(f"{internal.url}/api")) as (registry, _token_service),
        pytest.raises((DestinationRefusedError, InsecureTransportError)) as caught,
    ):
        _verify(registry.netloc, credentials, SERVER)
    assert internal.seen == []
    assert "INTERNAL-ONLY" not in str(caught.value)
    if credentials.username is None:
        assert ALLOW_PRIVATE_NETWORKS_ENV in str(caught.value)


def _registry_with_realm(realm: str) -> LocalServer:
    return LocalServer(lambda seen: bearer_challenge(realm))


@pytest.mark.parametrize("credentials", [Credentials("mallory", PASSWORD), Credentials(None, None)])
def test_inside_a_server_a_realm_on_a_private_address_is_refused(
    internal: LocalServer, credentials: Credentials
) -> None:
    with (
        _registry_with_realm(f"{internal.url}/token") as registry,
        pytest.raises(DestinationRefusedError) as caught,
    ):
        _verify(registry.netloc, credentials, SERVER)
    assert internal.seen == []
    message = str(caught.value)
    assert "has a loopback, link-local or private address" in message
    assert ALLOW_PRIVATE_NETWORKS_ENV in message


def test_inside_a_server_a_name_is_judged_by_the_address_it_reaches() -> None:
    """`localhost` is not an IP literal: it is resolved, and refused before any connection
    because it resolves to loopback addresses."""
    with LocalServer(lambda seen: Reply(200, body=b'{"token":"t"}')) as token_service:
        realm = f"http://localhost:{token_service.port}/token"
        with (
            _registry_with_realm(realm) as registry,
            pytest.raises(DestinationRefusedError, match="has a loopback, link-local or private"),
        ):
            _verify(registry.netloc, Credentials(None, None), SERVER)
    assert token_service.seen == []


def test_inside_a_server_a_name_rebound_after_the_check_is_refused_on_the_connected_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the name resolves to a public address when the policy judges it and to
    loopback when urllib3 connects. The connected address is checked before a byte is sent,
    and the refusal reads as any other."""
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.example.com":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        address = "93.184.216.34" if len(lookups) == 1 else "127.0.0.1"
        return real_getaddrinfo(address, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with LocalServer(lambda seen: Reply(200, body=b'{"token":"t"}')) as token_service:
        realm = f"http://rebind.example.com:{token_service.port}/token"
        with (
            LocalServer(lambda seen: bearer_challenge(realm), bind="127.0.0.2") as registry,
            pytest.raises(DestinationRefusedError) as caught,
        ):
            _verify(registry.netloc, Credentials(None, None), SERVER)
    assert len(lookups) >= 2 and token_service.seen == []
    assert str(caught.value).startswith(f"Refusing to contact {realm} for registry")
    assert "has a loopback, link-local or private address" in str(caught.value)


def test_inside_a_server_closed_silent_and_open_ports_look_the_same() -> None:
    """No port-scanning oracle: the request is refused before any connection."""
    closed = free_port()
    with (
        LocalServer(lambda seen: Reply(hang=True), bind="127.0.0.2") as silent,
        LocalServer(lambda seen: Reply(404), bind="127.0.0.2") as open_port,
    ):
        messages = []
        for port in (closed, silent.port, open_port.port):
            with (
                _registry_with_realm(f"http://127.0.0.2:{port}/token") as registry,
                pytest.raises(DestinationRefusedError) as caught,
            ):
                _verify(registry.netloc, Credentials("mallory", PASSWORD), SERVER)
            message = str(caught.value).replace(registry.netloc, "REGISTRY")
            messages.append(message.replace(str(port), "PORT"))
        assert silent.seen == [] and open_port.seen == []
    assert len(set(messages)) == 1, messages


class AcceptCounter:
    """A TCP port on 127.0.0.1 that counts the connections it accepts and answers each with
    an HTTP 404: "was it contacted at all", not just "did it get a request"."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                continue
            self.accepted += 1
            with connection:
                connection.settimeout(1)
                try:
                    connection.recv(65536)
                    connection.sendall(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                except OSError:
                    pass

    def __enter__(self) -> AcceptCounter:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()


def _private_targets(scheme: str, open_port: int) -> dict[str, str]:
    """Destinations on the server's own machine, by state and by spelling: open, closed,
    unresolvable, and 127.0.0.1 written as numbers `inet_aton` (and getaddrinfo) accept."""
    return {
        "open port": f"{scheme}://127.0.0.1:{open_port}/token",
        "closed port": f"{scheme}://127.0.0.1:{free_port()}/token",
        "unresolvable": f"{scheme}://nothing-here.invalid:{open_port}/token",
        "localhost": f"{scheme}://localhost:{open_port}/token",
        "decimal": f"{scheme}://2130706433:{open_port}/token",
        "hex": f"{scheme}://0x7f000001:{open_port}/token",
        "short": f"{scheme}://127.1:{open_port}/token",
        "octal": f"{scheme}://017700000001:{open_port}/token",
    }


# (scheme of the realm, credentials): anonymous over http, with credentials over https (over
# plain HTTP credentials would meet the plain-HTTP rule first, whose message is the same
# whatever the destination's state too).
_REALM_CASES = [("http", Credentials(None, None)), ("https", Credentials("mallory", PASSWORD))]


def _outcomes(
    point_at: Callable[[str], None],
    verify: Callable[[], Any],
    targets: dict[str, str],
) -> dict[str, str]:
    """What each target's verification ended with (the message, its URL replaced)."""
    outcomes = {}
    for name, url in targets.items():
        point_at(url)
        try:
            verify()
        except Exception as error:  # noqa: BLE001 - the message is what is compared
            shown = url.split("://", 1)[0] + "://" + url.split("://", 1)[1].split("/", 1)[0]
            outcomes[name] = f"{type(error).__name__}: " + str(error).replace(shown, "URL")
        else:
            outcomes[name] = "verified"
    return outcomes


@pytest.mark.parametrize(("scheme", "credentials"), _REALM_CASES)
def test_inside_a_server_every_private_realm_gets_one_refusal_without_a_connection(
    scheme: str, credentials: Credentials
) -> None:
    """No port-scanning oracle, whatever the realm's spelling: the name is resolved and judged
    before any connection, so open, closed and unresolvable destinations read the same."""
    realm = {"url": ""}
    with (
        AcceptCounter() as listener,
        LocalServer(lambda seen: bearer_challenge(realm["url"]), bind="127.0.0.2") as registry,
    ):
        outcomes = _outcomes(
            lambda url: realm.update(url=url),
            lambda: _verify(registry.netloc, credentials, SERVER),
            _private_targets(scheme, listener.port),
        )
        assert listener.accepted == 0, outcomes
    assert len(set(outcomes.values())) == 1, outcomes
    (message,) = set(outcomes.values())
    assert message.startswith("DestinationRefusedError: Refusing to contact URL"), message
    assert ALLOW_PRIVATE_NETWORKS_ENV in message


def test_inside_a_server_every_private_redirect_target_gets_one_refusal_without_a_connection() -> (
    None
):
    """The same for a redirect from the registry host's own token service (anonymous)."""
    target = {"url": ""}
    with (
        AcceptCounter() as listener,
        LocalServer(lambda seen: _redirect_to(target["url"])(seen), bind="127.0.0.2") as tokens,
        LocalServer(lambda seen: bearer_challenge(f"{tokens.url}/token"), bind="127.0.0.2") as reg,
    ):
        outcomes = _outcomes(
            lambda url: target.update(url=url),
            lambda: _verify(reg.netloc, Credentials(None, None), SERVER),
            _private_targets("http", listener.port),
        )
        assert listener.accepted == 0, outcomes
    assert len(set(outcomes.values())) == 1, outcomes
    assert next(iter(outcomes.values())).startswith("DestinationRefusedError: Refusing to contact")


@pytest.mark.parametrize(("scheme", "credentials"), _REALM_CASES)
def test_with_private_networks_allowed_a_server_reaches_them_as_before(
    scheme: str, credentials: Credentials
) -> None:
    """`ALLOW_PRIVATE_NETWORKS_ENV=true` (the glue then turns the rule off): every spelling
    of the open port is contacted, the closed and unresolvable ones fail as unreachable."""
    allowed = ConnectionSettings(
        refuse_private_destinations=not private_networks_allowed(
            {ALLOW_PRIVATE_NETWORKS_ENV: "true"}
        ),
        timeouts=Timeouts(2, 2),
    )
    realm = {"url": ""}
    with (
        AcceptCounter() as listener,
        LocalServer(lambda seen: bearer_challenge(realm["url"]), bind="127.0.0.2") as registry,
    ):
        targets = _private_targets(scheme, listener.port)
        outcomes = _outcomes(
            lambda url: realm.update(url=url),
            lambda: _verify(registry.netloc, credentials, allowed),
            targets,
        )
        assert listener.accepted == len(targets) - 2, outcomes  # all but closed, unresolvable
    assert not any(outcome.startswith("DestinationRefusedError") for outcome in outcomes.values())
    assert "the host name does not resolve" in outcomes["unresolvable"]
    assert "connection refused" in outcomes["closed port"]


def test_inside_a_server_the_registry_host_itself_is_reachable() -> None:
    """The registry (127.0.0.1) and its token service on another port of the same host."""
    with bearer_pair(lambda seen: Reply(200, body=b'{"token": "t0k3n"}')) as (registry, _):
        report = _verify(registry.netloc, Credentials("mallory", PASSWORD), SERVER)
    assert report.auth_scheme == "bearer" and not report.anonymous


def test_outside_a_server_private_token_services_work(internal: LocalServer) -> None:
    """Without the server rule a realm on 127.0.0.2 is contacted: the rule is what stops it."""
    with (
        _registry_with_realm(f"{internal.url}/token") as registry,
        pytest.raises((CredentialsRejectedError, TokenServiceError)),
    ):
        _verify(registry.netloc, Credentials("mallory", PASSWORD), ConnectionSettings())
    assert internal.seen != []


# --- through a real ZenML server -----------------------------------------------------------


@pytest.mark.e2e
def test_a_zenml_server_refuses_a_realm_on_its_private_network(
    internal: LocalServer, zenml_server: ZenServer, tmp_path: Path
) -> None:
    """`register` runs on the server: the realm on 127.0.0.2 is refused there, and the
    internal service gets no request. The client runs without the plugin, so the verdict
    comes from the server."""
    name = f"ssrf-{secrets.token_hex(4)}"

    def script(seen: Seen) -> Reply:
        return bearer_challenge(f"{internal.url}/token")

    with LocalServer(script) as registry:
        config = {"username": "mallory", "password": PASSWORD, "registry": registry.netloc}
        client = zenml_server.client(tmp_path, plugin=False)
        (outcome,) = client.results(
            "from zenml.client import Client\n"
            "from zenml.exceptions import AuthorizationException\n"
            "try:\n"
            f"    Client().create_service_connector(name={name!r}, connector_type='docker',\n"
            f"        auth_method='password', configuration={config!r})\n"
            "except AuthorizationException as error:\n"
            "    emit({'rejected': str(error)})\n"
            "else:\n"
            "    emit({'registered': True})\n"
        )
        assert len(registry.seen) >= 1  # the server did ask the registry
    assert internal.seen == []
    rejected = outcome.get("rejected", "")
    assert "Refusing to contact" in rejected and ALLOW_PRIVATE_NETWORKS_ENV in rejected, outcome
    assert not raw_controls(rejected)
    assert_no_secret([rejected, zenml_server.log()], PASSWORD)
