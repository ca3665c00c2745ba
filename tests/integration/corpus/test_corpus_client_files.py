"""Corpus runner: broken docker/podman client files (client_files.yaml)."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed import corpus
from testbed.corpus import Case, CorpusRun
from testbed.zenml_fixtures import register_connector
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.local.discovery import find_local_credentials
from zenml_docker_connector.local.json_files import MAX_FILE_BYTES
from zenml_docker_connector.local.login import login_local_clients, logout_local_clients
from zenml_docker_connector.references import parse_registry_reference

REFERENCE = parse_registry_reference("127.0.0.1:5000")
DEFAULT_PATHS = {
    "docker": ("discover", "login", "logout", "auto-configure", "cli-login"),
    "podman": ("discover", "login", "logout", "auto-configure"),
    "dockercfg": ("discover", "auto-configure"),
    "env": ("discover", "auto-configure"),
}
CASES = [
    case if case.paths else Case(**{**case.__dict__, "paths": DEFAULT_PATHS[case.fields["file"]]})
    for case in corpus.load("client_files", default_paths=())
]


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def _content(fields: dict[str, Any], secret: str) -> bytes:
    text = json.dumps(fields["json"]) if "json" in fields else fields.get("content", "")
    return str(corpus.with_secret(text, secret)).encode(fields.get("encoding", "utf-8"))


def _make(path: Path, special: str, sockets: list[socket.socket]) -> None:
    """Put `special` where the file `path` would be."""
    if special == "directory":
        path.mkdir()
    elif special == "fifo":
        os.mkfifo(path)
    elif special == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sockets.append(sock)
    elif special == "device":
        path.symlink_to("/dev/zero")
    elif special == "symlink-loop":
        path.symlink_to(path)
    elif special == "huge":
        with path.open("wb") as handle:
            handle.truncate(MAX_FILE_BYTES + 1)
    elif special == "unreadable":
        path.symlink_to("/proc/self/mem")  # a regular file whose read fails, even for root
    elif special in ("symlink", "dangling-symlink"):
        target = path.with_name("planted-target")
        if special == "symlink":
            target.write_text("")
        path.symlink_to(target)
    else:
        raise ValueError(f"unknown special {special!r}")


def _place(
    case: Case, home: Path, secret: str, monkeypatch: pytest.MonkeyPatch, sockets: list[Any]
) -> None:
    """Write the case's file where its tool looks (and its lock next to it)."""
    fields = case.fields
    kind = fields["file"]
    if kind == "env":
        monkeypatch.setenv("DOCKER_AUTH_CONFIG", _content(fields, secret).decode())
        return
    if kind == "dockercfg":
        monkeypatch.delenv("DOCKER_CONFIG")
        path = home / ".dockercfg"
    elif kind == "docker":
        path = Path(os.environ["DOCKER_CONFIG"]) / "config.json"
    else:
        path = Path(os.environ["REGISTRY_AUTH_FILE"])
    special = fields.get("special")
    if special == "parent-is-a-file":
        path.parent.mkdir(parents=True, exist_ok=True)
        blocker = path.parent / "a-file"
        blocker.write_text("")
        variable = "DOCKER_CONFIG" if kind == "docker" else "REGISTRY_AUTH_FILE"
        monkeypatch.setenv(variable, str(blocker if kind == "docker" else blocker / "auth.json"))
    elif special:
        _make(path, special, sockets)
    else:
        path.write_bytes(_content(fields, secret))
    if "lock" in fields:
        _make(path.with_name(path.name + ".lock"), fields["lock"], sockets)


def _engine(case: Case) -> str:
    return "podman" if case.fields["file"] == "podman" else "docker"


def _direct(path: str, case: Case, secret: str) -> None:
    if path == "discover":
        find_local_credentials(REFERENCE, timeout=5)
    elif path == "login":
        login_local_clients(REFERENCE, Credentials("alice", secret), engine=_engine(case))
    else:
        logout_local_clients(REFERENCE, engine=_engine(case))


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("case", "path"), corpus.params(CASES))
def test_client_file(
    case: Case,
    path: str,
    run: CorpusRun,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    sockets: list[socket.socket],
) -> None:
    secrets: tuple[str, ...] = (run.secret,)
    if path == "cli-login":
        registry = request.getfixturevalue("htpasswd_registry")
        register_connector(run.name, registry)
        secrets += (registry.password,)
    _place(case, Path(os.environ["HOME"]), run.secret, monkeypatch, sockets)
    with run.attempt():
        if path in ("discover", "login", "logout"):
            with pytest.raises(case.error_type) as caught:
                _direct(path, case, run.secret)
            corpus.check_message(str(caught.value), case, secrets)
        elif path == "auto-configure":
            corpus.check_cli(run.auto_configure(str(REFERENCE)), case, secrets)
        else:
            corpus.check_cli(run.zen("service-connector", "login", run.name), case, secrets)
        assert not Path("/dev/zero.lock").exists()
