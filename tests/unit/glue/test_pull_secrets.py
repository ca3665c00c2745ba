"""Pull secrets from connector instances: what is decided before any registry is asked.

Verified manifests (real registries, registered connectors) are in
tests/integration/kubernetes/test_pull_secrets.py.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime, timezone

import pytest
from pydantic import BaseModel

from testbed.leaks import assert_no_secret
from zenml_docker_connector.errors import DockerConnectorError
from zenml_docker_connector.glue.connector import DockerServiceConnector
from zenml_docker_connector.glue.pull_secrets import (
    image_pull_secrets,
    kubernetes_pod_settings,
    pull_secret_for,
    require_pull_secrets_field,
)
from zenml_docker_connector.glue.spec import DockerConnectorConfiguration
from zenml_docker_connector.kubernetes.pull_secret import SecretOrigin

ORIGIN = SecretOrigin(connector_name="ecr", connector_id="5d9b1f7e-3c4a-4e2b-8f00-000000000001")


def _connector(expires_at: datetime | None) -> DockerServiceConnector:
    return DockerServiceConnector(
        auth_method="password",
        resource_type="docker-registry",
        config=DockerConnectorConfiguration(
            username="AWS", password="short-lived-Zq9vX2", registry="192.0.2.1:5000"
        ),
        expires_at=expires_at,
    )


def test_expired_credentials_emit_nothing_and_ask_no_registry() -> None:
    now = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
    expired = _connector(datetime(2030, 1, 1, 11, 59))  # naive UTC, as ZenML stores it

    with pytest.raises(DockerConnectorError) as caught:
        pull_secret_for(expired, ORIGIN, now=now)  # the unit-test guard refuses that address

    message = str(caught.value)
    assert "expired at 2030-01-01T11:59:00Z" in message and "192.0.2.1:5000" in message
    assert "nothing was emitted" in message
    assert_no_secret(message, "short-lived-Zq9vX2", usernames=["AWS"])


def test_image_pull_secrets_with_an_explicit_name_needs_no_lookup() -> None:
    assert image_pull_secrets("any", name="regcred") == ["regcred"]
    with pytest.raises(ValueError, match="not a valid Kubernetes Secret name"):
        image_pull_secrets("any", name="Not Valid")


def test_pod_settings_without_the_field_are_an_upgrade_hint() -> None:
    class OldPodSettings(BaseModel):
        node_selectors: dict[str, str] = {}

    with pytest.raises(DockerConnectorError, match=r"no `image_pull_secrets` field .* 0\.62"):
        require_pull_secrets_field(OldPodSettings)


@pytest.mark.usefixtures("needs_pull_secret_settings")
def test_pod_settings_gain_the_secret_and_keep_everything_else() -> None:
    from zenml.integrations.kubernetes.pod_settings import KubernetesPodSettings

    base = KubernetesPodSettings(
        image_pull_secrets=["other"], node_selectors={"pool": "gpu"}, labels={"team": "a"}
    )
    settings = kubernetes_pod_settings("any", name="regcred", pod_settings=base)

    assert settings.image_pull_secrets == ["other", "regcred"]
    assert settings.node_selectors == {"pool": "gpu"} and settings.labels == {"team": "a"}
    assert base.image_pull_secrets == ["other"]  # the caller's object is not changed
    again = kubernetes_pod_settings("any", name="regcred", pod_settings=settings)
    assert again.image_pull_secrets == ["other", "regcred"]


@pytest.mark.usefixtures("needs_pull_secret_settings")
def test_pod_settings_do_not_need_the_kubernetes_package() -> None:
    settings = kubernetes_pod_settings("any", name="regcred")
    assert settings.image_pull_secrets == ["regcred"]
    if importlib.util.find_spec("kubernetes") is None:
        assert "kubernetes" not in sys.modules
    else:  # pragma: no cover - the test environment does not install it
        pytest.skip("the kubernetes package is installed here; the claim is not testable")
