"""`zenml-docker doctor`: argument checks that come before any connector is loaded.

The command against a registered connector and a real registry is in
tests/integration/cli/test_doctor.py.
"""

from __future__ import annotations

from click.testing import CliRunner

from zenml_docker_connector.cli import doctor as doctor_module
from zenml_docker_connector.cli import main


def test_push_needs_a_repository() -> None:
    result = CliRunner().invoke(main, ["doctor", "any-name", "--push"])
    assert result.exit_code == 2 and "--push needs --repository NS/REPO." in result.output


def test_help_explains_the_options() -> None:
    result = CliRunner().invoke(main, ["doctor", "--help"])
    assert result.exit_code == 0
    assert "--repository" in result.output and "NS/REPO" in result.output
    assert "no secrets shown" in " ".join(result.output.split())
    assert doctor_module.doctor.name == "doctor"
