"""Corpus runner: credential helpers that misbehave (helper_output.yaml)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from testbed import corpus
from testbed.corpus import Case, CorpusRun
from testbed.credential_helper import CredentialHelper
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.local.discovery import find_local_credentials
from zenml_docker_connector.local.helpers import TIMEOUT_ENV_VAR
from zenml_docker_connector.local.login import login_local_clients, logout_local_clients
from zenml_docker_connector.references import parse_registry_reference

REFERENCE = parse_registry_reference("127.0.0.1:5000")
CASES = corpus.load("helper_output", default_paths=())
ACTIONS = {"get": "get", "list": "list", "store": "store", "erase": "erase"}
ACTIONS["auto-configure"] = "get"
SCRIPT_FIELDS = ("stdout", "stderr", "exit_code", "seconds", "echo_stdin", "orphan", "signal")


def _install_broken(kind: str, directory: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A broken `docker-credential-broken`; returns the suffix to configure."""
    directory.mkdir()
    program = directory / "docker-credential-broken"
    if kind == "directory":
        program.mkdir()
    elif kind == "not-executable":
        program.write_text("#!/bin/sh\necho '{}'\n")
        program.chmod(0o644)
    elif kind == "bad-interpreter":
        program.write_text("#!/nonexistent/interpreter\n")
        program.chmod(0o755)
    elif kind == "not-a-program":
        program.write_bytes(b"\x7fELF\x00garbage\x00\x01\x02")
        program.chmod(0o755)
    else:  # a working-looking program, reachable only through a relative PATH entry
        program.write_text("#!/bin/sh\necho '{}'\n")
        program.chmod(0o755)
        monkeypatch.chdir(directory)
        entry = "." if kind == "current-directory" else ""
        monkeypatch.setenv("PATH", f"{entry}{os.pathsep}{os.environ['PATH']}")
        return "broken"
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    return "broken"


def _configure(setting: str, suffix: str) -> None:
    """Name the helper in config.json (credsStore / credHelpers) or podman's auth.json."""
    if setting == "podman":
        Path(os.environ["REGISTRY_AUTH_FILE"]).write_text(
            json.dumps({"credHelpers": {str(REFERENCE): suffix}})
        )
        return
    data: dict[str, Any] = (
        {"credsStore": suffix}
        if setting == "credsStore"
        else {"credHelpers": {str(REFERENCE): suffix}}
    )
    (Path(os.environ["DOCKER_CONFIG"]) / "config.json").write_text(json.dumps(data))


def _direct(path: str, engine: str, secret: str) -> None:
    if path == "get":
        find_local_credentials(REFERENCE)
    elif path == "list":
        find_local_credentials(None)
    elif path == "store":
        login_local_clients(REFERENCE, Credentials("alice", secret), engine=engine)
    else:
        logout_local_clients(REFERENCE, engine=engine)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("case", "path"), corpus.params(CASES))
def test_helper_output(
    case: Case,
    path: str,
    run: CorpusRun,
    credential_helper: CredentialHelper,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv(TIMEOUT_ENV_VAR, "2")
    fields = case.fields
    setting = fields.get("setting", "credsStore")
    if "install" in fields:
        suffix = _install_broken(fields["install"], tmp_path / "broken-bin", monkeypatch)
    else:
        suffix = credential_helper.name
        script = {
            k: corpus.with_secret(fields[k], run.secret) for k in SCRIPT_FIELDS if k in fields
        }
        credential_helper.script(**script, actions=(ACTIONS[path],))
    _configure(setting, suffix)
    with run.attempt():
        if path == "auto-configure":
            corpus.check_cli(run.auto_configure(str(REFERENCE)), case, (run.secret,))
        else:
            with pytest.raises(case.error_type) as caught:
                _direct(path, "podman" if setting == "podman" else "docker", run.secret)
            corpus.check_message(str(caught.value), case, (run.secret,))
