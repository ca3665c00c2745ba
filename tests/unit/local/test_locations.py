"""Every client file location, as docker, podman and skopeo decide it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local.locations import (
    docker_config_file,
    legacy_dockercfg_file,
    podman_auth_paths,
    podman_login_file,
    same_file,
    searched_places,
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No location variable set; HOME is tmp_path/home."""
    for name in (
        "DOCKER_CONFIG",
        "REGISTRY_AUTH_FILE",
        "XDG_RUNTIME_DIR",
        "XDG_CONFIG_HOME",
        "DOCKER_AUTH_CONFIG",
    ):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def test_docker_config_file(env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert docker_config_file() == env / ".docker" / "config.json"
    assert legacy_dockercfg_file() == env / ".dockercfg"
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "dc"))
    # No fallback to the home directory when the file in $DOCKER_CONFIG does not exist.
    assert docker_config_file() == tmp_path / "dc" / "config.json"


def test_podman_read_paths(env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert podman_auth_paths() == [
        Path(f"/run/containers/{os.getuid()}/auth.json"),
        env / ".config" / "containers" / "auth.json",
    ]
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert podman_auth_paths() == [
        tmp_path / "run" / "containers" / "auth.json",
        tmp_path / "cfg" / "containers" / "auth.json",
    ]
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "only.json"))
    assert podman_auth_paths() == [tmp_path / "only.json"]


def test_the_file_podman_login_writes(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    assert podman_login_file() == run / "containers" / "auth.json"
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "dc"))
    assert podman_login_file() == tmp_path / "dc" / "config.json"
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "explicit.json"))
    assert podman_login_file() == tmp_path / "explicit.json"


def test_a_missing_runtime_dir_is_refused_only_when_the_file_must_be_usable(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "gone"
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(gone))
    with pytest.raises(LocalConfigError, match=r"XDG_RUNTIME_DIR is set to .*gone, which does not"):
        podman_login_file()
    assert podman_login_file(must_be_usable=False) == gone / "containers" / "auth.json"
    assert not gone.exists()


def test_searched_places_lists_every_source_in_order(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "auth.json"))
    assert searched_places() == [
        "DOCKER_AUTH_CONFIG",
        str(env / ".docker" / "config.json"),
        str(env / ".dockercfg"),
        str(tmp_path / "auth.json"),
    ]


def test_same_file_follows_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert same_file(link, real)
    assert same_file(tmp_path / "a" / ".." / "real.json", real)
    assert not same_file(tmp_path / "other.json", real)
