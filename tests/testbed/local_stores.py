"""The user's client files in a sandbox, and discovery calls that prove they changed nothing.

Every docker/podman location (HOME, XDG dirs, DOCKER_CONFIG, REGISTRY_AUTH_FILE) is moved
inside the test's tmp_path; `find`/`fails` run `find_local_credentials` and assert that no
file under it changed, and that no error message carries a secret.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from testbed.leaks import assert_no_secret
from testbed.secret_scan import register_secret
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local import discovery
from zenml_docker_connector.local.discovery import FoundCredentials, find_local_credentials
from zenml_docker_connector.local.helpers import helper_timeout
from zenml_docker_connector.references import RegistryReference

USERNAMES = ("testbed", "src-alice", "src-bob", "hubuser", "<token>")
"""Usernames the discovery tests store secrets under (for base64 `user:secret` leak checks)."""
SECRET_SHAPED = register_secret("s3cr3t-Zq9vX2pL8wK4tR7y", "discovery test secret", USERNAMES)

# Every key the docker CLI and its users keep in config.json, in a deliberate, unsorted order.
RICH_CONFIG = """{
\t"proxies": {"default": {"httpProxy": "http://127.0.0.1:3128", "noProxy": "*.local"}},
\t"auths": {
\t\t"https://index.docker.io/v1/": {},
\t\t"zeta.example": {"auth": "dTpw", "email": "a@b.c"},
\t\t"alpha.example": {"identitytoken": "tok"}
\t},
\t"HttpHeaders": {"User-Agent": "x/1"},
\t"credHelpers": {"gcr.io": "gcloud"},
\t"currentContext": "remote",
\t"unknownNumbers": [1, 2.5, 10000000000000000000000, true, null],
\t"unicode": "caf\\u00e9 \u2603",
\t"credsStore": ""
}"""


def isolate_client_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every store location inside tmp_path (DOCKER_CONFIG: see `docker_config_dir`); the HOME."""
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "run").mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    for name in (
        "REGISTRY_AUTH_FILE",
        "DOCKER_AUTH_CONFIG",
        "ZENML_DOCKER_CREDENTIAL_HELPER_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


def write_config(directory: Path, data: Any) -> Path:
    path = directory / "config.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def auth_value(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime of every file under root (the helper's own call log excluded)."""
    found: dict[str, tuple[bytes, int]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.name != "calls.jsonl":
            found[str(path)] = (path.read_bytes(), path.stat().st_mtime_ns)
    return found


def _root() -> Path:
    """tmp_path of the running test (`isolate_client_files` puts HOME directly inside it)."""
    return Path(os.environ["HOME"]).parent


def find(reference: RegistryReference | None = None, **kwargs: Any) -> FoundCredentials:
    """find_local_credentials, asserting that no file changed."""
    before = snapshot(_root())
    found = find_local_credentials(reference, **kwargs)
    assert snapshot(_root()) == before
    return found


def registries() -> list[str]:
    """The registries auto-configuration can choose from (sorted), asserting no file changed."""
    before = snapshot(_root())
    names = sorted(discovery._registries(helper_timeout()))
    assert snapshot(_root()) == before
    return names


def fails(*secrets: str, reference: RegistryReference | None = None, **kwargs: Any) -> str:
    """Discovery must raise LocalConfigError, change no file and leak no secret."""
    before = snapshot(_root())
    with pytest.raises(LocalConfigError) as caught:
        find_local_credentials(reference, **kwargs)
    message = str(caught.value)
    assert snapshot(_root()) == before
    assert_no_secret(message, *secrets, usernames=USERNAMES)
    return message
