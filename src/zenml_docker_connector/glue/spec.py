"""The `docker` connector type as ZenML shows it: name, auth method, fields, resource type.

Names, field names and titles follow ZenML's reference page (they are what users and stack
components already know); the descriptions say what this implementation does differently.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator
from zenml.constants import DOCKER_REGISTRY_RESOURCE_TYPE
from zenml.models import AuthenticationMethodModel, ResourceTypeModel, ServiceConnectorTypeModel
from zenml.service_connectors.docker_service_connector import DockerConfiguration

from zenml_docker_connector.references import parse_registry_reference

CONNECTOR_TYPE = "docker"
PASSWORD_AUTH_METHOD = "password"
RESOURCE_TYPE: str = DOCKER_REGISTRY_RESOURCE_TYPE
LOGO_URL = "https://public-flavor-logos.s3.eu-central-1.amazonaws.com/container_registry/docker.png"

MAX_USERNAME_LENGTH = 512
MAX_PASSWORD_LENGTH = 16 * 1024
"""Generous for cloud tokens (ECR, GCP, Azure: a few kB), small enough for an HTTP header."""
_MIN_SECRET_IN_REGISTRY = 6
"""Shorter passwords occur in registry names by chance ("http")."""


class DockerConnectorConfiguration(DockerConfiguration):
    """ZenML's Docker fields plus an optional TLS opt-out (a built-in server ignores it).

    Errors never repeat the input: pydantic would otherwise show the password in the
    `ValidationError` that `zenml service-connector register` prints.
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    insecure: bool = Field(
        default=False,
        title="Skip TLS certificate verification for this registry (test registries only).",
    )

    @model_validator(mode="before")
    @classmethod
    def _registry_must_not_hold_the_password(cls, data: Any) -> Any:
        """A registry error repeats the value; one holding the password must not get that far."""
        if isinstance(data, dict):
            registry, password = data.get("registry"), data.get("password")
            if isinstance(password, SecretStr):
                password = password.get_secret_value()
            if (
                isinstance(registry, str)
                and isinstance(password, str)
                and len(password) >= _MIN_SECRET_IN_REGISTRY
                and password in registry
            ):
                raise ValueError(
                    "the registry value contains the password (pasted with it?); it is not "
                    "repeated here. Set the registry to [http(s)://]host[:port] only"
                )
        return data

    @field_validator("registry")
    @classmethod
    def _registry_must_parse(cls, value: str | None) -> str | None:
        """Reject junk when the connector is created, not at its first use."""
        if value is not None and value.strip():
            parse_registry_reference(value)
            return value.strip()
        return None

    @field_validator("username")
    @classmethod
    def _username_must_be_usable(cls, value: SecretStr) -> SecretStr:
        """docker login trims the username and refuses an empty one; Basic auth forbids ':'."""
        text = value.get_secret_value().strip()
        if not text:
            raise ValueError("the username is empty; set the registry user name")
        _check_characters("username", text, MAX_USERNAME_LENGTH)
        if ":" in text:
            raise ValueError(
                "the username cannot contain ':' (HTTP Basic authentication and docker's "
                "config files separate username and password with it)"
            )
        return SecretStr(text)

    @field_validator("password")
    @classmethod
    def _password_must_be_usable(cls, value: SecretStr) -> SecretStr:
        """A pasted line break or NUL is a copy-paste accident no registry accepts."""
        text = value.get_secret_value()
        if not text:
            raise ValueError("the password is empty; set the password or access token")
        _check_characters("password", text, MAX_PASSWORD_LENGTH)
        return value


def _check_characters(name: str, text: str, limit: int) -> None:
    """Refuse control characters and oversize values, naming the position, never the value."""
    if len(text) > limit:
        raise ValueError(f"the {name} is {len(text)} characters long; at most {limit} are allowed")
    for position, char in enumerate(text, start=1):
        if char in "\r\n":
            what = "a line break (a trailing newline copied with it?)"
        elif char == "\x00":
            what = "a NUL character"
        elif (ord(char) < 0x20 and char != "\t") or ord(char) == 0x7F:
            what = f"a control character (U+{ord(char):04X})"
        else:
            continue
        raise ValueError(f"the {name} contains {what} at position {position}; remove it")


CONNECTOR_DESCRIPTION = """
Authenticates to a Docker or OCI container registry with a username and a password or
access token (zenml-docker-connector implementation).

Credentials are checked against the registry itself through the OCI distribution API
(Basic and Bearer-token registries, no Docker daemon needed, so verification also works on
a ZenML server). Linked stack components get a Docker client that is already logged in.
`zenml service-connector login` writes the credentials where the docker CLI (and podman)
look, through your credential helper when you use one. `--auto-configure` reuses what
`docker login`, `podman login` or a credential helper already stored.
"""

AUTH_METHOD_DESCRIPTION = """
A username with a password or, preferably, an access token. The registry is asked to accept
them before the connector is saved or used.
"""

RESOURCE_TYPE_DESCRIPTION = """
One Docker/OCI container registry. Name it in any of these forms (a repository path after
the registry is accepted and ignored when matching):

- Docker Hub: docker.io, index.docker.io or https://index.docker.io/v1/[<repository>]
- other registries: [http[s]://]host[:port][/<repository>], e.g. ghcr.io,
  registry.example.com:5000/team or [::1]:5000

Without a scheme the connector uses https, except for loopback hosts (localhost, 127.x,
[::1]), which Docker itself treats as plain-HTTP registries.
"""


def build_connector_type() -> ServiceConnectorTypeModel:
    """A fresh spec object: ZenML attaches the connector class to the object it is given."""
    return ServiceConnectorTypeModel(
        name="Docker Service Connector",
        connector_type=CONNECTOR_TYPE,
        description=CONNECTOR_DESCRIPTION,
        logo_url=LOGO_URL,
        emoji=":whale:",
        supports_auto_configuration=True,
        auth_methods=[
            AuthenticationMethodModel(
                name="Docker username and password/token",
                auth_method=PASSWORD_AUTH_METHOD,
                description=AUTH_METHOD_DESCRIPTION,
                config_class=DockerConnectorConfiguration,
            ),
        ],
        resource_types=[
            ResourceTypeModel(
                name="Docker/OCI container registry",
                resource_type=RESOURCE_TYPE,
                description=RESOURCE_TYPE_DESCRIPTION,
                auth_methods=[PASSWORD_AUTH_METHOD],
                supports_instances=False,
                logo_url=LOGO_URL,
                emoji=":whale:",
            ),
        ],
    )
