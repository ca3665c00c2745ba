"""What the CLI and the pull secrets ask ZenML: a registered connector built with our class,
a connector's name and id, who serves `docker`, ZenML's print helpers (so `cli/` imports no
ZenML; `zenml_settings` holds what the connector itself asks).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zenml
import zenml.cli.utils as zenml_cli
from zenml import logger as zenml_logger
from zenml.client import Client
from zenml.exceptions import AuthorizationException
from zenml.service_connectors.service_connector_registry import service_connector_registry

from zenml_docker_connector import patches
from zenml_docker_connector.errors import DockerConnectorError
from zenml_docker_connector.glue import activation, spec
from zenml_docker_connector.glue.connector import DockerServiceConnector
from zenml_docker_connector.kubernetes.pull_secret import SecretOrigin


def load_docker_connector(name_id_or_prefix: str) -> DockerServiceConnector:
    """The connector with its secrets, built with our class; no registry round trip."""
    client = Client()
    try:
        keyword = patches.secrets_keyword(client.get_service_connector)
    except patches.PatchTargetMissingError as error:
        raise DockerConnectorError(str(patches.record_failure(error.patch, error))) from None
    try:
        model = client.get_service_connector(
            name_id_or_prefix, allow_name_prefix_match=False, **{keyword: True}
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


def connector_identity(name_id_or_prefix: str) -> SecretOrigin:
    """The connector's name and id (what a Secret's name and labels derive from), no secrets."""
    try:
        model = Client().get_service_connector(name_id_or_prefix, allow_name_prefix_match=False)
    except KeyError as error:
        raise _not_registered(name_id_or_prefix, error, "--resource_type docker-registry") from None
    return SecretOrigin(connector_name=model.name, connector_id=str(model.id))


def docker_registry_client(
    identity: SecretOrigin, resource_id: str | None = None
) -> DockerServiceConnector:
    """The `docker` client ZenML hands out (checked on the way) for the connector's registry:
    the connector itself, or short-lived credentials minted by an AWS/GCP/Azure connector."""
    try:
        client = Client().get_service_connector_client(
            identity.connector_id, resource_type=spec.RESOURCE_TYPE, resource_id=resource_id
        )
    except (AuthorizationException, ValueError, KeyError, NotImplementedError) as error:
        raise DockerConnectorError(
            f"ZenML could not get registry credentials from service connector "
            f"'{identity.connector_name}': {_first_line(error)}"
        ) from None
    if not isinstance(client, DockerServiceConnector):
        raise DockerConnectorError(
            f"Service connector '{identity.connector_name}' handed out a "
            f"{type(client).__name__} for '{spec.RESOURCE_TYPE}', not a connector of this "
            "plugin, so its credentials cannot be checked here. `zenml-docker status` tells "
            "which class serves the `docker` type."
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


@dataclass(frozen=True)
class ServingStatus:
    """Which class serves connector type `docker` in this process, and why when not ours."""

    connector_class: str
    ours: bool
    reasons: tuple[str, ...]


def docker_type_status() -> ServingStatus:
    """Ask ZenML's connector registry, as `zenml service-connector register` would."""
    docker_type = service_connector_registry.get_service_connector_type("docker")
    served_by = docker_type.connector_class
    name = f"{served_by.__module__}.{served_by.__qualname__}" if served_by else "nothing"
    ours = served_by is DockerServiceConnector
    return ServingStatus(name, ours, () if ours else _why_not_ours())


def _why_not_ours() -> tuple[str, ...]:
    reasons = []
    if activation.disabled():
        reasons.append(
            f"{activation.DISABLE_ENV}={os.environ.get(activation.DISABLE_ENV, '')} is set in "
            "this environment; unset it to use zenml-docker-connector."
        )
    reasons += [f"activation failed: {failure}" for failure in patches.failure_report()]
    if not reasons:
        reasons.append(
            "the plugin was not activated in this process: neither ZenML's init hook nor the "
            "start-up .pth line ran (is zenml-docker-connector installed in this Python "
            "environment, next to ZenML?)."
        )
    return tuple(reasons)


def cli_helper(name: str) -> Callable[..., Any] | None:
    """ZenML's CLI print helper `name`, None where this ZenML has none (0.60: no `success`)."""
    helper: Callable[..., Any] | None = getattr(zenml_cli, name, None)
    return helper


def is_zenml_stdout(stream: Any) -> bool:
    """Is `stream` ZenML's console stream that forwards to standard output (ZenML 0.9x)?"""
    return patches.is_zenml_stdout(stream, zenml_logger)


def zenml_version() -> str:
    version: str = zenml.__version__
    return version
