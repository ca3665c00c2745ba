"""pytest plugin: fixtures that need no service, for unit and integration tests alike.

Client files isolated in `tmp_path` (docker's and podman's, a missing daemon socket) and the
skip for ZenML versions without pull-secret pod settings. The real services are in
`testbed.fixtures`, which only `tests/integration/conftest.py` loads.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def docker_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty DOCKER_CONFIG directory; DOCKER_AUTH_CONFIG is cleared too."""
    directory = tmp_path / "docker-config"
    directory.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))
    monkeypatch.delenv("DOCKER_AUTH_CONFIG", raising=False)
    return directory


@pytest.fixture
def containers_auth_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """REGISTRY_AUTH_FILE for podman/skopeo, pointing at a not yet existing file."""
    path = tmp_path / "containers-auth.json"
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(path))
    return path


@pytest.fixture
def no_docker_daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DOCKER_HOST names a unix socket that does not exist."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such-docker.sock")
    for name in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def isolated_client_files(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    docker_config_dir: Path,
    no_docker_daemon: None,
) -> Path:
    """Every docker/podman client-file location inside tmp_path; returns the fake HOME."""
    from testbed.local_stores import isolate_client_files

    return isolate_client_files(tmp_path, monkeypatch)


@pytest.fixture
def needs_pull_secret_settings() -> None:
    """Skip a test of the pod-settings helpers on ZenML < 0.62, which has no
    `KubernetesPodSettings.image_pull_secrets` (the helpers then say "upgrade ZenML")."""
    from zenml.integrations.kubernetes.pod_settings import KubernetesPodSettings

    if "image_pull_secrets" not in KubernetesPodSettings.model_fields:
        pytest.skip("ZenML < 0.62: KubernetesPodSettings has no image_pull_secrets")
