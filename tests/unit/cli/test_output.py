"""How `zenml-docker` prints: ZenML's helpers, with markup off (texts quote registries)."""

from __future__ import annotations

import logging
import sys

import click
import pytest
from click.testing import CliRunner

from zenml_docker_connector.cli.output import declare, fail, logs_to_stderr, success, warn


@click.command()
@click.argument("kind")
def speak(kind: str) -> None:
    text = "[bold]literal[/bold] from registry [::1]:5000"
    {"declare": declare, "warn": warn, "success": success, "fail": fail}[kind](text)


@pytest.mark.parametrize("kind", ["declare", "warn", "success"])
def test_texts_are_printed_as_they_are(kind: str) -> None:
    result = CliRunner().invoke(speak, [kind])
    assert result.exit_code == 0
    assert "[bold]literal[/bold] from registry [::1]:5000" in result.output


def test_fail_exits_non_zero_with_the_text() -> None:
    result = CliRunner().invoke(speak, ["fail"])
    assert result.exit_code == 1
    assert "literal" in result.output and "[::1]:5000" in result.output


def test_logs_to_stderr_keeps_stdout_for_data(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("zdc-test-logs-to-stderr")
    handler = logging.StreamHandler(sys.stdout)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with logs_to_stderr():
            logger.warning("a log line")
            print("a print")
        logger.warning("after the block")
    finally:
        logger.removeHandler(handler)

    out, err = capsys.readouterr()
    assert "a log line" in err and "a print" in err
    assert out == "after the block\n"  # the handler writes to stdout again
