"""The `docker` connector type as ZenML shows it, and the configuration it accepts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from zenml_docker_connector import spec
from zenml_docker_connector.connector import DockerServiceConnector


def _config(**fields: object) -> spec.DockerConnectorConfiguration:
    return spec.DockerConnectorConfiguration(username="u", password="p", **fields)


def test_the_registry_field_is_checked_when_the_connector_is_created() -> None:
    assert _config(registry="  ghcr.io/org ").registry == "ghcr.io/org"
    assert _config(registry="   ").registry is None
    assert _config().registry is None
    with pytest.raises(ValidationError, match="Accepted formats"):
        _config(registry="ftp://r.example")


def test_insecure_is_optional_and_off() -> None:
    assert _config().insecure is False
    assert _config(insecure=True).insecure is True


def test_the_type_matches_zenml_s_names() -> None:
    model = spec.build_connector_type()
    assert model.connector_type == "docker" and model.supports_auto_configuration
    assert [m.auth_method for m in model.auth_methods] == ["password"]
    (resource,) = model.resource_types
    assert resource.resource_type == "docker-registry" and not resource.supports_instances
    assert "zenml-docker-connector implementation" in model.description
    fields = model.auth_methods[0].config_schema["properties"]
    assert list(fields)[:4] == ["username", "password", "registry", "insecure"]


def test_each_call_builds_a_fresh_spec() -> None:
    assert spec.build_connector_type() is not spec.build_connector_type()
    assert DockerServiceConnector._get_connector_type().connector_type == spec.CONNECTOR_TYPE
