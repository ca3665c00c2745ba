"""Strict parsing of the credentials in docker `config.json` / containers `auth.json`."""

from __future__ import annotations

import base64

import pytest

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local.auth_entries import (
    AuthConfigData,
    is_oauth_key,
    parse_auth_config,
    registry_of_key,
)
from zenml_docker_connector.references import parse_registry_reference


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _parse(data: object, namespaced: bool = False) -> AuthConfigData:
    return parse_auth_config(
        data, origin="/x/config.json", kind="docker config file", namespaced=namespaced
    )


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
    entries = {e.key: e for e in parsed.auths}
    assert entries["ghcr.io"].credentials == Credentials("alice", "pw:with:colons")
    assert entries["https://quay.io/v1/"].credentials == Credentials("bob", "pw2")
    assert entries["https://quay.io/v1/"].registry.same_registry(
        parse_registry_reference("quay.io")
    )
    assert entries["r.example:5000"].credentials == Credentials(
        "carol", "refresh", identity_token=True
    )
    assert entries["stored.example"].credentials is None
    assert [(h.key, h.suffix) for h in parsed.cred_helpers] == [("gcr.io", "gcloud")]
    assert parsed.creds_store == "desktop" and parsed.origin == "/x/config.json"


def test_nulls_count_as_absent() -> None:
    parsed = _parse({"auths": None, "credHelpers": None, "credsStore": ""})
    assert (parsed.auths, parsed.cred_helpers, parsed.creds_store) == ((), (), None)


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
