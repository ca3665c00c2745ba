"""Local login/logout into files under tmp_path, with no credential helper and no client run.

What the real docker CLI, podman and skopeo make of these files, and logins through a
credential helper, are in tests/integration/local/test_login.py.
"""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local.login import login_local_clients, logout_local_clients
from zenml_docker_connector.references import parse_registry_reference

REGISTRY = parse_registry_reference("registry.example:5000")
USER = Credentials("alice", "Login-Secret-1")
AUTH = base64.b64encode(b"alice:Login-Secret-1").decode()


@pytest.fixture(autouse=True)
def isolated(
    tmp_path: Path,
    docker_config_dir: Path,
    containers_auth_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every file a login may touch lives under tmp_path; PATH has no docker and no podman."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", str(_bin(tmp_path)))
    for name in ("XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "ZENML_CONTAINER_ENGINE"):
        monkeypatch.delenv(name, raising=False)


def _bin(tmp_path: Path, *programs: str) -> Path:
    """A PATH directory holding (never run) stand-ins for `programs`."""
    directory = tmp_path / "-".join(("bin", *programs))
    directory.mkdir(exist_ok=True)
    for program in programs:
        (directory / program).write_text("#!/bin/sh\nexit 99\n")
        (directory / program).chmod(0o755)
    return directory


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("password", ["", "x"])
def test_unusable_credentials_are_refused_before_writing(
    docker_config_dir: Path, password: str
) -> None:
    reference = parse_registry_reference("registry.example")
    with pytest.raises(LocalConfigError):
        login_local_clients(reference, Credentials("a:b" if password else "user", password))
    assert list(docker_config_dir.iterdir()) == []


def test_an_unknown_engine_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="engine must be one of"):
        login_local_clients(
            parse_registry_reference("r.example"), Credentials("u", "p"), engine="rkt"
        )


def test_a_missing_xdg_runtime_dir_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REGISTRY_AUTH_FILE")
    monkeypatch.delenv("DOCKER_CONFIG")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "gone"))
    with pytest.raises(LocalConfigError, match="XDG_RUNTIME_DIR"):
        login_local_clients(
            parse_registry_reference("r.example"), Credentials("u", "p"), engine="podman"
        )
    assert not (tmp_path / "gone").exists()


def test_login_and_logout_of_both_files(
    docker_config_dir: Path, containers_auth_file: Path
) -> None:
    config = docker_config_dir / "config.json"
    result = login_local_clients(REGISTRY, USER, engine="both")
    assert result.registry == "registry.example:5000"
    assert result.stored == (
        f"docker: credentials for registry.example:5000 in {config} (not encrypted)",
        f"podman: credentials for registry.example:5000 in {containers_auth_file} (not encrypted)",
    )
    assert result.plaintext_path == config and result.notes == ()
    assert _json(config) == {"auths": {"registry.example:5000": {"auth": AUTH}}}
    assert _json(containers_auth_file) == _json(config)
    assert _mode(config) == _mode(containers_auth_file) == 0o600
    assert USER.secret not in repr(result)

    out = logout_local_clients(REGISTRY)
    assert out.removed == (
        f"docker: auths entry 'registry.example:5000' from {config}",
        f"podman: auths entry 'registry.example:5000' from {containers_auth_file}",
    )
    assert out.checked == (str(config), str(containers_auth_file)) and out.notes == ()
    assert _json(config) == _json(containers_auth_file) == {"auths": {}}
    again = logout_local_clients(REGISTRY, engine="docker")
    assert again.nothing_removed and again.checked == (str(config),)


def test_docker_hub_keys_differ_between_the_files(
    docker_config_dir: Path, containers_auth_file: Path
) -> None:
    hub = parse_registry_reference("docker.io")
    login_local_clients(hub, USER, engine="both")
    assert list(_json(docker_config_dir / "config.json")["auths"]) == [
        "https://index.docker.io/v1/"
    ]
    assert list(_json(containers_auth_file)["auths"]) == ["docker.io"]
    assert len(logout_local_clients(hub).removed) == 2


@pytest.mark.parametrize(
    ("programs", "setting", "docker", "podman", "note"),
    [
        ((), None, True, False, None),
        (("docker",), None, True, False, None),
        (("docker", "podman"), None, True, False, None),
        (("podman",), None, False, True, "Only podman is installed (no docker CLI)"),
        (("podman",), "docker", True, False, None),
        (("docker", "podman"), "podman", True, True, "ZenML's container engine is podman"),
        (("podman",), "podman", False, True, "ZenML's container engine is podman"),
    ],
)
def test_which_clients_an_automatic_login_writes(
    tmp_path: Path,
    docker_config_dir: Path,
    containers_auth_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    programs: tuple[str, ...],
    setting: str | None,
    docker: bool,
    podman: bool,
    note: str | None,
) -> None:
    monkeypatch.setenv("PATH", str(_bin(tmp_path, *programs)))
    result = login_local_clients(REGISTRY, USER, engine_setting=setting)
    written = ((docker_config_dir / "config.json").exists(), containers_auth_file.exists())
    assert written == (docker, podman)
    if note is None:
        assert result.notes == ()
    else:
        assert note in result.notes[0]


def test_with_docker_config_set_podman_shares_the_docker_file(
    docker_config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REGISTRY_AUTH_FILE")
    config = docker_config_dir / "config.json"
    result = login_local_clients(REGISTRY, USER, engine="both")
    assert result.stored[1] == f"podman: reads the same file, {config}"
    assert list(_json(config)["auths"]) == ["registry.example:5000"]
    out = logout_local_clients(REGISTRY)
    assert out.checked == (str(config),) and len(out.removed) == 1
    # Docker Hub has two keys even in one shared file: both are removed.
    hub = parse_registry_reference("docker.io")
    config.write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {}, "docker.io": {}}}))
    assert len(logout_local_clients(hub).removed) == 2


def test_logout_leaves_entries_it_did_not_write_and_says_so(
    docker_config_dir: Path, containers_auth_file: Path
) -> None:
    config = docker_config_dir / "config.json"
    config.write_text(json.dumps({"auths": {"https://registry.example:5000": {"auth": AUTH}}}))
    containers_auth_file.write_text(
        json.dumps({"auths": {"registry.example:5000/team": {"auth": AUTH}}})
    )
    out = logout_local_clients(REGISTRY)
    assert out.nothing_removed
    assert out.notes == (
        f"{config} still has the auths entry 'https://registry.example:5000' for the same "
        "registry, which docker may still use; it was not written by this connector. Remove it "
        "with `docker logout registry.example:5000` if you want it gone.",
        f"{containers_auth_file} still has the auths entry 'registry.example:5000/team' for the "
        "same registry, which podman may still use; it was not written by this connector. "
        "Remove it with `podman logout registry.example:5000/team` if you want it gone.",
    )


def test_logout_creates_nothing(docker_config_dir: Path, containers_auth_file: Path) -> None:
    assert logout_local_clients(REGISTRY).nothing_removed
    assert list(docker_config_dir.iterdir()) == [] and not containers_auth_file.exists()


def test_a_malformed_auths_value_is_refused_untouched(docker_config_dir: Path) -> None:
    config = docker_config_dir / "config.json"
    config.write_text('{"auths": ["x"]}')
    with pytest.raises(LocalConfigError, match="has an 'auths' value that is not a JSON object"):
        login_local_clients(REGISTRY, USER, engine="docker")
    assert config.read_text() == '{"auths": ["x"]}'


@pytest.mark.parametrize(
    ("value", "noted"),
    [
        (None, False),
        ('{"auths": {"other.example": {}}}', False),
        ('{"auths": {"https://registry.example:5000": {}}}', True),
        ("not json", True),
    ],
)
def test_docker_auth_config_naming_the_registry_is_pointed_out(
    monkeypatch: pytest.MonkeyPatch, value: str | None, noted: bool
) -> None:
    if value is not None:
        monkeypatch.setenv("DOCKER_AUTH_CONFIG", value)
    result = login_local_clients(REGISTRY, USER, engine="docker")
    assert any("DOCKER_AUTH_CONFIG is set" in note for note in result.notes) is noted
