"""The connector glue without a ZenML store: what it points at, what it stores, what it says."""

from __future__ import annotations

import logging
import uuid

import pytest

from testbed.leaks import assert_no_secret
from testbed.local_http import Reply, Script, basic_challenge, registry_ok
from testbed.loopback import Loopback
from testbed.unreachable import ResettingListener, closed_port
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.glue import spec
from zenml_docker_connector.glue.connector import (
    DockerServiceConnector,
    OncePerRegistry,
    plaintext_warning,
    registry_field_value,
)
from zenml_docker_connector.glue.resource_listing import listing_resources
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.policy import ALLOW_PRIVATE_NETWORKS_ENV
from zenml_docker_connector.registry.transport import ConnectionSettings


def _connector(registry: str | None, **config: object) -> DockerServiceConnector:
    return DockerServiceConnector(
        auth_method=spec.PASSWORD_AUTH_METHOD,
        resource_type=spec.RESOURCE_TYPE,
        config=spec.DockerConnectorConfiguration(
            username="alice", password="Conn-Secret-1", registry=registry, **config
        ),
    )


def test_what_the_connector_points_at_and_with_what() -> None:
    connector = _connector("http://127.0.0.1:5000/team")
    assert connector.registry_reference() == parse_registry_reference("http://127.0.0.1:5000/team")
    assert connector.credentials() == Credentials("alice", "Conn-Secret-1")
    assert connector.connection_settings() == ConnectionSettings(insecure=False)
    assert _connector(None).registry_reference().is_docker_hub
    assert _connector("r.example", insecure=True).connection_settings().insecure


@pytest.mark.parametrize(
    ("environment", "refuse"),
    [
        ({}, False),  # a client: the user's own machine and network
        ({"ZENML_SERVER": "true"}, True),  # a ZenML server (ZenML's own flag)
        ({"ZENML_SERVER": "true", ALLOW_PRIVATE_NETWORKS_ENV: "true"}, False),  # opted in
        ({ALLOW_PRIVATE_NETWORKS_ENV: "true"}, False),
    ],
)
def test_inside_a_zenml_server_private_destinations_are_refused(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], refuse: bool
) -> None:
    for name in ("ZENML_SERVER", ALLOW_PRIVATE_NETWORKS_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = _connector("registry.example").connection_settings()
    assert settings.refuse_private_destinations is refuse


def test_resource_ids_are_canonical() -> None:
    connector = _connector("https://Registry.Example:5000")
    assert connector._get_default_resource_id(spec.RESOURCE_TYPE) == "registry.example:5000"
    assert (
        connector._canonical_resource_id(spec.RESOURCE_TYPE, "https://index.docker.io/v1/x")
        == "docker.io"
    )
    with pytest.raises(ValueError, match="Accepted formats"):
        connector._canonical_resource_id(spec.RESOURCE_TYPE, "ftp://r.example")


@pytest.mark.parametrize(
    ("registry", "stored"),
    [
        ("docker.io", None),
        ("https://index.docker.io/v1/", None),
        ("ghcr.io/org", "ghcr.io"),
        ("https://r.example:5000", "https://r.example:5000"),
        ("http://r.example", "http://r.example"),
        ("127.0.0.1:5000", "127.0.0.1:5000"),
    ],
)
def test_the_registry_field_parses_back_to_the_same_registry(
    registry: str, stored: str | None
) -> None:
    reference = parse_registry_reference(registry)
    assert registry_field_value(reference) == stored
    again = parse_registry_reference(stored or "docker.io")
    assert (again.resource_id, again.scheme) == (reference.resource_id, reference.scheme)


def test_plaintext_warning_names_the_file_and_the_remedy() -> None:
    warning = plaintext_warning("/root/.docker/config.json")
    assert warning.startswith(
        "WARNING! Your password will be stored unencrypted in /root/.docker/config.json.\n"
    )
    assert '"credsStore"' in warning and "zenml service-connector login" in warning


def test_the_builtin_configuration_cloud_connectors_pass_is_accepted() -> None:
    from zenml.service_connectors.docker_service_connector import DockerConfiguration

    connector = DockerServiceConnector(
        auth_method=spec.PASSWORD_AUTH_METHOD,
        resource_type=spec.RESOURCE_TYPE,
        config=DockerConfiguration(
            username="AWS", password="ecr-Token-1", registry="https://1.dkr.ecr.x.amazonaws.com"
        ),
    )
    assert type(connector.config) is spec.DockerConnectorConfiguration
    assert connector.credentials() == Credentials("AWS", "ecr-Token-1")
    assert connector.connection_settings() == ConnectionSettings(insecure=False)
    assert connector.resource_id == "1.dkr.ecr.x.amazonaws.com"


class _Store:
    """Hands out the stored model, with its secrets, as the SQL store does when asked."""

    def __init__(self, stored: object) -> None:
        self.stored = stored

    def get_service_connector(self, connector_id: object, expand_secrets: bool = False) -> object:
        assert expand_secrets
        return self.stored


def _stored_and_listed() -> tuple[object, object]:
    stored = _connector("http://127.0.0.1:5000").to_response_model(name="c", id=uuid.uuid4())
    listed = stored.model_copy(deep=True)
    listed.remove_secrets()
    return stored, listed


def test_a_listed_model_without_secrets_is_completed_only_while_listing() -> None:
    stored, listed = _stored_and_listed()
    with pytest.raises(ValueError, match="Field required"):
        DockerServiceConnector.from_model(listed)
    with listing_resources(_Store(stored)):
        connector = DockerServiceConnector.from_model(listed)
    assert connector.credentials() == Credentials("alice", "Conn-Secret-1")


def test_when_completing_fails_the_first_error_is_raised() -> None:
    _, listed = _stored_and_listed()
    with listing_resources(_Store(listed)), pytest.raises(ValueError) as caught:
        DockerServiceConnector.from_model(listed)
    assert "Field required" in str(caught.value)
    assert "Conn-Secret-1" not in str(caught.value)


# --- a registry out of reach: explicit checks fail, implicit ones hand out credentials ------


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_an_implicit_check_of_an_unreachable_registry_warns_once_and_succeeds(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `get_service_connector_client`, `connect()` and `login` run: `_verify` alone."""
    monkeypatch.delenv("ZENML_SERVER", raising=False)
    with ResettingListener() as listener:
        connector = _connector(listener.url)
        registry = f"127.0.0.1:{listener.port}"
        with caplog.at_level(logging.WARNING):
            assert connector._verify(spec.RESOURCE_TYPE, registry) == [registry]
            asked = listener.connections
            assert connector._verify(spec.RESOURCE_TYPE, registry) == [registry]
        assert listener.connections == asked  # remembered: no second wait for a silent one
    (warning,) = _warnings(caplog)
    assert registry in warning and "in this process" in warning and "unchecked" in warning
    assert_no_secret([warning], "Conn-Secret-1", usernames=["alice"])


def test_an_explicit_check_of_an_unreachable_registry_fails_saying_where_and_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ZENML_SERVER", raising=False)
    registry = f"127.0.0.1:{closed_port()}"
    connector = _connector(f"http://{registry}")
    connector.name = "team-registry"
    connector._verify(spec.RESOURCE_TYPE, registry)  # an implicit check first: remembered
    error = connector.verify().error
    assert error is not None and registry in error and "connection refused" in error
    flat = " ".join(error.split())
    assert "The check ran in this process" in flat
    assert "zenml service-connector register team-registry --type docker" in flat
    assert "--no-verify" in flat
    monkeypatch.setenv("ZENML_SERVER", "true")
    on_server = connector.verify().error
    assert on_server is not None and "The check ran on the ZenML server" in on_server


@pytest.mark.parametrize(
    ("named", "script", "fragment"),
    [
        ("{netloc}", lambda seen: basic_challenge(), "rejected"),
        ("https://{netloc}", lambda seen: registry_ok(), "does not speak TLS"),
        ("{netloc}", lambda seen: Reply(503), "HTTP 503"),
    ],
    ids=["refused-credentials", "tls-failure", "http-503"],
)
def test_implicit_checks_still_fail_for_everything_else(
    loopback: Loopback, named: str, script: Script, fragment: str
) -> None:
    from zenml.exceptions import AuthorizationException

    loopback.serve(script)
    connector = _connector(named.format(netloc=loopback.netloc))
    with pytest.raises(AuthorizationException, match=fragment):
        connector._verify(spec.RESOURCE_TYPE, loopback.netloc)


def test_each_unreachable_registry_is_reported_once_until_it_answers() -> None:
    once = OncePerRegistry(limit=2)
    assert once.first("a") and not once.first("a") and once.first("b")
    once.forget("a")
    assert once.first("a")
    assert once.first("c") and once.first("a")  # past the limit it starts over
