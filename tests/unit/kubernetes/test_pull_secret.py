"""The Secret manifest: docker's config.json inside, connector labels, expiry, schema-valid."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import kubernetes_validate
import pytest

from testbed.leaks import assert_no_secret
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import DockerConnectorError
from zenml_docker_connector.kubernetes.pull_secret import (
    ANNOTATION_CONNECTOR,
    ANNOTATION_EXPIRES_AT,
    ANNOTATION_REGISTRY,
    DATA_KEY,
    LABEL_CONNECTOR,
    LABEL_CONNECTOR_ID,
    LABEL_MANAGED_BY,
    SecretOrigin,
    build_pull_secret,
    docker_config_json,
    format_timestamp,
)
from zenml_docker_connector.references import parse_registry_reference

ORIGIN = SecretOrigin(
    connector_name="team registry", connector_id="1f0e5d5c-0000-4000-8000-00000000abcd"
)
PASSWORD = "pa:ss-wörd-Zq9"
CREDENTIALS = Credentials("robot", PASSWORD)


def decoded(manifest: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.b64decode(manifest["data"][DATA_KEY]))
    return data


def validate(manifest: dict[str, Any]) -> None:
    """Kubernetes' published schema (offline, strict: no unknown fields)."""
    kubernetes_validate.validate(manifest, kubernetes_validate.latest_version(), strict=True)


def test_manifest_holds_the_docker_config_entry_under_the_cli_key() -> None:
    reference = parse_registry_reference("registry.example.com:5000/team/app")
    manifest = build_pull_secret(reference, CREDENTIALS, ORIGIN)

    assert manifest["apiVersion"] == "v1" and manifest["kind"] == "Secret"
    assert manifest["type"] == "kubernetes.io/dockerconfigjson"
    assert list(manifest["data"]) == [".dockerconfigjson"]
    assert decoded(manifest) == {
        "auths": {
            "registry.example.com:5000": {
                "username": "robot",
                "password": PASSWORD,
                "auth": base64.b64encode(f"robot:{PASSWORD}".encode()).decode(),
            }
        }
    }
    validate(manifest)


@pytest.mark.parametrize("name", ["docker.io", "index.docker.io", "https://index.docker.io/v1/"])
def test_docker_hub_uses_the_docker_cli_key(name: str) -> None:
    config = docker_config_json(parse_registry_reference(name), CREDENTIALS)
    assert list(config["auths"]) == ["https://index.docker.io/v1/"]


def test_labels_and_annotations_name_the_connector() -> None:
    reference = parse_registry_reference("ghcr.io")
    manifest = build_pull_secret(reference, CREDENTIALS, ORIGIN, namespace="pipelines")
    metadata = manifest["metadata"]

    assert metadata["name"] == ORIGIN.default_name()
    assert metadata["namespace"] == "pipelines"
    assert metadata["labels"] == {
        LABEL_MANAGED_BY: "zenml-docker-connector",
        LABEL_CONNECTOR: "team-registry",
        LABEL_CONNECTOR_ID: ORIGIN.connector_id,
    }
    assert metadata["annotations"] == {
        ANNOTATION_CONNECTOR: "team registry",
        ANNOTATION_REGISTRY: "ghcr.io",
    }
    validate(manifest)


def test_without_namespace_the_manifest_has_none() -> None:
    manifest = build_pull_secret(
        parse_registry_reference("ghcr.io"), CREDENTIALS, ORIGIN, name="regcred"
    )
    assert manifest["metadata"]["name"] == "regcred"
    assert "namespace" not in manifest["metadata"]
    validate(manifest)


def test_expiring_credentials_carry_the_expiry_annotation() -> None:
    naive_utc = datetime(2031, 5, 6, 7, 8, 9, 123456)
    manifest = build_pull_secret(
        parse_registry_reference("ghcr.io"), CREDENTIALS, ORIGIN, expires_at=naive_utc
    )
    assert manifest["metadata"]["annotations"][ANNOTATION_EXPIRES_AT] == "2031-05-06T07:08:09Z"
    validate(manifest)


def test_aware_expiry_is_written_in_utc() -> None:
    aware = datetime(2031, 5, 6, 9, 8, 9, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(aware) == "2031-05-06T07:08:09Z"


@pytest.mark.parametrize(("name", "namespace"), [("Bad_Name", None), ("ok", "Not.A.Namespace")])
def test_names_kubernetes_would_refuse_are_refused(name: str, namespace: str | None) -> None:
    with pytest.raises(ValueError, match="not a valid Kubernetes"):
        build_pull_secret(
            parse_registry_reference("ghcr.io"), CREDENTIALS, ORIGIN, name=name, namespace=namespace
        )


def test_identity_tokens_are_refused_without_showing_them() -> None:
    token = "refresh-token-value-Zq9vX2"
    with pytest.raises(DockerConnectorError) as caught:
        docker_config_json(
            parse_registry_reference("ghcr.io"), Credentials.from_store("<token>", token)
        )
    assert "identity token" in str(caught.value) and "ghcr.io" in str(caught.value)
    assert_no_secret(str(caught.value), token, usernames=["<token>"])


def test_credentials_without_a_secret_are_refused() -> None:
    with pytest.raises(DockerConnectorError, match="no username and password"):
        docker_config_json(parse_registry_reference("ghcr.io"), Credentials(None, None))
