"""ZenML as the live source of registry credentials, for `docker-credential-zenml`.

`fetch` asks ZenML's `get_service_connector_client(..., resource_type="docker-registry")`,
so a `docker` connector gives its username and password and an AWS, GCP or Azure connector a
fresh short-lived token (with `expires_at`). Run as a module it is the helper's child process
(`helper.fetch`): a JSON request on stdin, a JSON answer on stdout, where nothing else may
write: ZenML's own prints and logs are sent to stderr at the descriptor level.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from zenml.client import Client

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import DockerConnectorError
from zenml_docker_connector.glue.zenml_access import docker_registry_client
from zenml_docker_connector.helper.keys import DOCKER_HUB_KEY, registry_key
from zenml_docker_connector.kubernetes.pull_secret import SecretOrigin
from zenml_docker_connector.references import RegistryReference

FETCH_TIMEOUT_ENV = "ZENML_DOCKER_CREDENTIAL_FETCH_TIMEOUT"
DEFAULT_FETCH_TIMEOUT = 120
MAX_REQUEST_BYTES = 64 * 1024


@dataclass(frozen=True)
class ConnectorVersion:
    """A registered connector as ZenML names it, and when it last changed."""

    name: str
    id: str
    updated: str


@dataclass(frozen=True)
class Fetched:
    """Credentials ZenML handed out for a registry, and whose they are."""

    connector: ConnectorVersion
    registry: RegistryReference
    credentials: Credentials = field(repr=False)
    expires_at: float | None
    """Epoch seconds when the credentials expire; None for a static password."""


def mapping_key(reference: RegistryReference) -> str:
    """How the helper names `reference` (see `helper.keys`)."""
    return DOCKER_HUB_KEY if reference.is_docker_hub else registry_key(reference.netloc)


def connector_version(name_id_or_prefix: str) -> ConnectorVersion:
    """The connector's name, id and `updated` time, without its secrets."""
    try:
        model = Client().get_service_connector(name_id_or_prefix, allow_name_prefix_match=False)
    except KeyError:
        raise DockerConnectorError(
            f"no ZenML service connector '{name_id_or_prefix}' is registered (deleted?); "
            "list them with `zenml service-connector list`, then run "
            "`zenml-docker configure-docker` again"
        ) from None
    return ConnectorVersion(model.name, str(model.id), str(model.updated))


def fetch(name_id_or_prefix: str, resource_id: str | None) -> Fetched:
    """Fresh registry credentials from the connector, through ZenML."""
    version = connector_version(name_id_or_prefix)
    client = docker_registry_client(
        SecretOrigin(connector_name=version.name, connector_id=version.id), resource_id
    )
    return Fetched(
        connector=version,
        registry=client.registry_reference(),
        credentials=client.credentials(),
        expires_at=_epoch(client.expires_at),
    )


def _epoch(moment: datetime | None) -> float | None:
    """ZenML keeps `expires_at` as naive UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """The child's answer to one request from `helper.fetch`."""
    connector, resource_id = request.get("connector"), request.get("resource_id")
    known = request.get("known_updated")
    if not isinstance(connector, str) or not (resource_id is None or isinstance(resource_id, str)):
        return {"error": "malformed request from docker-credential-zenml"}
    if isinstance(known, str):
        version = connector_version(connector)
        if version.updated == known:
            return {"updated": known, "unchanged": True}
    fetched = fetch(connector, resource_id)
    return {
        "updated": fetched.connector.updated,
        "unchanged": False,
        "username": fetched.credentials.username or "",
        "secret": fetched.credentials.secret or "",
        "expires_at": fetched.expires_at,
        "registry": mapping_key(fetched.registry),
    }


def main() -> None:
    """Child process entry: stdout is the answer channel, everything else goes to stderr."""
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    signal.signal(signal.SIGALRM, _timed_out)
    signal.alarm(_timeout())
    try:
        raw = sys.stdin.buffer.read(MAX_REQUEST_BYTES)
        request = json.loads(raw.decode("utf-8"))
        result = answer(request) if isinstance(request, dict) else {"error": "malformed request"}
    except DockerConnectorError as error:
        result = {"error": _first_line(str(error))}
    except TimeoutError:
        result = {"error": f"ZenML did not answer within {_timeout()} s ({FETCH_TIMEOUT_ENV})"}
    except Exception as error:  # noqa: BLE001 - the helper must get one line, not a traceback
        result = {"error": f"ZenML failed: {type(error).__name__}: {_first_line(str(error))}"}
    with os.fdopen(answer_fd, "w", encoding="utf-8") as channel:
        json.dump(result, channel)


def _timeout() -> int:
    try:
        return max(1, int(os.environ.get(FETCH_TIMEOUT_ENV, "") or DEFAULT_FETCH_TIMEOUT))
    except ValueError:
        return DEFAULT_FETCH_TIMEOUT


def _timed_out(signum: int, frame: object) -> None:
    raise TimeoutError


def _first_line(text: str, limit: int = 300) -> str:
    """The first line only: further lines of ZenML's and pydantic's errors repeat inputs."""
    lines = text.strip().splitlines() or ["(no message)"]
    line = "".join(ch for ch in lines[0] if ch.isprintable())
    return line if len(line) <= limit else line[:limit] + "…"


if __name__ == "__main__":
    main()
