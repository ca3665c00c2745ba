"""`zenml-docker logout`: the engine choice is checked before any connector is loaded.

Logging out a registered connector is in tests/integration/cli/test_logout.py.
"""

from __future__ import annotations

from click.testing import CliRunner

from zenml_docker_connector.cli import main


def test_engine_must_be_one_of_the_choices() -> None:
    result = CliRunner().invoke(main, ["logout", "any-name", "--engine", "rkt"])
    assert result.exit_code == 2
    assert "'rkt' is not one of 'auto', 'docker', 'podman', 'both'" in result.output


def test_help_lists_the_engines() -> None:
    result = CliRunner().invoke(main, ["logout", "--help"])
    assert result.exit_code == 0
    assert "[auto|docker|podman|both]" in result.output and "default: auto" in result.output
