"""Corpus runner: connector configuration values (config_values.yaml)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from testbed.corpus import (
    Case,
    check_cli,
    check_message,
    counted,
    fingerprint,
    load,
    params,
    with_secret,
)
from testbed.zenml_fixtures import ZenCli
from zenml_docker_connector.spec import DockerConnectorConfiguration

CASES = load("config_values", default_paths=("model", "register"))
DEFAULTS = {"username": "alice", "password": "{secret}", "registry": "127.0.0.1:9"}


@pytest.mark.parametrize(("case", "path"), params(CASES))
def test_config_value(
    case: Case,
    path: str,
    zen: ZenCli,
    unique_name: str,
    new_secret: Callable[..., str],
    watched: tuple[Path, ...],
) -> None:
    secret = new_secret("corpus password")
    values = {k: with_secret(v, secret) for k, v in {**DEFAULTS, **case.fields}.items()}
    with counted():
        before = fingerprint(*watched)
        with pytest.raises(case.error_type) as caught:
            DockerConnectorConfiguration(**values)
        if path == "model":
            check_message(str(caught.value), case, (secret,))
            assert "input_value" not in str(caught.value)
        else:  # only values the model refuses reach the CLI
            arguments = [f"--{name}={value}" for name, value in values.items()]
            result = zen(
                "service-connector", "register", unique_name, "--type", "docker", *arguments
            )
            check_cli(result, case, (secret,))
        assert fingerprint(*watched) == before
