"""The `docker` connector type as ZenML shows it, and the configuration it accepts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from zenml_docker_connector.glue import spec
from zenml_docker_connector.glue.connector import DockerServiceConnector


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


SECRET = "Spec-Secret-Zq9vX2pL8"


def _error(**fields: object) -> str:
    values: dict[str, object] = {"username": "u", "password": SECRET, **fields}
    with pytest.raises(ValidationError) as caught:
        spec.DockerConnectorConfiguration(**values)
    return str(caught.value)


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"registry": f"https://user:{SECRET}@r.example"}, "contains the password"),
        ({"registry": f"r.example\n{SECRET}"}, "contains the password"),
        ({"registry": f"https://user:{SECRET[::-1]}@r.example"}, "user information"),
        ({"registry": f"https://u:{SECRET[::-1]}@r.example/a b"}, "whitespace"),
        ({"username": "", "registry": "r.example"}, "username is empty"),
        ({"username": "   "}, "username is empty"),
        ({"username": "a\nb"}, "username contains a line break"),
        ({"username": "a\x07b"}, "username contains a control character"),
        ({"username": "a:b"}, "cannot contain ':'"),
        ({"username": "u" * 600}, "username is 600 characters long"),
        ({"password": ""}, "password is empty"),
        ({"password": SECRET + "\n"}, "password contains a line break"),
        ({"password": "\r" + SECRET}, "password contains a line break"),
        ({"password": SECRET[:4] + "\x00" + SECRET[4:]}, "password contains a NUL character"),
        ({"password": SECRET + "\x1b"}, "password contains a control character"),
        ({"password": SECRET * 2000}, "password is 42000 characters long"),
    ],
)
def test_bad_values_are_refused_without_repeating_any_value(
    fields: dict[str, object], fragment: str
) -> None:
    message = _error(**fields)
    assert fragment in message
    for secret in (SECRET, SECRET[::-1]):
        assert secret not in message and secret[:8] not in message
    assert "input_value" not in message


def test_the_username_is_trimmed_like_docker_login_does() -> None:
    config = spec.DockerConnectorConfiguration(username="  alice ", password=SECRET)
    assert config.username.get_secret_value() == "alice"


def test_identity_token_username_and_long_tokens_are_fine() -> None:
    config = spec.DockerConnectorConfiguration(username="<token>", password="t" * 8000)
    assert config.password.get_secret_value() == "t" * 8000
