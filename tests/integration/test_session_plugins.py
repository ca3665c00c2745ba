"""The session-wide plugins themselves: the secret scan fails a leaky run, the corpus counts.

Each check runs an inner pytest session in a subprocess (the plugins keep session state in
their modules, which an in-process inner session would share with this one).
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent.parent
LEAKED = "Leaky-Secret-4711abcdef"

INNER = f"""
import base64, logging
from click.testing import CliRunner
import click
from testbed.secret_scan import register_secret

@click.command()
def shout():
    click.echo("token: " + {LEAKED!r})

def test_clean():
    register_secret({LEAKED!r}, "inner test password", ["alice"])
    print("nothing to see")

def test_prints_base64():
    print(base64.b64encode(b"alice:" + {LEAKED!r}.encode()).decode())

def test_logs_it():
    logging.getLogger("zenml_docker_connector.inner").debug("secret=%s", {LEAKED!r})

def test_cli_output():
    CliRunner().invoke(shout, [])
"""


def _run_inner(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makepyfile(test_inner=source)
    return pytester.runpytest_subprocess(
        "-p",
        "testbed.secret_scan",
        "-p",
        "testbed.corpus",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--rootdir={pytester.path}",
        "-o",
        f"pythonpath={TESTS_DIR}",
    )


def test_a_secret_in_any_captured_output_fails_the_run(pytester: pytest.Pytester) -> None:
    result = _run_inner(pytester, INNER)
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, out
    result.assert_outcomes(passed=4)
    assert "test_inner.py::test_clean" not in out.split("secret scan: test secrets")[-1]
    for test, form in (
        ("test_prints_base64", "base64 of user:secret"),
        ("test_logs_it", "clear text"),
        ("test_cli_output", "clear text"),
    ):
        assert f"test_inner.py::{test}: " in out and f"inner test password ({form})" in out
    assert "secret scan failed: 3 outputs hold a test secret" in out
    assert LEAKED not in out


def test_a_clean_run_says_so_and_the_corpus_line_counts(pytester: pytest.Pytester) -> None:
    source = """
from testbed.corpus import counted

def test_cases():
    for _ in range(3):
        with counted():
            pass
    try:
        with counted():
            raise AssertionError("not handled")
    except AssertionError:
        pass
"""
    result = _run_inner(pytester, source)
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.OK, out
    assert "bad-input corpus: 4 cases tried, 3 handled cleanly" in out
    assert "secret forms, none found" in out
