"""Credential discovery for `--auto-configure` from hand-written files: no tool, no helper run.

The cases where the real docker CLI, podman, skopeo or a credential helper write the stores
are in tests/integration/local/test_discovery.py.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from testbed.local_stores import (
    SECRET_SHAPED,
    auth_value,
    fails,
    find,
    registries,
    write_config,
)
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.references import parse_registry_reference

pytestmark = pytest.mark.usefixtures("isolated_client_files")


@pytest.mark.parametrize(
    "key",
    [
        "https://index.docker.io/v1/",
        "index.docker.io",
        "docker.io",
        "registry-1.docker.io",
        "https://registry-1.docker.io/v2/",
    ],
)
def test_docker_hub_aliases(key: str, docker_config_dir: Path) -> None:
    write_config(
        docker_config_dir,
        {
            "auths": {
                key: {"auth": auth_value("hubuser", SECRET_SHAPED)},
                "127.0.0.1:1": {"auth": auth_value("x", "y")},
            }
        },
    )
    found = find(None)  # two registries: Docker Hub is preferred
    assert found.reference.is_docker_hub and found.credentials.username == "hubuser"
    hub = find(parse_registry_reference("docker.io/library/alpine"))
    assert hub.credentials.secret == SECRET_SHAPED
    assert registries() == ["127.0.0.1:1", "docker.io"]


def test_nothing_found_says_where_it_looked(tmp_path: Path, docker_config_dir: Path) -> None:
    message = fails()
    assert "No registry credentials were found locally" in message
    assert str(docker_config_dir / "config.json") in message
    assert str(tmp_path / "run" / "containers" / "auth.json") in message
    assert "docker login" in message and "--username" in message
    message = fails(reference=parse_registry_reference("127.0.0.1:9/ns/app"))
    assert "No credentials for the registry 127.0.0.1:9/ns/app" in message


@pytest.mark.parametrize("setting", ["credsStore", "credHelpers"])
def test_missing_helper_binary(setting: str, docker_config_dir: Path) -> None:
    value: Any = "absent" if setting == "credsStore" else {"127.0.0.1:5": "absent"}
    write_config(docker_config_dir, {setting: value})
    message = fails(reference=parse_registry_reference("127.0.0.1:5"))
    assert "The credential helper docker-credential-absent " in message
    assert "is not installed or not on PATH" in message
    where = "credsStore" if setting == "credsStore" else "credHelpers['127.0.0.1:5']"
    assert f"({where} in {docker_config_dir / 'config.json'})" in message
    assert "Install docker-credential-absent" in message


def test_helper_name_with_a_path_is_refused(docker_config_dir: Path) -> None:
    write_config(docker_config_dir, {"credsStore": "../../bin/sh"})
    assert "is not a valid helper suffix" in fails()


def test_config_json_that_is_a_directory(docker_config_dir: Path) -> None:
    (docker_config_dir / "config.json").mkdir()
    message = fails()
    assert f"{docker_config_dir / 'config.json'} is a directory" in message


def test_config_json_that_cannot_be_read(docker_config_dir: Path) -> None:
    # Root reads any mode bits; a symlink loop is unreadable for root too.
    (docker_config_dir / "config.json").symlink_to(docker_config_dir / "config.json")
    message = fails()
    assert "cannot be read or written (Too many levels of symbolic links)" in message


def test_config_json_that_is_not_utf8(docker_config_dir: Path) -> None:
    (docker_config_dir / "config.json").write_bytes(b'{"auths": {"\xff": {}}}')
    assert "is not UTF-8 text" in fails()


def test_helpers_are_found_on_path_not_by_shell(docker_config_dir: Path) -> None:
    """A helper suffix with shell metacharacters is just a missing program."""
    write_config(docker_config_dir, {"credsStore": "x;touch pwned"})
    assert "docker-credential-x;touch pwned (credsStore" in fails()
    assert not (Path.cwd() / "pwned").exists() and shutil.which("docker-credential-x") is None


def test_invalid_helper_timeout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZENML_DOCKER_CREDENTIAL_HELPER_TIMEOUT", "soon")
    assert "is not a number of seconds" in fails()


def test_an_identity_token_entry_is_refused_unless_allowed(docker_config_dir: Path) -> None:
    write_config(docker_config_dir, {"auths": {"127.0.0.1:5": {"identitytoken": SECRET_SHAPED}}})
    message = fails(SECRET_SHAPED)
    assert "identity token" in message and "identitytoken of the auths entry" in message
    found = find(None, allow_identity_token=True)
    assert found.credentials.identity_token and found.credentials.secret == SECRET_SHAPED
    assert SECRET_SHAPED not in repr(found)


def test_username_and_password_fields_count_like_auth(docker_config_dir: Path) -> None:
    write_config(
        docker_config_dir,
        {"auths": {"https://127.0.0.1:5/v2/": {"username": "u", "password": SECRET_SHAPED}}},
    )
    found = find(parse_registry_reference("127.0.0.1:5"))
    assert found.credentials == Credentials("u", SECRET_SHAPED)
    assert (
        found.source
        == f"auths entry 'https://127.0.0.1:5/v2/' in {docker_config_dir / 'config.json'}"
    )


def test_the_exact_config_key_wins_over_other_spellings(docker_config_dir: Path) -> None:
    write_config(
        docker_config_dir,
        {
            "auths": {
                "https://127.0.0.1:5": {"auth": auth_value("other", "pw-other")},
                "127.0.0.1:5": {"auth": auth_value("exact", "pw-exact")},
            }
        },
    )
    assert find(parse_registry_reference("127.0.0.1:5")).credentials.username == "exact"


def test_a_helper_placeholder_alone_is_no_credential(docker_config_dir: Path) -> None:
    write_config(docker_config_dir, {"auths": {"127.0.0.1:5": {}}})
    assert registries() == []
    assert "No credentials for the registry 127.0.0.1:5" in fails(
        reference=parse_registry_reference("127.0.0.1:5")
    )


# --- the rules docker, docker-py and containers/image follow ---------------------------------


def _podman_file(tmp_path: Path, auths: dict[str, Any]) -> Path:
    path = tmp_path / "run" / "containers" / "auth.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": auths}))
    return path


@pytest.mark.parametrize(
    ("wanted", "user"),
    [
        ("docker.io/team", "team-account"),  # what `podman login docker.io/team` wrote
        ("docker.io/team/app", "team-account"),
        ("team/app", "team-account"),
        # A connector names a registry and namespace, not an image: no implied library/.
        ("docker.io/ubuntu", "hub-account"),
        ("docker.io/library/ubuntu", "library-account"),
        ("docker.io/other", "hub-account"),
        ("docker.io", "hub-account"),
    ],
)
def test_podman_docker_hub_namespace_keys(tmp_path: Path, wanted: str, user: str) -> None:
    _podman_file(
        tmp_path,
        {
            "docker.io/library": {"auth": auth_value("library-account", "pw-1")},
            "docker.io/team": {"auth": auth_value("team-account", "pw-2")},
            "docker.io": {"auth": auth_value("hub-account", "pw-3")},
        },
    )
    assert find(parse_registry_reference(wanted)).credentials.username == user


@pytest.mark.parametrize("file_kind", ["docker", "podman"])
@pytest.mark.parametrize("other", ["index.docker.io", "https://index.docker.io/v1/"])
@pytest.mark.parametrize("exact_first", [True, False])
def test_the_exact_docker_io_key_wins(
    tmp_path: Path, docker_config_dir: Path, file_kind: str, other: str, exact_first: bool
) -> None:
    """docker-py (`resolve_authconfig`) and containers/image look up `docker.io` first."""
    entries = [
        ("docker.io", {"auth": auth_value("exact-account", "pw-exact")}),
        (other, {"auth": auth_value("alias-account", "pw-alias")}),
    ]
    auths = dict(entries if exact_first else entries[::-1])
    if file_kind == "docker":
        write_config(docker_config_dir, {"auths": auths})
    else:
        _podman_file(tmp_path, auths)
    found = find(parse_registry_reference("docker.io/team/app"))
    assert found.credentials.username == "exact-account"
    assert "'docker.io'" in found.source


@pytest.mark.parametrize("file_kind", ["docker", "podman"])
@pytest.mark.parametrize(
    "key", ["http://index.docker.io/v1/", "index.docker.io", "http://docker.io"]
)
def test_legacy_docker_hub_keys_are_read(
    tmp_path: Path, docker_config_dir: Path, file_kind: str, key: str
) -> None:
    auths = {key: {"auth": auth_value("legacy-account", SECRET_SHAPED)}}
    if file_kind == "docker":
        write_config(docker_config_dir, {"auths": auths})
    else:
        _podman_file(tmp_path, auths)
    assert registries() == ["docker.io"]
    found = find(parse_registry_reference("docker.io"))
    assert found.credentials == Credentials("legacy-account", SECRET_SHAPED)


def _legacy_dockercfg(home: Path, monkeypatch: pytest.MonkeyPatch, content: str | bytes) -> Path:
    monkeypatch.delenv("DOCKER_CONFIG")
    path = home / ".dockercfg"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("this is not a docker config", "is not valid JSON"),
        ("auth: abc\nemail: x", "is neither JSON nor the old two-line"),
        ("auth = %%%not-base64%%%\nemail = a@b.c\n", "whose 'auth' is not base64"),
        ('["a list"]', "is not a JSON object"),
        ('{"https://index.docker.io/v1/": "not an object"}', "is not a JSON object"),
        ('{"r.example": {"auth": "@@@"}}', "whose 'auth' is not base64"),
        (b"\xff\xfe\x00garbage", "is not UTF-8 text"),
    ],
)
def test_a_corrupt_dockercfg_is_an_error_naming_the_file(
    isolated_client_files: Path, monkeypatch: pytest.MonkeyPatch, content: str | bytes, problem: str
) -> None:
    path = _legacy_dockercfg(isolated_client_files, monkeypatch, content)
    message = fails(SECRET_SHAPED)
    assert f"legacy docker config file {path}" in message
    assert problem in message


@pytest.mark.parametrize(
    "content",
    [
        json.dumps(
            {"https://index.docker.io/v1/": {"auth": auth_value("old", SECRET_SHAPED), "email": ""}}
        ),
        f"auth = {auth_value('old', SECRET_SHAPED)}\nemail = old@example.com\n",
    ],
)
def test_both_dockercfg_formats_are_read(
    isolated_client_files: Path, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    path = _legacy_dockercfg(isolated_client_files, monkeypatch, content)
    found = find(None)
    assert found.reference.is_docker_hub
    assert found.credentials == Credentials("old", SECRET_SHAPED)
    assert str(path) in found.source


@pytest.mark.timeout(20)
@pytest.mark.parametrize("where", ["docker", "podman", "dockercfg"])
def test_a_fifo_in_place_of_a_client_file_is_refused_at_once(
    tmp_path: Path,
    isolated_client_files: Path,
    docker_config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    if where == "docker":
        path = docker_config_dir / "config.json"
    elif where == "podman":
        path = tmp_path / "run" / "containers" / "auth.json"
        path.parent.mkdir(parents=True)
    else:
        monkeypatch.delenv("DOCKER_CONFIG")
        path = isolated_client_files / ".dockercfg"
    os.mkfifo(path)
    message = fails()
    assert f"{path} is a FIFO (named pipe), not a regular file" in message


def test_the_exact_docker_io_cred_helpers_key_wins(docker_config_dir: Path) -> None:
    """Which helper serves Docker Hub follows the same key rule as `auths` (none runs here)."""
    write_config(
        docker_config_dir,
        {"credHelpers": {"index.docker.io": "alias-zz", "docker.io": "exact-zz"}},
    )
    assert "docker-credential-exact-zz" in fails(reference=parse_registry_reference("docker.io"))
