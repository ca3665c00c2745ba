"""`zenml-docker`: the group, its commands and its version."""

from __future__ import annotations

from click.testing import CliRunner

from zenml_docker_connector import __version__
from zenml_docker_connector.cli import main


def test_the_group_lists_its_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    expected = ["configure-docker", "doctor", "exec", "logout", "pull-secret", "status"]
    assert sorted(main.commands) == expected
    for command in expected:
        assert command in result.output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"zenml-docker, version {__version__}"
