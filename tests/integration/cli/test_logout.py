"""`zenml-docker logout NAME`: loads the connector, removes its login, says what it removed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from zenml_docker_connector.cli.logout import logout
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.local.login import login_local_clients
from zenml_docker_connector.references import parse_registry_reference


@pytest.fixture
def files(
    tmp_path: Path,
    docker_config_dir: Path,
    containers_auth_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, Path]:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("ZENML_CONTAINER_ENGINE", raising=False)
    return docker_config_dir / "config.json", containers_auth_file


def _register(name: str, registry: str) -> None:
    from zenml.client import Client

    Client().create_service_connector(
        name=name,
        connector_type="docker",
        auth_method="password",
        configuration={"username": "cli-user", "password": "cli-Secret-9", "registry": registry},
        verify=False,
        list_resources=False,
    )


def test_logout_removes_the_login_and_says_what(unique_name: str, files: tuple[Path, Path]) -> None:
    config, authfile = files
    registry = "registry.example:5000"
    _register(unique_name, registry)
    login_local_clients(
        parse_registry_reference(registry), Credentials("cli-user", "cli-Secret-9"), engine="both"
    )

    result = CliRunner().invoke(logout, [unique_name])

    assert result.exit_code == 0, result.output
    assert f"Logged out of {registry}. Removed:" in result.output
    assert f"docker: auths entry '{registry}' from {config}" in result.output
    assert f"podman: auths entry '{registry}' from {authfile}" in result.output
    assert "cli-Secret-9" not in result.output
    assert json.loads(config.read_text()) == {"auths": {}}
    assert json.loads(authfile.read_text()) == {"auths": {}}

    again = CliRunner().invoke(logout, [unique_name, "--engine", "docker"])
    assert again.exit_code == 0, again.output
    assert f"Nothing to remove: no local login for {registry} found in {config}." in again.output


def test_logout_of_an_unknown_connector_is_a_clear_error(files: Any) -> None:
    result = CliRunner().invoke(logout, ["no-such-connector-xyz"])
    assert result.exit_code == 1
    assert "No service connector named 'no-such-connector-xyz'" in result.output
