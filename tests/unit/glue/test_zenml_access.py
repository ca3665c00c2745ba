"""What the glue asks ZenML, answered in this process (no server, no registered connector)."""

from __future__ import annotations

import pytest

from zenml_docker_connector import patches
from zenml_docker_connector.glue import activation
from zenml_docker_connector.glue.zenml_access import _why_not_ours, docker_type_status


def test_this_process_is_served_by_our_class() -> None:
    status = docker_type_status()
    assert status.ours and status.reasons == ()
    assert status.connector_class == "zenml_docker_connector.glue.connector.DockerServiceConnector"


def test_reasons_when_not_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patches, "_failures", {})
    monkeypatch.setenv(activation.DISABLE_ENV, "1")
    patches.record_failure(patches.ZENML_REGISTRY, ImportError("no module named zenml.x"))
    disabled, failed = _why_not_ours()
    assert disabled.startswith("ZENML_DOCKER_CONNECTOR_DISABLE=1 is set in this environment")
    assert failed.startswith("activation failed: zenml-docker-connector patch")
    assert "ImportError: no module named zenml.x." in failed
    monkeypatch.delenv(activation.DISABLE_ENV)
    monkeypatch.setattr(patches, "_failures", {})
    (never,) = _why_not_ours()
    assert "the plugin was not activated in this process" in never
