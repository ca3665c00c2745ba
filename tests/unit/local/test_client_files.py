"""The one model of docker's `config.json` and podman's `auth.json`: where they are, how the
formats differ (keys, helpers, wording), and strict parsing of the credentials they hold."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local.client_files import (
    DOCKER,
    PODMAN,
    AuthEntry,
    ClientFile,
    docker_config_file,
    env_client_file,
    files_to_read,
    is_oauth_key,
    legacy_dockercfg_file,
    match_namespaced,
    podman_auth_paths,
    podman_login_file,
    registry_of_key,
    same_file,
    searched_places,
)
from zenml_docker_connector.local.helpers import TIMEOUT_ENV_VAR
from zenml_docker_connector.references import parse_registry_reference

PATH = Path("/home/u/.docker/config.json")
GHCR = parse_registry_reference("ghcr.io")
QUAY = parse_registry_reference("quay.io")


def _file(file_format: Any, data: dict[str, Any]) -> ClientFile:
    return ClientFile.parse(file_format, data, str(PATH))


@pytest.mark.parametrize(
    ("registry", "docker_key", "podman_key"),
    [
        ("docker.io", "https://index.docker.io/v1/", "docker.io"),
        ("https://index.docker.io/v1/team/app", "https://index.docker.io/v1/", "docker.io"),
        ("ghcr.io/org/app", "ghcr.io", "ghcr.io"),
        ("http://127.0.0.1:5000", "127.0.0.1:5000", "127.0.0.1:5000"),
        ("[::1]:5000", "[::1]:5000", "[::1]:5000"),
    ],
)
def test_registry_keys(registry: str, docker_key: str, podman_key: str) -> None:
    reference = parse_registry_reference(registry)
    assert DOCKER.key(reference) == docker_key == reference.config_key
    assert PODMAN.key(reference) == podman_key


def test_what_differs_between_the_formats() -> None:
    assert (DOCKER.tool, PODMAN.tool) == ("docker", "podman")
    assert (DOCKER.what, PODMAN.what) == ("docker config file", "containers auth file")
    assert DOCKER.uses_creds_store and not PODMAN.uses_creds_store
    assert DOCKER.helper_placeholder and not PODMAN.helper_placeholder
    assert PODMAN.namespaced_keys and not DOCKER.namespaced_keys


def test_an_exact_cred_helpers_entry_wins_over_creds_store() -> None:
    data = {"credsStore": "desktop", "credHelpers": {"ghcr.io": "gh", "https://ghcr.io": "other"}}
    helper = _file(DOCKER, data).helper_for(GHCR)
    assert helper is not None and helper.suffix == "gh" and not helper.is_creds_store
    assert helper.origin == f"credHelpers['ghcr.io'] in {PATH}"
    store = _file(DOCKER, data).helper_for(QUAY)
    assert store is not None and store.suffix == "desktop" and store.is_creds_store
    assert store.origin == f"credsStore in {PATH}"
    assert store.program == "docker-credential-desktop"


def test_podman_has_no_creds_store() -> None:
    data = {"credsStore": "desktop", "credHelpers": {"ghcr.io": "gh"}}
    assert _file(PODMAN, data).helper_for(QUAY) is None
    helper = _file(PODMAN, data).helper_for(GHCR)
    assert helper is not None and helper.suffix == "gh"


@pytest.mark.parametrize(
    "data",
    [{}, {"credsStore": ""}, {"credHelpers": {"ghcr.io": ""}, "credsStore": "desktop"}],
)
def test_no_helper_or_an_empty_name_means_the_plain_file(data: dict[str, Any]) -> None:
    assert _file(DOCKER, data).helper_for(GHCR) is None


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"credHelpers": ["gh"]}, "has a 'credHelpers' value that is not an object of"),
        ({"credHelpers": {"ghcr.io": 3}}, "has a 'credHelpers' value that is not an object of"),
        ({"credsStore": {"name": "x"}}, "has a 'credsStore' value that is not a string"),
        ({"auths": ["x"]}, "has an 'auths' value that is not a JSON object"),
    ],
)
def test_malformed_settings_are_refused_whoever_parses(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(LocalConfigError) as caught:
        _file(DOCKER, data)
    message = str(caught.value)
    assert message.startswith(f"The docker config file {PATH} {problem}")
    assert message.endswith(
        "; it was left unchanged. Fix that value (or remove it and log in again)."
    )


def test_a_malformed_file_names_its_format_and_path() -> None:
    with pytest.raises(LocalConfigError) as caught:
        ClientFile.parse(PODMAN, {"auths": []}, "/run/auth.json")
    assert str(caught.value).startswith(
        "The containers auth file /run/auth.json has an 'auths' value"
    )


def test_reading_accepts_any_spelling_of_the_registry_canonical_first() -> None:
    data = {
        "credsStore": "desktop",
        "credHelpers": {"https://ghcr.io": "other", "ghcr.io": "", "quay.io/": "q"},
    }
    client_file = _file(DOCKER, data)
    assert client_file.helper_for(GHCR) is None  # writing: the exact key, empty = the file
    read = client_file.helper_for(GHCR, reading=True)
    assert read is not None and (read.suffix, read.key) == ("other", "https://ghcr.io")
    quay = client_file.helper_for(QUAY, reading=True, timeout=3)
    assert quay is not None and (quay.suffix, quay.timeout) == ("q", 3)
    store = client_file.helper_for(QUAY)
    assert store is not None and store.is_creds_store and store.key is None


def test_login_and_logout_edit_the_parsed_object_itself() -> None:
    data: dict[str, Any] = {"other": 1}
    client_file = _file(DOCKER, data)
    assert client_file.auths() == {} and "auths" not in data
    client_file.auths(create=True)["ghcr.io"] = {}
    data["auths"]["https://ghcr.io/v2/"] = {"auth": "!!!"}  # not parsed by keys_for
    assert data == {"other": 1, "auths": {"ghcr.io": {}, "https://ghcr.io/v2/": {"auth": "!!!"}}}
    assert client_file.keys_for(GHCR) == ["ghcr.io", "https://ghcr.io/v2/"]


# --- which entry serves a registry ------------------------------------------------------------


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
    found = match_namespaced(
        entries, parse_registry_reference(wanted), label="The containers auth file auth.json"
    )
    assert found is not None and found.credentials is not None
    assert found.credentials.username == user


def test_several_namespaces_without_a_repository_are_ambiguous() -> None:
    entries = [_entry("r.example/one", "a"), _entry("r.example/two", "b")]
    reference = parse_registry_reference("r.example")
    with pytest.raises(LocalConfigError, match="several namespaces") as caught:
        match_namespaced(entries, reference, label="The containers auth file /x/auth.json")
    assert "r.example/one, r.example/two" in str(caught.value)
    only = match_namespaced(entries[:1], reference, label="The containers auth file /x/auth.json")
    assert only is entries[0]
    assert match_namespaced([], reference, label="The containers auth file /x/auth.json") is None


# --- parsing --------------------------------------------------------------------------------


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _parse(data: object) -> ClientFile:
    parsed = ClientFile.parse(DOCKER, data, "/x/config.json")
    assert parsed.entries is not None  # entries are parsed when credentials are read
    return parsed


def test_entries_become_credentials() -> None:
    parsed = _parse(
        {
            "auths": {
                "ghcr.io": {"auth": _auth("alice", "pw:with:colons\x00")},
                "https://quay.io/v1/": {"username": "bob", "password": "pw2"},
                "r.example:5000": {"identitytoken": "refresh", "auth": _auth("carol", "x")},
                "stored.example": {},
            },
            "credHelpers": {"gcr.io": "gcloud", "empty.example": ""},
            "credsStore": "desktop",
        }
    )
    entries = {e.key: e for e in parsed.entries}
    assert entries["ghcr.io"].credentials == Credentials("alice", "pw:with:colons")
    assert entries["https://quay.io/v1/"].credentials == Credentials("bob", "pw2")
    assert entries["https://quay.io/v1/"].registry.same_registry(
        parse_registry_reference("quay.io")
    )
    assert entries["r.example:5000"].credentials == Credentials(
        "carol", "refresh", identity_token=True
    )
    assert entries["stored.example"].credentials is None
    assert [(h.key, h.suffix) for h in parsed.helper_settings] == [("gcr.io", "gcloud")]
    assert parsed.creds_store == "desktop" and parsed.origin == "/x/config.json"


def test_nulls_count_as_absent() -> None:
    parsed = _parse({"auths": None, "credHelpers": None, "credsStore": ""})
    assert (parsed.entries, parsed.helper_settings, parsed.creds_store) == ((), (), None)


@pytest.mark.parametrize(
    ("key", "namespaced", "registry", "namespace"),
    [
        ("https://index.docker.io/v1/", False, "docker.io", None),
        ("registry-1.docker.io", False, "docker.io", None),
        ("http://r.example:5000/v2/", False, "r.example:5000", None),
        ("r.example/team/app", True, "r.example", "team/app"),
        ("r.example/team/app", False, "r.example", None),
        ("https://r.example/team", True, "r.example", None),  # a URL names a whole registry
    ],
)
def test_keys_are_normalised(
    key: str, namespaced: bool, registry: str, namespace: str | None
) -> None:
    found = registry_of_key(key, namespaced=namespaced)
    assert found is not None
    assert (found[0].resource_id, found[1]) == (registry, namespace)


@pytest.mark.parametrize(
    "key",
    [
        "https://index.docker.io/v1/access-token",
        "https://index.docker.io/v1/refresh-token/",
        "not a registry",
        "ftp://r.example",
        42,
    ],
)
def test_keys_that_are_skipped(key: object) -> None:
    assert registry_of_key(key, namespaced=False) is None


def test_oauth_keys() -> None:
    assert is_oauth_key("https://index.docker.io/v1/access-token")
    assert not is_oauth_key("https://index.docker.io/v1/")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "is not a JSON object"),
        ({"auths": []}, "has an 'auths' value that is not a JSON object"),
        (
            {"auths": {"r.example": "x"}},
            "has the auths entry 'r.example' that is not a JSON object",
        ),
        ({"auths": {"r.example": {"password": 1}}}, "whose 'password' is not a string"),
        ({"auths": {"r.example": {"auth": "%%%"}}}, "whose 'auth' is not base64 of"),
        (
            {"auths": {"r.example": {"auth": base64.b64encode(b"nocolon").decode()}}},
            "whose 'auth' does not decode to username:password",
        ),
        (
            {"auths": {"r.example": {"auth": base64.b64encode(b":pw").decode()}}},
            "whose 'auth' does not decode to username:password",
        ),
        ({"credHelpers": {"r.example": 1}}, "'credHelpers' value that is not an object"),
        ({"credsStore": 1}, "has a 'credsStore' value that is not a string"),
    ],
)
def test_problems_name_the_file_and_entry_never_the_value(data: object, problem: str) -> None:
    with pytest.raises(LocalConfigError) as caught:
        _parse(data)
    message = str(caught.value)
    assert message.startswith("The docker config file /x/config.json ")
    assert problem in message and message.endswith("(or remove it and log in again).")
    assert "%%%" not in message and "bm9jb2xvbg" not in message


# --- where the files are ---------------------------------------------------------------------


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


# --- which key wins: the canonical name, then the docker CLI's Docker Hub key, then file order --

HUB = parse_registry_reference("docker.io")


def _users(data: dict[str, str]) -> dict[str, Any]:
    """`auths` from key -> username."""
    return {key: {"auth": _auth(user, "pw")} for key, user in data.items()}


@pytest.mark.parametrize(
    ("auths", "reference", "user"),
    [
        # Upper-case spellings sort first and come first in the file: only the rank decides.
        (
            {"GHCR.IO": "upper", "https://ghcr.io/v2/": "url", "ghcr.io": "canonical"},
            GHCR,
            "canonical",
        ),
        ({"REGISTRY-1.DOCKER.IO": "upper", "https://index.docker.io/v1/": "cli"}, HUB, "cli"),
        ({"https://index.docker.io/v1/": "cli", "docker.io": "canonical"}, HUB, "canonical"),
        ({"INDEX.DOCKER.IO": "first", "registry-1.docker.io": "second"}, HUB, "first"),
        ({"quay.io": "other", "GHCR.IO": "upper"}, GHCR, "upper"),
    ],
)
def test_the_best_ranked_key_serves_a_registry(
    auths: dict[str, str], reference: Any, user: str
) -> None:
    for file_format in (DOCKER, PODMAN):
        found = _file(file_format, {"auths": _users(auths)}).entry_for(reference)
        assert found is not None and found.credentials is not None, file_format.tool
        assert found.credentials.username == user, file_format.tool


def test_an_entry_without_credentials_or_of_another_registry_serves_nothing() -> None:
    auths = {"ghcr.io": {}, "https://ghcr.io": {"auth": _auth("url", "pw")}, "quay.io": {}}
    for file_format in (DOCKER, PODMAN):
        client_file = _file(file_format, {"auths": auths})
        found = client_file.entry_for(GHCR)
        assert found is not None and found.key == "https://ghcr.io", file_format.tool
        assert client_file.entry_for(QUAY) is None, file_format.tool
        assert client_file.entry_for(parse_registry_reference("gcr.io")) is None


def test_several_namespaces_in_a_podman_file_name_the_file() -> None:
    auths = _users({"r.example/one": "a", "r.example/two": "b"})
    client_file = ClientFile.parse(PODMAN, {"auths": auths}, "/run/auth.json")
    with pytest.raises(LocalConfigError) as caught:
        client_file.entry_for(parse_registry_reference("r.example"))
    assert str(caught.value).startswith(
        "The containers auth file /run/auth.json holds credentials for several namespaces of "
        "r.example (r.example/one, r.example/two) and none for the whole registry. Name the one "
        "you want, e.g. registry=r.example/one, or log in"
    )


def test_a_namespaced_lookup_ranks_whole_registry_keys_and_finds_nothing_elsewhere() -> None:
    entries = [_entry("REGISTRY-1.DOCKER.IO", "upper"), _entry("docker.io", "canonical")]
    label = "The containers auth file auth.json"
    for wanted in ("docker.io", "docker.io/team/app"):
        found = match_namespaced(entries, parse_registry_reference(wanted), label=label)
        assert found is not None and found.credentials is not None
        assert found.credentials.username == "canonical"
    other = [_entry("other.example", "other"), _entry("other.example/team", "team")]
    for wanted in ("r.example", "r.example/team/app"):
        assert match_namespaced(other, parse_registry_reference(wanted), label=label) is None


def test_podman_namespaces_ignore_empty_and_trailing_slashes() -> None:
    for key in ("r.example/team/", "r.example//team", "r.example/team//app/"):
        found = registry_of_key(key, namespaced=True)
        assert found is not None
        assert found[1] == "/".join(p for p in key.split("/")[1:] if p)


def test_reading_picks_the_best_ranked_cred_helpers_entry() -> None:
    for helpers, suffix in (
        ({"GHCR.IO": "upper", "https://ghcr.io": "url", "ghcr.io": "canonical"}, "canonical"),
        ({"GHCR.IO": "upper", "https://ghcr.io": "url"}, "upper"),  # a tie: file order
    ):
        helper = _file(DOCKER, {"credHelpers": helpers}).helper_for(GHCR, reading=True)
        assert helper is not None and helper.suffix == suffix
    hub = {"INDEX.DOCKER.IO": "upper", "https://index.docker.io/v1/": "cli"}
    helper = _file(DOCKER, {"credHelpers": hub}).helper_for(HUB, reading=True)
    assert helper is not None and helper.suffix == "cli"


def test_reading_without_a_cred_helpers_entry_falls_back_to_creds_store() -> None:
    client_file = _file(DOCKER, {"credHelpers": {"quay.io": "q"}, "credsStore": "desktop"})
    store = client_file.helper_for(GHCR, reading=True, timeout=7)
    assert store is not None and store.is_creds_store and store.timeout == 7
    assert _file(DOCKER, {}).helper_for(GHCR, reading=True) is None


def test_the_creds_store_gets_the_timeout_asked_for_else_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TIMEOUT_ENV_VAR, "12")
    client_file = _file(DOCKER, {"credsStore": "desktop"})
    for helper, timeout in (
        (client_file.helper_for(GHCR, timeout=3), 3),
        (client_file.creds_store_helper(4), 4),
        (client_file.helper_for(GHCR), 12),
        (client_file.creds_store_helper(), 12),
    ):
        assert helper is not None and helper.timeout == timeout


def test_keys_for_lists_only_keys_naming_that_registry() -> None:
    auths = {"ghcr.io": {}, "not a registry": {}, "quay.io": {}, "ghcr.io/team": {}, 7: {}}
    for file_format in (DOCKER, PODMAN):
        keys = _file(file_format, {"auths": auths}).keys_for(GHCR)
        assert keys == ["ghcr.io", "ghcr.io/team"], file_format.tool


# --- what each entry field must be, and the exact problem named ----------------------------------

_LEFT = "; it was left unchanged. Fix that value (or remove it and log in again)."


@pytest.mark.parametrize("name", ["auth", "username", "password", "identitytoken"])
def test_each_entry_field_must_be_a_string(name: str) -> None:
    with pytest.raises(LocalConfigError) as caught:
        _parse({"auths": {"r.example": {name: 5}}})
    assert str(caught.value) == (
        f"The docker config file /x/config.json has the auths entry 'r.example' whose "
        f"'{name}' is not a string{_LEFT}"
    )


def test_a_bad_auth_value_names_its_entry_and_not_a_json_object_its_file() -> None:
    with pytest.raises(LocalConfigError) as caught:
        _parse({"auths": {"r.example": {"auth": "%%%"}}})
    assert str(caught.value) == (
        "The docker config file /x/config.json has the auths entry 'r.example' whose 'auth' is "
        f"not base64 of username:password (value not shown){_LEFT}"
    )
    with pytest.raises(LocalConfigError) as caught:
        _parse([])
    assert str(caught.value) == f"The docker config file /x/config.json is not a JSON object{_LEFT}"


def test_a_password_keeps_its_own_characters_and_a_missing_username_is_empty() -> None:
    parsed = _parse(
        {
            "auths": {
                "r.example": {"auth": _auth("alice", "XpwX\x00")},
                "q.example": {"password": "pw"},
            }
        }
    )
    assert [e.credentials for e in parsed.entries] == [
        Credentials("alice", "XpwX"),
        Credentials("", "pw"),
    ]


def test_docker_auth_config_is_a_docker_file_named_by_the_variable(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert env_client_file() is None
    monkeypatch.setenv("DOCKER_AUTH_CONFIG", "  ")
    assert env_client_file() is None
    monkeypatch.setenv(
        "DOCKER_AUTH_CONFIG", json.dumps({"auths": {"ghcr.io": {"auth": _auth("a", "b")}}})
    )
    from_env = env_client_file()
    assert from_env is not None
    assert (from_env.format, from_env.origin) == (DOCKER, "DOCKER_AUTH_CONFIG")
    assert from_env.label == "The environment variable DOCKER_AUTH_CONFIG"
    assert [e.credentials for e in from_env.entries] == [Credentials("a", "b")]
    first = next(files_to_read())
    assert first.origin == "DOCKER_AUTH_CONFIG" and first.entries == from_env.entries
    for raw, problem in (("[]", "is not a JSON object"), ("{", "is not valid JSON")):
        monkeypatch.setenv("DOCKER_AUTH_CONFIG", raw)
        with pytest.raises(LocalConfigError) as caught:
            env_client_file()
        assert str(caught.value).startswith(
            f"The environment variable DOCKER_AUTH_CONFIG {problem}"
        )


def test_podman_files_are_read_as_containers_auth_files(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(json.dumps({"auths": {"r.example/team": {"auth": _auth("a", "b")}}}))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth_file))
    (podman,) = files_to_read()
    assert (podman.format, podman.origin) == (PODMAN, str(auth_file))
    assert podman.label == f"The containers auth file {auth_file}"
    auth_file.write_text("[")
    with pytest.raises(LocalConfigError, match=f"^The containers auth file {auth_file} "):
        list(files_to_read())


@pytest.mark.parametrize(
    "content",
    [b"auth = abc", b"authority = abc\nemail = a@b", b"auth abc\nemail = a@b"],
)
def test_a_broken_two_line_dockercfg_is_refused(env: Path, content: bytes) -> None:
    (env / ".dockercfg").write_bytes(content)
    with pytest.raises(LocalConfigError) as caught:
        list(files_to_read())
    assert str(caught.value) == (
        f"The legacy docker config file {env / '.dockercfg'} is neither JSON nor the old two-line "
        "'auth = …' / 'email = …' format; it was left unchanged. Remove it and log in again with "
        "`docker login`."
    )


def test_a_two_line_dockercfg_may_hold_bytes_that_are_not_utf8(env: Path) -> None:
    (env / ".dockercfg").write_bytes(b"  auth = " + _auth("a", "b").encode() + b"\nemail = \xff\n")
    (legacy,) = files_to_read()
    assert legacy.label == f"The legacy docker config file {env / '.dockercfg'}"
    assert [e.credentials for e in legacy.entries] == [Credentials("a", "b")]


def test_a_missing_runtime_dir_says_how_to_go_on(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "gone"))
    with pytest.raises(LocalConfigError) as caught:
        podman_login_file()
    assert str(caught.value) == (
        f"XDG_RUNTIME_DIR is set to {tmp_path / 'gone'}, which does not exist, so podman cannot "
        "use its auth file there either. Create that directory, unset XDG_RUNTIME_DIR, or set "
        "REGISTRY_AUTH_FILE to the auth.json to use."
    )


def test_a_docker_config_file_or_dockercfg_that_cannot_be_read_is_named_as_such(env: Path) -> None:
    config = env / ".docker" / "config.json"
    config.parent.mkdir()
    config.write_text("{")
    with pytest.raises(LocalConfigError, match=f"^The docker config file {config} is not valid"):
        list(files_to_read())
    config.unlink()
    (env / ".dockercfg").mkdir()
    with pytest.raises(LocalConfigError, match=f"^The legacy docker config file {env}/.dockercfg "):
        list(files_to_read())
