"""ZenML glue: Kubernetes image pull secrets made from a connector, and the settings naming them.

ZenML's Kubernetes components take only the *names* of pull secrets; this makes the Secret
from the credentials a connector hands out (through ZenML's `get_service_connector_client`,
so AWS/GCP/Azure short-lived credentials are treated alike), once the registry accepted them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from zenml_docker_connector.errors import DockerConnectorError
from zenml_docker_connector.glue.connector import DockerServiceConnector, first_check_afresh
from zenml_docker_connector.glue.zenml_access import connector_identity, docker_registry_client
from zenml_docker_connector.kubernetes.names import check_secret_name
from zenml_docker_connector.kubernetes.pull_secret import (
    SecretOrigin,
    as_utc,
    build_pull_secret,
    format_timestamp,
)
from zenml_docker_connector.registry.verification import verify_registry_access

_POD_SETTINGS_MISSING: str | None = None
try:  # ZenML's Kubernetes integration module; it does not need the `kubernetes` package
    from zenml.integrations.kubernetes.pod_settings import KubernetesPodSettings
except ImportError as error:  # kubernetes_pod_settings says what to do instead
    _POD_SETTINGS_MISSING = str(error)


@dataclass(frozen=True)
class PullSecret:
    """A verified Secret manifest and what a user should be told about it."""

    manifest: dict[str, Any] = field(repr=False)
    name: str
    registry: str
    expires_at: datetime | None
    """UTC; None for credentials that do not expire."""


def pull_secret_manifest(
    connector: str,
    *,
    name: str | None = None,
    namespace: str | None = None,
    resource_id: str | None = None,
) -> dict[str, Any]:
    """The `kubernetes.io/dockerconfigjson` Secret for a registered connector, as a dict.

    `connector` is a name or id; `resource_id` picks the registry of a connector serving
    several. Raises `DockerConnectorError` (unknown connector, expired or rejected
    credentials) and ValueError (a name or namespace Kubernetes would refuse).
    """
    return create_pull_secret(
        connector, name=name, namespace=namespace, resource_id=resource_id
    ).manifest


def create_pull_secret(
    connector: str,
    *,
    name: str | None = None,
    namespace: str | None = None,
    resource_id: str | None = None,
) -> PullSecret:
    """`pull_secret_manifest` with the facts the CLI reports (name, registry, expiry)."""
    origin = connector_identity(connector)
    with first_check_afresh() as checked:
        client = docker_registry_client(origin, resource_id)
    return pull_secret_for(client, origin, name=name, namespace=namespace, checked=bool(checked))


def pull_secret_for(
    client: DockerServiceConnector,
    origin: SecretOrigin,
    *,
    name: str | None = None,
    namespace: str | None = None,
    now: datetime | None = None,
    checked: bool = False,
) -> PullSecret:
    """The verified Secret for a `docker` connector instance (a registry client).

    `checked`: the registry accepted the client afresh moments ago (`first_check_afresh`).
    """
    reference = client.registry_reference()
    expires_at = as_utc(client.expires_at) if client.expires_at is not None else None
    if expires_at is not None and expires_at <= (now or datetime.now(timezone.utc)):
        raise DockerConnectorError(
            f"The credentials service connector '{origin.connector_name}' holds for "
            f"{reference} expired at {format_timestamp(expires_at)}; nothing was emitted. "
            "Refresh or re-register the connector, then retry."
        )
    credentials = client.credentials()
    # Built first so that what a kubelet cannot use (an identity token) fails without a
    # round trip; it leaves this function only after the registry accepted the credentials.
    manifest = build_pull_secret(
        reference, credentials, origin, name=name, namespace=namespace, expires_at=expires_at
    )
    # Emitting a Secret is an explicit request: ask the registry now, not a cached verdict
    # (unless `checked`: then the verdict is the fresh one, and this costs no request).
    verify_registry_access(
        reference, credentials, settings=client.connection_settings(), use_cache=checked
    )
    return PullSecret(
        manifest=manifest,
        name=manifest["metadata"]["name"],
        registry=reference.resource_id,
        expires_at=expires_at,
    )


def image_pull_secrets(connector: str, *, name: str | None = None) -> list[str]:
    """The `image_pull_secrets` value naming the Secret `zenml-docker pull-secret` makes.

    Reads only the connector's name and id (cheap enough for pipeline code); pass `name`
    when the Secret was made with `--name`.
    """
    if name is not None:
        return [check_secret_name(name)]
    return [connector_identity(connector).default_name()]


def kubernetes_pod_settings(
    connector: str,
    *,
    name: str | None = None,
    pod_settings: KubernetesPodSettings | None = None,
) -> KubernetesPodSettings:
    """ZenML's `KubernetesPodSettings` (`pod_settings`, else new) with the pull secret added."""
    if _POD_SETTINGS_MISSING is not None:
        raise DockerConnectorError(
            f"ZenML's Kubernetes pod settings cannot be imported here ({_POD_SETTINGS_MISSING}); "
            "use `image_pull_secrets(...)` and set the names yourself."
        )
    require_pull_secrets_field(KubernetesPodSettings)
    base = pod_settings if pod_settings is not None else KubernetesPodSettings()
    names = list(base.image_pull_secrets)
    names += [n for n in image_pull_secrets(connector, name=name) if n not in names]
    updated: KubernetesPodSettings = base.model_copy(update={"image_pull_secrets": names})
    return updated


def require_pull_secrets_field(settings_class: type[Any]) -> None:
    """ZenML before 0.62 has pod settings without `image_pull_secrets`: say so, and what then."""
    if "image_pull_secrets" not in getattr(settings_class, "model_fields", {}):
        raise DockerConnectorError(
            f"This ZenML version's {settings_class.__name__} has no `image_pull_secrets` field "
            "(it arrived in ZenML 0.62.0). Upgrade ZenML, or attach the Secret to the pods' "
            "service account instead (`kubectl patch serviceaccount`)."
        )
