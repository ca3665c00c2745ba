"""`import zenml_docker_connector`: cheap, activating, and lazy about ZenML."""

from __future__ import annotations

from importlib.metadata import version

import pytest

import zenml_docker_connector
from zenml_docker_connector.glue.connector import DockerServiceConnector


def test_the_connector_class_is_reachable_from_the_package() -> None:
    assert zenml_docker_connector.DockerServiceConnector is DockerServiceConnector
    assert "DockerServiceConnector" in zenml_docker_connector.__all__
    # The one version (pyproject reads it from __init__) is the one the installed package says.
    assert zenml_docker_connector.__version__ == version("zenml-docker-connector")


def test_unknown_attributes_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = zenml_docker_connector.nothing_here  # type: ignore[attr-defined]


def test_the_readme_s_pull_secret_helpers_import_from_where_it_says() -> None:
    from zenml_docker_connector import pull_secrets
    from zenml_docker_connector.glue import pull_secrets as glue_pull_secrets

    for name in ("pull_secret_manifest", "image_pull_secrets", "kubernetes_pod_settings"):
        assert getattr(pull_secrets, name) is getattr(glue_pull_secrets, name)
    assert sorted(pull_secrets.__all__) == sorted(
        ["pull_secret_manifest", "image_pull_secrets", "kubernetes_pod_settings"]
    )
