"""Fixtures for docker-credential-zenml tests: a private runtime directory on tmpfs, a mapping."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from zenml_docker_connector.helper import mapping
from zenml_docker_connector.helper.mapping import Route

CONNECTOR_ID = "0b9e1f4c-1111-4222-8333-944455556666"
REGISTRY = "127.0.0.1:5999"


@pytest.fixture
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """XDG_RUNTIME_DIR: a 0700 directory on /dev/shm (tmpfs), as on a desktop session."""
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm (tmpfs) here")
    directory = Path(tempfile.mkdtemp(prefix="zdc-run-", dir="/dev/shm"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def mapping_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A mapping serving REGISTRY from CONNECTOR_ID, 0600, named by ZENML_DOCKER_CREDENTIAL_MAP."""
    path = tmp_path / "mapping.json"
    route = Route(REGISTRY, CONNECTOR_ID, "conn", None, "alice")
    path.write_text(json.dumps({"version": 1, "registries": {REGISTRY: route.as_json()}}))
    path.chmod(0o600)
    monkeypatch.setenv(mapping.MAPPING_ENV, str(path))
    return path
