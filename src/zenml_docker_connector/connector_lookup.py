"""Find a registered `docker` connector by name for our own commands (doctor, logout)."""

from __future__ import annotations

import inspect

from zenml_docker_connector.connector import DockerServiceConnector
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
        raise DockerConnectorError(
            f"No service connector named '{name_id_or_prefix}' is registered: {error}. "
            "List them with `zenml service-connector list --type docker`."
        ) from None
    connector = service_connector_registry.instantiate_connector(model=model)
    if not isinstance(connector, DockerServiceConnector):
        raise DockerConnectorError(
            f"Service connector '{name_id_or_prefix}' is of type '{model.type}', served by "
            f"{type(connector).__name__}; zenml-docker works on `docker` connectors only."
        )
    return connector
