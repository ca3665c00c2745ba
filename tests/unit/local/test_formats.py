"""docker's `config.json` and podman's `auth.json` as data: keys, helpers, wording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local.formats import DOCKER, PODMAN, bad_value
from zenml_docker_connector.references import parse_registry_reference

PATH = Path("/home/u/.docker/config.json")


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
    assert DOCKER.key_for(reference) == docker_key == reference.config_key
    assert PODMAN.key_for(reference) == podman_key


def test_what_differs_between_the_formats() -> None:
    assert (DOCKER.tool, PODMAN.tool) == ("docker", "podman")
    assert (DOCKER.what, PODMAN.what) == ("docker config file", "containers auth file")
    assert DOCKER.uses_creds_store and not PODMAN.uses_creds_store
    assert DOCKER.helper_placeholder and not PODMAN.helper_placeholder
    assert PODMAN.namespaced_keys and not DOCKER.namespaced_keys


def test_an_exact_cred_helpers_entry_wins_over_creds_store() -> None:
    data = {"credsStore": "desktop", "credHelpers": {"ghcr.io": "gh", "https://ghcr.io": "other"}}
    helper = DOCKER.helper_for(data, "ghcr.io", PATH)
    assert helper is not None and helper.suffix == "gh" and not helper.is_creds_store
    assert helper.origin == f"credHelpers['ghcr.io'] in {PATH}"
    store = DOCKER.helper_for(data, "quay.io", PATH)
    assert store is not None and store.suffix == "desktop" and store.is_creds_store
    assert store.origin == f"credsStore in {PATH}"
    assert store.program == "docker-credential-desktop"


def test_podman_has_no_creds_store() -> None:
    data = {"credsStore": "desktop", "credHelpers": {"ghcr.io": "gh"}}
    assert PODMAN.helper_for(data, "quay.io", PATH) is None
    helper = PODMAN.helper_for(data, "ghcr.io", PATH)
    assert helper is not None and helper.suffix == "gh"


@pytest.mark.parametrize(
    "data",
    [{}, {"credsStore": ""}, {"credHelpers": {"ghcr.io": ""}, "credsStore": "desktop"}],
)
def test_no_helper_or_an_empty_name_means_the_plain_file(data: dict[str, Any]) -> None:
    assert DOCKER.helper_for(data, "ghcr.io", PATH) is None


@pytest.mark.parametrize(
    ("data", "setting"),
    [
        ({"credHelpers": ["gh"]}, "'credHelpers' value is not an object of registry: helper"),
        ({"credHelpers": {"ghcr.io": 3}}, "'credHelpers['ghcr.io']' value is not a string"),
        ({"credsStore": {"name": "x"}}, "'credsStore' value is not a string"),
    ],
)
def test_malformed_helper_settings_are_refused(data: dict[str, Any], setting: str) -> None:
    with pytest.raises(LocalConfigError) as caught:
        DOCKER.helper_for(data, "ghcr.io", PATH)
    assert str(caught.value) == (
        f"The docker config file {PATH} was left unchanged because its {setting}. "
        "Fix that value by hand, then retry."
    )


def test_bad_value_names_the_format_file_and_setting() -> None:
    error = bad_value(PODMAN, Path("/run/auth.json"), "auths", "a JSON object")
    assert str(error).startswith(
        "The containers auth file /run/auth.json was left unchanged because its 'auths' value"
    )
