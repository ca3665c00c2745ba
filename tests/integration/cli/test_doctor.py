"""`zenml-docker doctor CONNECTOR`: loads a registered connector and explains its check."""

from __future__ import annotations

import uuid
from typing import Any

from click.testing import CliRunner

from testbed.leaks import assert_no_secret
from testbed.zenml_fixtures import create_docker_connector


def test_doctor_command(token_registry: Any, no_docker_daemon: None) -> None:
    from zenml_docker_connector.cli import main

    name = f"doctor-{uuid.uuid4().hex[:8]}"
    create_docker_connector(
        name, token_registry.username, token_registry.password, token_registry.url
    )
    result = CliRunner().invoke(main, ["doctor", name, "--repository", "team/app", "--push"])
    assert result.exit_code == 0, result.output
    assert "Token realm:" in result.output and "granted pull,push" in result.output
    assert "Round trips:" in result.output
    assert_no_secret([result.output], token_registry.password)

    missing = CliRunner().invoke(main, ["doctor", "no-such-connector-xyz"])
    assert missing.exit_code != 0 and "no-such-connector-xyz" in missing.output

    push_only = CliRunner().invoke(main, ["doctor", name, "--push"])
    assert push_only.exit_code == 2 and "--repository" in push_only.output
