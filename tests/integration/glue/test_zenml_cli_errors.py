"""Every `zenml service-connector` path fails with a message, never a traceback or a secret.

ZenML's CLI reports `KeyError`, `ValueError`, `IllegalOperationError`, `NotImplementedError`
and `AuthorizationException` cleanly (`zenml/cli/service_connectors.py`, every command);
anything else becomes a traceback. ZenML's `ServiceConnector.verify()` shows only
`AuthorizationException` messages (other errors become "an unexpected error occurred").
So the connector raises those types on every path: register, verify, login, describe,
connect without a daemon, auto-configure.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from testbed.leaks import assert_no_secret
from testbed.unreachable import closed_port
from testbed.zenml_fixtures import ZenCli, ZenSubprocess, output_of, register_connector

CORRUPT = '{"auths": {"r.example": {"auth": "dTpw"}},'  # cut short: not JSON


def _client() -> Any:
    from zenml.client import Client

    return Client()


def assert_clean_failure(result: Result, *fragments: str, secrets: tuple[str, ...] = ()) -> str:
    """Non-zero exit through click (no uncaught exception), the fragments, no secret."""
    out = output_of(result)
    assert result.exit_code != 0, out
    assert isinstance(result.exception, SystemExit), out  # anything else escaped ZenML's CLI
    assert "Traceback" not in out
    flat = " ".join(out.split())  # the console wraps long messages
    for fragment in fragments:
        assert fragment in flat, out
    assert_no_secret([out], *secrets)
    return flat


@pytest.mark.parametrize(
    ("password", "registry", "fragment"),
    [
        ("{secret}", "https://alice:{secret}@registry.example.com", "contains the password"),
        ("Other-Pw-0123456", "https://alice:{secret}@registry.example.com", "user information"),
        ("{secret}\n", "127.0.0.1:1", "password contains a line break"),
    ],
)
def test_register_refuses_bad_values_without_repeating_a_secret(
    zen: ZenCli, unique_name: str, password: str, registry: str, fragment: str
) -> None:
    secret = "Url-Secret-Zq9vX2pL8wK4"
    result = zen.register_docker(
        unique_name,
        "--username=alice",
        f"--password={password.format(secret=secret)}",
        f"--registry={registry.format(secret=secret)}",
    )
    assert_clean_failure(result, fragment, secrets=(secret, "Other-Pw-0123456"))


def test_login_with_a_corrupt_docker_config(
    zen: ZenCli,
    htpasswd_registry: Any,
    docker_config_dir: Path,
    unique_name: str,
    no_docker_daemon: None,
    no_podman: None,
) -> None:
    config = docker_config_dir / "config.json"
    config.write_text(CORRUPT)
    register_connector(unique_name, htpasswd_registry)
    result = zen("service-connector", "login", unique_name)
    assert_clean_failure(
        result,
        f"The docker config file {config} is not valid JSON",
        secrets=(htpasswd_registry.password,),
    )
    assert config.read_text() == CORRUPT


def test_login_with_a_fifo_config_and_a_planted_lock(
    zen: ZenCli,
    htpasswd_registry: Any,
    docker_config_dir: Path,
    tmp_path: Path,
    unique_name: str,
    no_docker_daemon: None,
    no_podman: None,
) -> None:
    register_connector(unique_name, htpasswd_registry)
    config = docker_config_dir / "config.json"
    config.write_text("{}")
    target = tmp_path / "lock-target"
    (docker_config_dir / "config.json.lock").symlink_to(target)
    result = zen("service-connector", "login", unique_name)
    assert_clean_failure(result, "is a symbolic link", secrets=(htpasswd_registry.password,))
    assert not target.exists() and config.read_text() == "{}"
    (docker_config_dir / "config.json.lock").unlink()
    config.unlink()
    os.mkfifo(config)
    result = zen("service-connector", "login", unique_name)
    assert_clean_failure(result, "is a FIFO (named pipe), not a regular file")


def test_verify_and_describe_of_an_unreachable_registry(
    zen: ZenCli,
    htpasswd_registry: Any,
    unique_name: str,
    no_docker_daemon: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`verify` asks the registry and fails; `describe --resource-type` builds a client (an
    implicit check), which a registry out of reach does not block (docs/reachability.md)."""
    register_connector(unique_name, htpasswd_registry)
    gone = f"127.0.0.1:{closed_port()}"  # a port of its own: warnings are once per registry
    from zenml.models import ServiceConnectorUpdate

    connector = _client().get_service_connector(unique_name)
    _client().zen_store.update_service_connector(
        connector.id,
        ServiceConnectorUpdate(
            configuration={
                "username": htpasswd_registry.username,
                "password": htpasswd_registry.password,
                "registry": f"http://{gone}",
            },
            resource_id=gone,
        ),
    )
    verified = zen("service-connector", "verify", unique_name)
    assert_clean_failure(verified, gone, "--no-verify", secrets=(htpasswd_registry.password,))
    with caplog.at_level(logging.WARNING, "zenml_docker_connector"):
        described = zen(
            "service-connector", "describe", unique_name, "--resource-type", "docker-registry"
        )
    assert described.exit_code == 0, output_of(described)
    assert gone in described.output
    warned = [r.getMessage() for r in caplog.records if r.name.startswith("zenml_docker")]
    assert any("handed out unchecked" in line for line in warned), warned
    assert_no_secret([described.output, *warned], htpasswd_registry.password)


def test_auto_configure_with_a_corrupt_dockercfg_names_it(
    zen: ZenCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unique_name: str
) -> None:
    from testbed.local_stores import isolate_client_files

    home = isolate_client_files(tmp_path, monkeypatch)
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    (home / ".dockercfg").write_text("auth = %%%\nemail = x@example.com\n")
    result = zen.register_docker(unique_name, "--auto-configure")
    assert_clean_failure(result, f"The legacy docker config file {home / '.dockercfg'}")


def test_connect_without_a_daemon_raises_what_zenml_reports(
    htpasswd_registry: Any, unique_name: str, no_docker_daemon: None
) -> None:
    from zenml.exceptions import AuthorizationException

    register_connector(unique_name, htpasswd_registry)
    connector = _client().get_service_connector_client(unique_name, resource_type="docker-registry")
    with pytest.raises(AuthorizationException) as caught:
        connector.connect()
    assert "No Docker daemon answered" in str(caught.value) and "DOCKER_HOST" in str(caught.value)


@pytest.mark.e2e
def test_the_real_zenml_login_prints_no_traceback_for_a_corrupt_config(
    zenml_subprocess: ZenSubprocess, htpasswd_registry: Any, tmp_path: Path
) -> None:
    """One real process: what a user's terminal shows (rich tracebacks on, as by default)."""
    zen = zenml_subprocess
    zen.env.pop("ZENML_ENABLE_RICH_TRACEBACK", None)
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    (config_dir / "config.json").write_text(CORRUPT)
    zen.env.update(DOCKER_CONFIG=str(config_dir), DOCKER_HOST="unix:///nonexistent.sock")
    registered = zen.run(
        "service-connector",
        "register",
        "corrupt-login",
        "--type",
        "docker",
        f"--username={htpasswd_registry.username}",
        f"--password={htpasswd_registry.password}",
        f"--registry={htpasswd_registry.url}",
    )
    assert registered.returncode == 0, output_of(registered)
    result = zen.run("service-connector", "login", "corrupt-login")
    out = output_of(result)
    assert result.returncode != 0 and "Traceback" not in out, out
    assert f"{config_dir / 'config.json'} is not valid JSON" in " ".join(out.split())
    assert_no_secret([out], htpasswd_registry.password)
    assert (config_dir / "config.json").read_text() == CORRUPT
