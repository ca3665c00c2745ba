"""`zenml service-connector register --auto-configure` through the real `zenml` executable.

Each source is written by the real tool (docker CLI, podman, skopeo, a credential helper
driven by the docker CLI); the registration then verifies against the test registry.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from testbed.leaks import assert_no_secret
from testbed.requirements import require_binary
from testbed.zenml_fixtures import ZenSubprocess, output_of

pytestmark = pytest.mark.e2e


def _login(tool: str, args: list[str], password: str, env: dict[str, str]) -> None:
    binary = require_binary(tool, tool if tool != "docker" else "docker.io")
    result = subprocess.run(
        [binary, *args], input=password, capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _register(zen: ZenSubprocess, name: str, host: str) -> subprocess.CompletedProcess[str]:
    return zen.run(
        "service-connector",
        "register",
        name,
        "--type",
        "docker",
        "--auto-configure",
        f"--resource-id={host}",
    )


@pytest.mark.parametrize(
    "source", ["docker-auths", "creds-store", "cred-helpers", "podman", "skopeo"]
)
def test_auto_configure_from_each_source(
    source: str,
    tmp_path: Path,
    docker_config_dir: Path,
    no_docker_daemon: None,
    credential_helper: Any,
    htpasswd_registry: Any,
    zenml_subprocess: ZenSubprocess,
) -> None:
    zen = zenml_subprocess
    registry = htpasswd_registry
    env = zen.env
    env["DOCKER_CONFIG"] = str(docker_config_dir)
    env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    env["HOME"] = str(tmp_path / "home")
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "run")
    env.pop("REGISTRY_AUTH_FILE", None)
    env.pop("DOCKER_AUTH_CONFIG", None)
    login = ["login", registry.host, "-u", registry.username, "--password-stdin"]
    if source in ("creds-store", "cred-helpers"):
        key = "credsStore" if source == "creds-store" else "credHelpers"
        value: Any = (
            credential_helper.name
            if source == "creds-store"
            else {registry.host: credential_helper.name}
        )
        (docker_config_dir / "config.json").write_text(json.dumps({key: value}))
    if source in ("docker-auths", "creds-store", "cred-helpers"):
        _login("docker", login, registry.password, env)
    else:
        authfile = tmp_path / f"{source}-auth.json"
        env["REGISTRY_AUTH_FILE"] = str(authfile)
        _login(
            source,
            ["login", "--tls-verify=false", "--authfile", str(authfile), *login[1:]],
            registry.password,
            env,
        )
    if source in ("creds-store", "cred-helpers"):
        config = (docker_config_dir / "config.json").read_text()
        assert registry.password not in config
        assert any(registry.host in url for url, _ in credential_helper.entries().items())

    result = _register(zen, f"auto-{source}", registry.host)
    assert result.returncode == 0, output_of(result)
    assert "Successfully registered service connector `auto-" in output_of(result)
    assert registry.host in output_of(result)
    assert_no_secret([output_of(result)], registry.password)


def test_stale_local_credentials_are_reported_not_registered(
    tmp_path: Path,
    docker_config_dir: Path,
    htpasswd_registry: Any,
    zenml_subprocess: ZenSubprocess,
) -> None:
    registry = htpasswd_registry
    user, stale = "auto-stale", "stale-Password-77"
    registry.add_user(user, stale)
    env = zenml_subprocess.env
    env["DOCKER_CONFIG"] = str(docker_config_dir)
    env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    _login("docker", ["login", registry.host, "-u", user, "--password-stdin"], stale, env)
    registry.set_password(user, "the-current-Password-1")  # changed since `docker login`
    result = _register(zenml_subprocess, "auto-stale", registry.host)
    assert result.returncode != 0
    assert "rejected" in output_of(result) and f"'{user}'" not in output_of(result)
    assert_no_secret([output_of(result)], stale)
    listed = zenml_subprocess.run("service-connector", "list")
    assert "auto-stale" not in output_of(listed)
