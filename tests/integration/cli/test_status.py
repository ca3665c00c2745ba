"""`zenml-docker status`: which class serves ZenML's `docker` type, in this process and in a
fresh interpreter where the plugin is switched off."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from testbed.zenml_fixtures import output_of
from zenml_docker_connector.cli import main

pytestmark = pytest.mark.e2e

OURS = "zenml_docker_connector.glue.connector.DockerServiceConnector"
BUILTIN = "zenml.service_connectors.docker_service_connector.DockerServiceConnector"


def test_in_process_our_class_serves_docker() -> None:
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 0, output_of(result)
    assert f"Connector type 'docker' is served by {OURS} (this plugin)." in result.output


def _status(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("zenml-docker", path=str(Path(sys.executable).parent))
    if executable is None:
        pytest.fail("the zenml-docker executable is not installed next to this Python")
    environment = {
        **os.environ,
        "ZENML_CONFIG_PATH": str(tmp_path / "zenml-home"),
        "ZENML_LOGGING_VERBOSITY": "ERROR",
        "COLUMNS": "200",
        "NO_COLOR": "1",
    }
    environment.pop("ZENML_DOCKER_CONNECTOR_DISABLE", None)
    environment.update(env)
    return subprocess.run(
        [executable, "status"], env=environment, capture_output=True, text=True, timeout=120
    )


def test_a_fresh_interpreter_is_served_by_our_class(tmp_path: Path) -> None:
    result = _status(tmp_path)
    assert result.returncode == 0, output_of(result)
    assert f"served by {OURS} (this plugin)" in " ".join(output_of(result).split())


def test_with_the_disable_switch_the_builtin_serves_and_status_says_why(tmp_path: Path) -> None:
    result = _status(tmp_path, ZENML_DOCKER_CONNECTOR_DISABLE="1")
    text = " ".join(output_of(result).split())
    assert result.returncode != 0, text
    assert f"Connector type 'docker' is served by {BUILTIN}, not this plugin:" in text
    assert "ZENML_DOCKER_CONNECTOR_DISABLE=1 is set in this environment; unset it" in text
    assert "zenml-docker-connector is not active in this environment." in text
