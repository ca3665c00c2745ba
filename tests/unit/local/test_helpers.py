"""The credential-helper protocol's pure parts: timeouts, names, scrubbing helper output.

Running real helpers (get, list, store, erase, failures, hangs) is integration-tested with
the testbed's `docker-credential-testbed`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local.helpers import (
    DEFAULT_HELPER_TIMEOUT,
    TIMEOUT_ENV_VAR,
    CredentialHelper,
    helper_program,
    helper_timeout,
    scrub_output,
)


def test_helper_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TIMEOUT_ENV_VAR, raising=False)
    assert helper_timeout() == DEFAULT_HELPER_TIMEOUT == 10.0
    monkeypatch.setenv(TIMEOUT_ENV_VAR, " 2.5 ")
    assert helper_timeout() == 2.5
    assert helper_timeout(7) == 7
    for bad, message in (("soon", "is not a number of seconds"), ("0", "must be a positive")):
        monkeypatch.setenv(TIMEOUT_ENV_VAR, bad)
        with pytest.raises(LocalConfigError, match=message):
            helper_timeout()


def test_names() -> None:
    helper = CredentialHelper("pass", "credsStore in /x/config.json")
    assert helper.program == "docker-credential-pass"
    assert (
        helper.description
        == "credential helper docker-credential-pass (credsStore in /x/config.json)"
    )


@pytest.mark.parametrize("suffix", ["", "../../bin/sh", "a/b", "a\\b", " pass", "pa\nss"])
def test_suffixes_that_could_name_another_program_are_refused(suffix: str) -> None:
    helper = CredentialHelper(suffix, "credsStore in /x/config.json")
    with pytest.raises(LocalConfigError, match="is not a valid helper suffix"):
        helper.get("r.example")


def test_a_helper_missing_from_path_says_what_it_was_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    helper = CredentialHelper("absent", "credHelpers in /x/config.json")
    with pytest.raises(LocalConfigError) as caught:
        helper.get("r.example")
    assert str(caught.value) == (
        "The credential helper docker-credential-absent (credHelpers in /x/config.json) is not "
        "installed or not on PATH, so credentials for r.example cannot be read. Install "
        "docker-credential-absent, or fix or remove that setting (credHelpers in /x/config.json)."
    )
    with pytest.raises(LocalConfigError, match=r"so it cannot store credentials for r\.example"):
        helper.store("r.example", Credentials("u", "Helper-Secret-1"))
    with pytest.raises(LocalConfigError, match=r"so it cannot erase credentials for r\.example"):
        helper.erase("r.example")


@pytest.mark.parametrize(
    ("output", "kept", "hidden"),
    [
        ('{"Secret": "hunter2-pw"} failed', "failed", "hunter2-pw"),
        ("password=hunter2 locked", "locked", "hunter2"),
        ("token: abc123def456ghi789jkl0 x", "x", "abc123def456ghi789jkl0"),
        ("keychain\nis\tlocked", "keychain is locked", "\n"),
    ],
)
def test_helper_output_is_scrubbed_to_one_short_line(output: str, kept: str, hidden: str) -> None:
    scrubbed = scrub_output(output)
    assert kept in scrubbed and hidden not in scrubbed


def test_long_output_is_cut() -> None:
    scrubbed = scrub_output("word " * 200)
    assert len(scrubbed) <= 301 and scrubbed.endswith("…")


@pytest.mark.parametrize("entry", ["", ".", "bin-here"])
def test_a_helper_found_through_a_relative_path_entry_is_refused(
    entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Go's exec.LookPath (so the docker CLI) refuses programs found relative to the cwd."""
    directory = tmp_path / (entry if entry not in ("", ".") else "")
    directory.mkdir(exist_ok=True)
    planted = directory / "docker-credential-planted"
    planted.write_text("#!/bin/sh\necho pwned\n")
    planted.chmod(0o755)
    other = tmp_path / "absolute-bin"
    other.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", os.pathsep.join([entry, str(other)]))
    helper = CredentialHelper("planted", "credsStore in /x/config.json")
    with pytest.raises(LocalConfigError) as caught:
        helper.get("r.example")  # would start a process (refused in unit tests) if it ran
    message = str(caught.value)
    assert "relative to the current directory" in message
    assert f"PATH entry {entry!r}" in message
    assert "absolute" in message


def test_helpers_come_from_absolute_path_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    absolute = tmp_path / "bin"
    absolute.mkdir()
    program = absolute / "docker-credential-found"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    (tmp_path / "docker-credential-found").write_text("not executable")
    monkeypatch.chdir(tmp_path)
    # A relative entry that does not hold the program is passed over, as Go does.
    monkeypatch.setenv("PATH", os.pathsep.join(["", "nowhere", str(absolute)]))
    assert helper_program("docker-credential-found") == str(program)
    monkeypatch.setenv("PATH", "")
    assert helper_program("docker-credential-found") is None
