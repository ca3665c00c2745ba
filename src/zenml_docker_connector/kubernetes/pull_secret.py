"""The `kubernetes.io/dockerconfigjson` Secret that lets a kubelet pull from one registry.

Its `.dockerconfigjson` is a docker `config.json` with one `auths` entry under the docker CLI's
key (`local.client_files.DOCKER`) holding `username`, `password` and `auth` (a kubelet reads
`auth` and falls back to the two fields; docker and podman read `auth`). Labels name the
connector (label values are restricted, so the exact name and the registry are annotations);
expiring credentials carry their expiry as an annotation, for a refresh job to find.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import DockerConnectorError
from zenml_docker_connector.kubernetes.names import (
    check_namespace,
    check_secret_name,
    default_secret_name,
    label_value,
)
from zenml_docker_connector.local.client_files import DOCKER
from zenml_docker_connector.references import RegistryReference

SECRET_TYPE = "kubernetes.io/dockerconfigjson"
DATA_KEY = ".dockerconfigjson"
MANAGED_BY = "zenml-docker-connector"

LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_CONNECTOR = "zenml.io/service-connector"
LABEL_CONNECTOR_ID = "zenml.io/service-connector-id"
ANNOTATION_CONNECTOR = "zenml.io/service-connector-name"
ANNOTATION_REGISTRY = "zenml.io/docker-registry"
ANNOTATION_EXPIRES_AT = "zenml.io/credentials-expire-at"


@dataclass(frozen=True)
class SecretOrigin:
    """The ZenML connector a Secret comes from (its default name and labels)."""

    connector_name: str
    connector_id: str

    def default_name(self) -> str:
        return default_secret_name(self.connector_name, self.connector_id)


def docker_config_json(reference: RegistryReference, credentials: Credentials) -> dict[str, Any]:
    """`{"auths": {KEY: {"username", "password", "auth"}}}`; not for an identity token, which
    kubelets (Basic auth only) know nothing of: such a Secret would fail at the first pull."""
    if credentials.identity_token:
        raise DockerConnectorError(
            f"The credentials for {reference} are a docker identity token, which Kubernetes "
            "cannot use to pull images. Register the connector with a username and a password "
            "or access token instead, then retry."
        )
    if not credentials.complete:
        raise DockerConnectorError(
            f"The connector for {reference} has no username and password, so there is nothing "
            "to put into an image pull secret. Register it with credentials, then retry."
        )
    auth = credentials.basic_value()
    entry = {"username": credentials.username, "password": credentials.secret, "auth": auth}
    return {"auths": {DOCKER.key(reference): entry}}


def build_pull_secret(
    reference: RegistryReference,
    credentials: Credentials,
    origin: SecretOrigin,
    *,
    name: str | None = None,
    namespace: str | None = None,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """The Secret manifest for `kubectl apply` (no namespace: kubectl's current one).

    ValueError for a name or namespace Kubernetes rejects, DockerConnectorError for credentials
    a kubelet cannot use.
    """
    payload = json.dumps(docker_config_json(reference, credentials), separators=(",", ":"))
    metadata: dict[str, Any] = {"name": check_secret_name(name or origin.default_name())}
    if namespace is not None:
        metadata["namespace"] = check_namespace(namespace)
    metadata["labels"] = {
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_CONNECTOR: label_value(origin.connector_name),
        LABEL_CONNECTOR_ID: label_value(origin.connector_id),
    }
    metadata["annotations"] = {
        ANNOTATION_CONNECTOR: origin.connector_name,
        ANNOTATION_REGISTRY: DOCKER.key(reference),
    }
    if expires_at is not None:
        metadata["annotations"][ANNOTATION_EXPIRES_AT] = format_timestamp(expires_at)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": SECRET_TYPE,
        "data": {DATA_KEY: base64.b64encode(payload.encode()).decode("ascii")},
    }


def as_utc(moment: datetime) -> datetime:
    """ZenML stores `expires_at` as naive UTC; aware values are converted."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC, to the second, as Kubernetes writes timestamps."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")
