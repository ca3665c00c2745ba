"""`zenml-docker pull-secret`: options checked before ZenML is asked; the refresh notice.

Emitting verified secrets for registered connectors is in
tests/integration/cli/test_pull_secret.py.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from zenml_docker_connector.cli import main
from zenml_docker_connector.cli.pull_secret import refresh_notice


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--name", "Reg_Cred"], "not a valid Kubernetes Secret name"),
        (["--namespace", "Team.A"], "not a valid Kubernetes namespace"),
        (["--output", "toml"], "'toml' is not one of 'yaml', 'json'"),
    ],
)
def test_bad_options_fail_before_any_connector_is_loaded(args: list[str], words: str) -> None:
    result = CliRunner().invoke(main, ["pull-secret", "never-looked-up", *args])
    assert result.exit_code == 2
    assert words in result.output
    assert "never-looked-up" not in result.output  # no lookup, so no "not registered" error


def test_help_shows_the_cli_shape() -> None:
    result = CliRunner().invoke(main, ["pull-secret", "--help"])
    assert result.exit_code == 0
    for option in ("--name", "--namespace", "--output", "--file", "--resource-id"):
        assert option in result.output
    assert "kubectl apply -f -" in result.output


def test_refresh_notice_says_when_and_what_to_run() -> None:
    expires = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
    now = datetime(2030, 1, 1, 0, 30, tzinfo=timezone.utc)
    notice = refresh_notice("ecr-connector", expires, now=now)
    assert "expire at 2030-01-01T12:00:00Z (in 11 h 30 min)" in notice
    assert "zenml-docker pull-secret ecr-connector" in notice
