"""Corpus runner: registry references (references.yaml), parsed and through `zenml register`."""

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
from zenml_docker_connector.references import parse_registry_reference

CASES = load("references", default_paths=("parse", "register"))


@pytest.mark.parametrize(("case", "path"), params(CASES))
def test_reference(
    case: Case,
    path: str,
    zen: ZenCli,
    unique_name: str,
    new_secret: Callable[..., str],
    watched: tuple[Path, ...],
) -> None:
    secret = new_secret("password typed into a registry reference")
    password = new_secret("corpus connector password")
    value = with_secret(case.fields["input"], secret)
    with counted():
        before = fingerprint(*watched)
        with pytest.raises(case.error_type) as caught:
            parse_registry_reference(value)  # type: ignore[arg-type]
        if path == "parse":
            check_message(str(caught.value), case, (secret,))
        else:  # only inputs the parser refuses reach the CLI: none may reach a registry
            result = zen(
                "service-connector",
                "register",
                unique_name,
                "--type",
                "docker",
                "--username=alice",
                f"--password={password}",
                f"--registry={value}",
            )
            check_cli(result, case, (secret, password))
        assert fingerprint(*watched) == before
