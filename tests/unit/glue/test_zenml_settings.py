"""What ZenML's settings say about this process, read in this process."""

from __future__ import annotations

import pytest

from zenml_docker_connector.glue.zenml_settings import (
    configured_container_engine,
    inside_zenml_server,
)


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


def test_a_zenml_server_is_told_by_zenml_s_own_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZENML_SERVER", raising=False)
    assert not inside_zenml_server()
    monkeypatch.setenv("ZENML_SERVER", "true")
    assert inside_zenml_server()
