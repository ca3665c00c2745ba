"""Credential discovery for `--auto-configure` from hand-written files: no tool, no helper run.

The cases where the real docker CLI, podman, skopeo or a credential helper write the stores
are in tests/integration/local/test_discovery.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from testbed.local_stores import (
    SECRET_SHAPED,
    auth_value,
    fails,
    find,
    isolate_client_files,
    registries,
    write_config,
)
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local.auth_entries import AuthEntry
from zenml_docker_connector.local.discovery import match_namespaced
from zenml_docker_connector.references import parse_registry_reference


@pytest.fixture(autouse=True)
def isolated(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    docker_config_dir: Path,
    no_docker_daemon: None,
) -> Path:
    """Every store location inside tmp_path; returns the fake HOME."""
    return isolate_client_files(tmp_path, monkeypatch)


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
    assert f"({setting} in {docker_config_dir / 'config.json'})" in message
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


def _entry(key: str, username: str) -> AuthEntry:
    registry, _, namespace = key.partition("/")
    return AuthEntry(
        key,
        parse_registry_reference(registry),
        namespace or None,
        Credentials(username, "pw"),
    )


@pytest.mark.parametrize(
    ("wanted", "user"),
    [
        ("r.example/team/app", "app"),
        ("r.example/team/app/sub", "app"),
        ("r.example/team/other", "team"),
        ("r.example/teams/app", "whole"),
        ("r.example", "whole"),
    ],
)
def test_namespaced_keys_longest_prefix_first(wanted: str, user: str) -> None:
    entries = [
        _entry("r.example", "whole"),
        _entry("r.example/team", "team"),
        _entry("r.example/team/app", "app"),
        _entry("other.example", "other"),
    ]
    found = match_namespaced(entries, parse_registry_reference(wanted), origin="auth.json")
    assert found is not None and found.credentials is not None
    assert found.credentials.username == user


def test_several_namespaces_without_a_repository_are_ambiguous() -> None:
    entries = [_entry("r.example/one", "a"), _entry("r.example/two", "b")]
    reference = parse_registry_reference("r.example")
    with pytest.raises(LocalConfigError, match="several namespaces") as caught:
        match_namespaced(entries, reference, origin="/x/auth.json")
    assert "r.example/one, r.example/two" in str(caught.value)
    only = match_namespaced(entries[:1], reference, origin="/x/auth.json")
    assert only is entries[0]
    assert match_namespaced([], reference, origin="/x/auth.json") is None
