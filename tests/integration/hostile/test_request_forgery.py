"""A registry cannot make the connector read back internal services (issue 11, "Read back
internal services"). The internal service here listens on 127.0.0.2: loopback, but not the
registry's host (127.0.0.1). Inside a ZenML server (`refuse_private_destinations`, which the
glue turns on there) nothing but the registry's own host may be private; everywhere, a body
that arrived through a redirect is never quoted, and credentials never follow a redirect to
another origin."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
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
from zenml_docker_connector.registry.policy import ALLOW_PRIVATE_NETWORKS_ENV
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
    assert "it is a loopback address" in message and ALLOW_PRIVATE_NETWORKS_ENV in message


def test_inside_a_server_a_name_is_judged_by_the_address_it_reaches() -> None:
    """`localhost` is not an IP literal: the connection is made and refused before a byte of
    the request is sent, because its peer address is loopback."""
    with LocalServer(lambda seen: Reply(200, body=b'{"token":"t"}')) as token_service:
        realm = f"http://localhost:{token_service.port}/token"
        with (
            _registry_with_realm(realm) as registry,
            pytest.raises(DestinationRefusedError, match="it is a loopback address"),
        ):
            _verify(registry.netloc, Credentials(None, None), SERVER)
    assert token_service.seen == []


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
