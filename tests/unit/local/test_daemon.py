"""Logged-in Docker clients: their errors (helpers bypassed: tests/unit/test_patches_docker_py.py).

No daemon here: the login itself is integration-tested against the testbed's dockerd.
"""

from __future__ import annotations

import pytest
from docker.errors import APIError

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import (
    CredentialsRejectedError,
    DockerDaemonUnavailableError,
    RegistryError,
)
from zenml_docker_connector.local.daemon import _daemon_error, _login_error
from zenml_docker_connector.references import parse_registry_reference

SECRET = "Daemon-Secret-1"
REGISTRY = parse_registry_reference("r.example:5000")


@pytest.mark.parametrize(
    "explanation",
    ["unauthorized: incorrect username or password", "Get https://r/v2/: 401 Unauthorized"],
)
def test_a_refused_login_names_neither_user_nor_secret(explanation: str) -> None:
    error = _login_error(REGISTRY, Credentials("alice", SECRET), APIError("x", None, explanation))
    assert isinstance(error, CredentialsRejectedError) and error.registry == "r.example:5000"
    assert "rejected the credentials when the Docker daemon logged in" in str(error)
    assert "alice" not in str(error)  # ZenML keeps the username secret too


def test_other_login_failures_keep_the_daemon_explanation_without_the_secret() -> None:
    explanation = f"Get https://r.example:5000/v2/: x509: unknown authority ({SECRET})"
    error = _login_error(REGISTRY, Credentials("alice", SECRET), APIError("x", None, explanation))
    message = str(error)
    assert type(error) is RegistryError and "x509: unknown authority (********)" in message
    assert SECRET not in message and "/etc/docker/certs.d/r.example:5000/ca.crt" in message


def test_no_daemon_says_where_it_looked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere.sock")
    error = _daemon_error("Error while fetching server API version\nmore detail")
    assert isinstance(error, DockerDaemonUnavailableError)
    message = str(error)
    assert "No Docker daemon answered at unix:///nowhere.sock" in message
    assert "(Error while fetching server API version)" in message and "more detail" not in message
    monkeypatch.delenv("DOCKER_HOST")
    assert "unix:///var/run/docker.sock (the default)" in str(_daemon_error(""))


def test_no_daemon_message_hides_url_passwords_and_escapes_control_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"ssh://alice:{SECRET}@127.0.0.1:1")
    error = _daemon_error(
        f"Connect to ssh://alice:{SECRET}@127.0.0.1:1 failed \x1b]0;pwned\x07 {SECRET}",
        Credentials("alice", SECRET),
    )
    message = str(error)
    assert SECRET not in message and "\x1b" not in message and "\x07" not in message
    assert "ssh://alice:********@127.0.0.1:1" in message and "\\x1b]0;pwned" in message
