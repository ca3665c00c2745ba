"""The Python API: verified manifests from registered connectors and from connector instances.

The connector instance with `expires_at` stands for the short-lived registry credentials
that AWS/GCP/Azure connectors hand out (`get_service_connector_client`).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from testbed.leaks import assert_no_secret
from testbed.zenml_fixtures import register_docker_connector as register
from zenml_docker_connector.errors import DockerConnectorError
from zenml_docker_connector.glue.connector import DockerServiceConnector
from zenml_docker_connector.glue.pull_secrets import pull_secret_for, pull_secret_manifest
from zenml_docker_connector.glue.spec import DockerConnectorConfiguration
from zenml_docker_connector.kubernetes.pull_secret import SecretOrigin


def test_short_lived_client_credentials_carry_their_expiry(token_registry: Any) -> None:
    expires_at = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=12)
    client = DockerServiceConnector(
        auth_method="password",
        resource_type="docker-registry",
        config=DockerConnectorConfiguration(
            username=token_registry.username,
            password=token_registry.password,
            registry=token_registry.url,
        ),
        expires_at=expires_at.replace(tzinfo=None),  # naive UTC, as ZenML hands it out
    )
    origin = SecretOrigin(
        connector_name="aws-ecr", connector_id="6f1d0c1e-0000-4000-8000-0000000000e1"
    )
    mark = token_registry.mark()

    secret = pull_secret_for(client, origin, namespace="ml")

    assert token_registry.requests_since(mark), "the registry was not asked"
    assert secret.expires_at == expires_at
    assert secret.registry == token_registry.host
    assert secret.manifest["metadata"]["namespace"] == "ml"
    annotations = secret.manifest["metadata"]["annotations"]
    assert annotations["zenml.io/credentials-expire-at"] == expires_at.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    config = json.loads(base64.b64decode(secret.manifest["data"][".dockerconfigjson"]))
    assert config["auths"][token_registry.host]["password"] == token_registry.password


def test_manifest_of_a_registered_connector_is_verified_afresh_each_time(
    htpasswd_registry: Any, unique_name: str
) -> None:
    register(unique_name, htpasswd_registry)

    for _ in range(2):  # a cached verdict would leave the second call without requests
        mark = htpasswd_registry.mark()
        manifest = pull_secret_manifest(unique_name)
        statuses = [request.status for request in htpasswd_registry.requests_since(mark)]
        assert 200 in statuses, statuses

    assert manifest["type"] == "kubernetes.io/dockerconfigjson"
    assert "namespace" not in manifest["metadata"]


def test_rejected_connector_raises_with_an_actionable_message(
    htpasswd_registry: Any, unique_name: str
) -> None:
    register(unique_name, htpasswd_registry, password="wrong-Password-31")

    with pytest.raises(DockerConnectorError) as caught:
        pull_secret_manifest(unique_name)

    message = str(caught.value)
    assert "rejected" in message and htpasswd_registry.host in message
    assert_no_secret(message, "wrong-Password-31", usernames=[htpasswd_registry.username])


def test_a_registry_the_connector_does_not_serve_is_refused(
    htpasswd_registry: Any, unique_name: str
) -> None:
    register(unique_name, htpasswd_registry)
    with pytest.raises(DockerConnectorError, match=f"service connector '{unique_name}'"):
        pull_secret_manifest(unique_name, resource_id="other.example.com")


@pytest.mark.usefixtures("needs_pull_secret_settings")
def test_the_docs_example_runs(htpasswd_registry: Any, unique_name: str) -> None:
    """The docs page's pipeline settings, executed: both pod settings name the default Secret."""
    page = Path(__file__).parents[3] / "docs" / "docker-service-connector.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)
    [example] = [block for block in blocks if "kubernetes_pod_settings(" in block]
    register(unique_name, htpasswd_registry)
    expected = [pull_secret_manifest(unique_name)["metadata"]["name"]]

    namespace: dict[str, Any] = {}
    exec(example.replace('"my-registry"', repr(unique_name)), namespace)

    settings = namespace["kubernetes"]
    assert settings.pod_settings.image_pull_secrets == expected
    assert settings.orchestrator_pod_settings.image_pull_secrets == expected
    assert namespace["training"].configuration.settings["orchestrator"] is not None


@pytest.mark.parametrize(
    ("registry_fixture", "cold"), [("htpasswd_registry", (2, 0)), ("token_registry", (2, 1))]
)
def test_a_pull_secret_costs_one_fresh_verification(
    request: pytest.FixtureRequest, registry_fixture: str, cold: tuple[int, int], unique_name: str
) -> None:
    """ZenML's own `_verify` in `get_service_connector_client` is the one (uncached) check."""
    registry = request.getfixturevalue(registry_fixture)
    register(unique_name, registry)  # leaves a fresh verdict in the cache: it must not serve
    token_server = registry.token_server
    mark, token_mark = registry.mark(), token_server.mark() if token_server else 0

    pull_secret_manifest(unique_name)

    tokens = len(token_server.requests_since(token_mark)) if token_server else 0
    assert (len(registry.requests_since(mark)), tokens) == cold
