"""The `kubernetes.io/dockerconfigjson` Secret that lets a kubelet pull from one registry.

Its `.dockerconfigjson` is a docker `config.json` holding one `auths` entry, under the key the
docker CLI itself writes (`local.client_files.DOCKER`: Docker Hub is `https://index.docker.io/v1/`,
every other registry `host[:port]`), with `username`, `password` and `auth` (base64 of
`user:secret`) all set (a kubelet reads `auth` and falls back to the two fields; docker and
podman read `auth`). Labels name the connector that produced the Secret (label values are
restricted, so the exact name and the registry go into annotations), and credentials that
expire carry their expiry as an annotation so a refresh job can find them.
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
    """The ZenML connector a Secret comes from: its default name and labels derive from it."""

    connector_name: str
    connector_id: str

    def default_name(self) -> str:
        return default_secret_name(self.connector_name, self.connector_id)


def docker_config_json(reference: RegistryReference, credentials: Credentials) -> dict[str, Any]:
    """`{"auths": {KEY: {"username", "password", "auth"}}}` for `reference`.

    An identity token is refused: kubelets send `username:password` as Basic auth and know
    nothing of docker's `identitytoken`, so such a Secret would fail at the first pull.
    """
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
    entry = {
        "username": credentials.username,
        "password": credentials.secret,
        "auth": credentials.basic_value(),
    }
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
    """The Secret manifest, ready for `kubectl apply`; no namespace = kubectl's current one.

    Raises ValueError for a name or namespace Kubernetes would reject, DockerConnectorError
    for credentials a kubelet cannot use.
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
