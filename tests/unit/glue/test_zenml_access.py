"""What the glue asks ZenML, answered in this process (no server, no registered connector)."""

from __future__ import annotations

import pytest

from zenml_docker_connector.glue import activation
from zenml_docker_connector.glue.zenml_access import (
    _why_not_ours,
    configured_container_engine,
    docker_type_status,
)


def test_this_process_is_served_by_our_class() -> None:
    status = docker_type_status()
    assert status.ours and status.reasons == ()
    assert status.connector_class == "zenml_docker_connector.glue.connector.DockerServiceConnector"


def test_reasons_when_not_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(activation.DISABLE_ENV, "1")
    monkeypatch.setattr(activation, "last_error", ImportError("no module named zenml.x"))
    disabled, failed = _why_not_ours()
    assert disabled.startswith("ZENML_DOCKER_CONNECTOR_DISABLE=1 is set in this environment")
    assert failed.startswith("activation failed with ImportError: no module named zenml.x.")
    monkeypatch.delenv(activation.DISABLE_ENV)
    monkeypatch.setattr(activation, "last_error", None)
    (never,) = _why_not_ours()
    assert "the plugin was not activated in this process" in never


@pytest.mark.parametrize(("value", "engine"), [("podman", "podman"), ("docker", "docker")])
def test_the_container_engine_setting(
    monkeypatch: pytest.MonkeyPatch, value: str, engine: str
) -> None:
    from zenml.config.global_config import GlobalConfiguration

    if "container_engine" not in GlobalConfiguration.model_fields:
        pytest.skip("this ZenML has no container engine setting (< 0.94.3)")
    monkeypatch.setenv("ZENML_CONTAINER_ENGINE", value)
    assert configured_container_engine() == engine


def test_no_engine_setting_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZENML_CONTAINER_ENGINE", raising=False)
    assert configured_container_engine() in (None, "docker", "podman")
    monkeypatch.setenv("ZENML_CONTAINER_ENGINE", "rkt")
    assert configured_container_engine() is None
