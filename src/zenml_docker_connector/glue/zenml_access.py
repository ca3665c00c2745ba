"""What the glue asks ZenML: a registered connector, the container engine, who serves `docker`.

These are the only questions the rest of the package needs answered by ZenML; keeping them
here keeps `registry/` and `local/` free of ZenML imports.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass

from zenml_docker_connector.glue import activation, spec
from zenml_docker_connector.glue.connector import DockerServiceConnector
from zenml_docker_connector.errors import DockerConnectorError


def load_docker_connector(name_id_or_prefix: str) -> DockerServiceConnector:
    """The connector with its secrets, built with our class; no registry round trip."""
    from zenml.client import Client
    from zenml.service_connectors.service_connector_registry import service_connector_registry

    client = Client()
    # The keyword that loads the secrets was `load_secrets` before ZenML renamed it.
    parameters = inspect.signature(client.get_service_connector).parameters
    secrets_flag = "expand_secrets" if "expand_secrets" in parameters else "load_secrets"
    try:
        model = client.get_service_connector(
            name_id_or_prefix, allow_name_prefix_match=False, **{secrets_flag: True}
        )
    except KeyError as error:
        raise _not_registered(name_id_or_prefix, error, "--connector_type docker") from None
    connector = service_connector_registry.instantiate_connector(model=model)
    if not isinstance(connector, DockerServiceConnector):
        raise DockerConnectorError(
            f"Service connector '{name_id_or_prefix}' is of type '{model.type}', served by "
            f"{type(connector).__name__}; zenml-docker works on `docker` connectors only. "
            "`zenml-docker status` tells which class serves the `docker` type here."
        )
    return connector


@dataclass(frozen=True)
class ConnectorIdentity:
    """How ZenML names a registered connector: what a derived name or a label is made of."""

    name: str
    id: str


def connector_identity(name_id_or_prefix: str) -> ConnectorIdentity:
    """The connector's name and id, without loading its secrets."""
    from zenml.client import Client

    try:
        model = Client().get_service_connector(name_id_or_prefix, allow_name_prefix_match=False)
    except KeyError as error:
        raise _not_registered(name_id_or_prefix, error, "--resource_type docker-registry") from None
    return ConnectorIdentity(name=model.name, id=str(model.id))


def docker_registry_client(
    identity: ConnectorIdentity, resource_id: str | None = None
) -> DockerServiceConnector:
    """The `docker` client ZenML hands out for the connector's registry.

    For a `docker` connector that is the connector itself; AWS, GCP and Azure connectors
    mint short-lived registry credentials (`expires_at` set). ZenML checks the connector on
    the way (locally, or on the server behind a REST store).
    """
    from zenml.client import Client
    from zenml.exceptions import AuthorizationException

    try:
        client = Client().get_service_connector_client(
            identity.id, resource_type=spec.RESOURCE_TYPE, resource_id=resource_id
        )
    except (AuthorizationException, ValueError, KeyError, NotImplementedError) as error:
        raise DockerConnectorError(
            f"ZenML could not get registry credentials from service connector "
            f"'{identity.name}': {_first_line(error)}"
        ) from None
    if not isinstance(client, DockerServiceConnector):
        raise DockerConnectorError(
            f"Service connector '{identity.name}' handed out a {type(client).__name__} for "
            f"'{spec.RESOURCE_TYPE}', not a connector of this plugin, so its credentials "
            "cannot be checked here. `zenml-docker status` tells which class serves the "
            "`docker` type."
        )
    return client


def _first_line(error: Exception, limit: int = 300) -> str:
    """ZenML's own message, first line only: pydantic's further lines repeat input values."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    text = "".join(ch for ch in lines[0] if ch.isprintable())
    return text if len(text) <= limit else text[:limit] + "…"


def _not_registered(
    name_id_or_prefix: str, error: KeyError, list_filter: str
) -> DockerConnectorError:
    return DockerConnectorError(
        f"No service connector named '{name_id_or_prefix}' is registered: {error}. "
        f"List them with `zenml service-connector list {list_filter}`."
    )


def configured_container_engine() -> str | None:
    """ZenML's `container_engine` setting ("docker"/"podman"), None if unset or unsupported.

    The setting exists from ZenML 0.94.3 (`GlobalConfiguration.container_engine`, overridable
    with `ZENML_CONTAINER_ENGINE`); older versions have no such field, so every failure here
    means "not configured".
    """
    try:
        from zenml.config.global_config import GlobalConfiguration
    except ImportError:
        return None
    try:
        value = getattr(GlobalConfiguration(), "container_engine", None)
    except Exception:  # noqa: BLE001 - an unreadable global config must not break a login
        return None
    text = str(getattr(value, "value", value) or "").strip().lower()
    return text if text in ("docker", "podman") else None


@dataclass(frozen=True)
class ServingStatus:
    """Which class serves connector type `docker` in this process, and why when not ours."""

    connector_class: str
    ours: bool
    reasons: tuple[str, ...]


def docker_type_status() -> ServingStatus:
    """Ask ZenML's connector registry, as `zenml service-connector register` would."""
    from zenml.service_connectors.service_connector_registry import service_connector_registry

    spec = service_connector_registry.get_service_connector_type("docker")
    served_by = spec.connector_class
    name = f"{served_by.__module__}.{served_by.__qualname__}" if served_by else "nothing"
    ours = served_by is DockerServiceConnector
    return ServingStatus(name, ours, () if ours else _why_not_ours())


def _why_not_ours() -> tuple[str, ...]:
    reasons = []
    disabled = os.environ.get(activation.DISABLE_ENV, "")
    if activation.disabled():
        reasons.append(
            f"{activation.DISABLE_ENV}={disabled} is set in this environment; unset it to use "
            "zenml-docker-connector."
        )
    if activation.last_error is not None:
        error = activation.last_error
        reasons.append(
            f"activation failed with {type(error).__name__}: {error}. Check that the installed "
            "ZenML version is supported (see the README)."
        )
    if not reasons:
        reasons.append(
            "the plugin was not activated in this process: neither ZenML's init hook nor the "
            "start-up .pth line ran (is zenml-docker-connector installed in this Python "
            "environment, next to ZenML?)."
        )
    return tuple(reasons)
