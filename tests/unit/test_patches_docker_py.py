"""The docker-py section of `patches`: helpers bypassed for the connector's registry only,
and what happens when docker-py's internals are not the ones the patch was verified on."""

from __future__ import annotations

import types
from typing import Any

import pytest
from docker import auth as docker_auth

from zenml_docker_connector import patches
from zenml_docker_connector.patches import DOCKER_PY_AUTH_CONFIGS, connector_first_auth

SECRET = "Daemon-Secret-1"
CONFIG = {
    "auths": {"r.example:5000": {"username": "alice", "password": SECRET}},
    "credsStore": "desktop",
    "credHelpers": {"r.example:5000": "gh", "ghcr.io": "gh"},
}


@pytest.fixture(autouse=True)
def no_recorded_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patches, "_failures", {})


def _api(**attributes: Any) -> Any:
    return types.SimpleNamespace(
        **{"_auth_configs": dict(CONFIG), "credstore_env": None, **attributes}
    )


def test_helpers_are_bypassed_for_the_connector_registry_only() -> None:
    api = _api()
    assert connector_first_auth(api, docker_auth, "r.example:5000")
    config = api._auth_configs
    assert config.get_credential_store("r.example:5000") is None
    assert config.get_credential_store("ghcr.io") == "gh"
    assert config.get_credential_store("quay.io") == "desktop"
    resolved = config.resolve_authconfig("r.example:5000")
    assert resolved is not None and resolved["password"] == SECRET
    assert patches.failure_report() == ()


def test_docker_hub_is_named_as_docker_py_names_it() -> None:
    api = _api(_auth_configs={"credsStore": "desktop"})
    assert connector_first_auth(api, docker_auth, "https://index.docker.io/v1/")
    assert api._auth_configs.get_credential_store("docker.io") is None
    assert api._auth_configs.get_credential_store(None) is None
    assert api._auth_configs.get_credential_store("quay.io") == "desktop"


def test_a_client_without_auth_configs_keeps_docker_pys_lookup_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = types.SimpleNamespace(credstore_env=None)
    assert not connector_first_auth(api, docker_auth, "r.example:5000")
    assert not hasattr(api, "_auth_configs")
    (report,) = patches.failure_report()
    assert "'docker-py-auth-configs'" in report and "has no attribute '_auth_configs'" in report
    assert (
        f"verified on {DOCKER_PY_AUTH_CONFIGS.verified}" in report
        and DOCKER_PY_AUTH_CONFIGS.when_missing in report
    )
    assert report in caplog.text


@pytest.mark.parametrize("missing", ["AuthConfig", "resolve_index_name", "convert_to_hostname"])
def test_a_changed_auth_module_leaves_the_client_as_docker_py_made_it(missing: str) -> None:
    module = types.SimpleNamespace(
        **{name: getattr(docker_auth, name) for name in dir(docker_auth) if name != missing}
    )
    api = _api()
    original = api._auth_configs
    assert not connector_first_auth(api, module, "r.example:5000")
    assert api._auth_configs is original
    (report,) = patches.failure_report()
    assert f"has no attribute {missing!r}" in report


def test_an_auth_config_without_the_patched_methods_is_refused() -> None:
    class Changed:
        pass

    module = types.SimpleNamespace(**{**vars(docker_auth), "AuthConfig": Changed})
    api = _api()
    assert not connector_first_auth(api, module, "r.example:5000")
    assert "has no attribute 'get_credential_store'" in patches.failure_report()[0]
