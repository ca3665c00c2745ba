"""`zenml-docker status`: how the answer is printed (the real answers, in-process and in a
fresh interpreter, are in tests/integration/cli/test_status.py)."""

from __future__ import annotations

import platform

import pytest
import zenml
from click.testing import CliRunner

from zenml_docker_connector import __version__
from zenml_docker_connector.cli import main
from zenml_docker_connector.glue import zenml_access


def test_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        zenml_access,
        "docker_type_status",
        lambda: zenml_access.ServingStatus("pkg.Ours", True, ()),
    )
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 0, result.output
    assert (
        f"zenml-docker-connector {__version__}, ZenML {zenml.__version__}, "
        f"Python {platform.python_version()}"
    ) in result.output
    assert "Connector type 'docker' is served by pkg.Ours (this plugin)." in result.output


def test_not_ours_lists_every_reason_and_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        zenml_access,
        "docker_type_status",
        lambda: zenml_access.ServingStatus("pkg.Builtin", False, ("[first] reason", "second")),
    )
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 1
    assert "Connector type 'docker' is served by pkg.Builtin, not this plugin:" in result.output
    # Reasons are printed as they are: no rich markup is interpreted.
    assert "  - [first] reason\n" in result.output and "  - second\n" in result.output
    assert "zenml-docker-connector is not active in this environment." in result.output
