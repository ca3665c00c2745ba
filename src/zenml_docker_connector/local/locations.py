"""Every client file location: docker `config.json`, the legacy `.dockercfg`, podman `auth.json`.

Reading and writing differ, as in the tools themselves:
- docker reads and writes `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (an
  unset file in `$DOCKER_CONFIG` does not fall back to the home directory); `~/.dockercfg`
  is read only when there is no config.json (docker-py's rule).
- containers tools (podman, buildah, skopeo; containers-auth.json(5) as containers/image
  implements it) read `$REGISTRY_AUTH_FILE` alone when set; otherwise
  `$XDG_RUNTIME_DIR/containers/auth.json` (`/run/containers/$UID/auth.json` when
  `XDG_RUNTIME_DIR` is unset, where `podman login` writes as root), then
  `$XDG_CONFIG_HOME/containers/auth.json` (default `~/.config`); the docker config they also
  read is covered by the docker sources. `podman login` writes `$REGISTRY_AUTH_FILE`, else
  `$DOCKER_CONFIG/config.json` when that is set, else the first read location.
"""

from __future__ import annotations

import os
from pathlib import Path

from docker.utils import config as docker_config

from zenml_docker_connector.errors import LocalConfigError


def docker_config_file() -> Path:
    """The docker config file the docker CLI would use (no fallback from $DOCKER_CONFIG)."""
    configured: str | None = docker_config.config_path_from_environment()
    home: str = docker_config.home_dir()
    return Path(configured or os.path.join(home, docker_config.DOCKER_CONFIG_FILENAME))


def legacy_dockercfg_file() -> Path:
    """`~/.dockercfg`, read when there is no config.json."""
    home: str = docker_config.home_dir()
    return Path(home) / str(docker_config.LEGACY_DOCKER_CONFIG_FILENAME)


def podman_auth_paths() -> list[Path]:
    """The auth.json files containers tools read, in their order of precedence."""
    explicit = os.environ.get("REGISTRY_AUTH_FILE")
    if explicit:
        return [Path(explicit)]
    paths = []
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        paths.append(Path(runtime_dir) / "containers" / "auth.json")
    elif hasattr(os, "getuid"):
        paths.append(Path(f"/run/containers/{os.getuid()}/auth.json"))
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [*paths, Path(config_home) / "containers" / "auth.json"]


def podman_login_file(*, must_be_usable: bool = True) -> Path:
    """The file `podman login` writes, which podman also reads first.

    podman refuses to work when `XDG_RUNTIME_DIR` names a missing directory; with
    `must_be_usable` we refuse too instead of creating it.
    """
    explicit = os.environ.get("REGISTRY_AUTH_FILE")
    if explicit:
        return Path(explicit)
    docker_dir = os.environ.get("DOCKER_CONFIG")
    if docker_dir:
        return Path(docker_dir) / "config.json"
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir and must_be_usable and not os.path.isdir(runtime_dir):
        raise LocalConfigError(
            f"XDG_RUNTIME_DIR is set to {runtime_dir}, which does not exist, so podman "
            "cannot use its auth file there either. Create that directory, unset "
            "XDG_RUNTIME_DIR, or set REGISTRY_AUTH_FILE to the auth.json to use."
        )
    return podman_auth_paths()[0]


def searched_places() -> list[str]:
    """Every place auto-configuration looks, for "not found" messages."""
    places = ["DOCKER_AUTH_CONFIG", str(docker_config_file()), str(legacy_dockercfg_file())]
    return places + [str(p) for p in podman_auth_paths()]


def same_file(first: Path, second: Path) -> bool:
    return os.path.realpath(first) == os.path.realpath(second)
