"""ZenML helpers for tests: unique names, the CLI in-process and as a real subprocess, and
registering a connector for a testbed registry."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from testbed.secret_scan import observe, secrets_shown_on_purpose


@pytest.fixture
def unique_name() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@dataclass
class ZenCli:
    """ZenML's click group run in this process (fast) with the test's environment."""

    def __call__(self, *args: str, input: str | None = None, shows_secrets: bool = False) -> Result:
        """Run `zenml ARGS`; `shows_secrets` exempts a command that prints them on purpose."""
        from zenml.cli.cli import cli

        scan = secrets_shown_on_purpose() if shows_secrets else contextlib.nullcontext()
        with scan:
            return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=True)

    def register_docker(self, name: str, *options: str) -> Result:
        """`zenml service-connector register NAME --type docker OPTIONS`."""
        return self("service-connector", "register", name, "--type", "docker", *options)


def register_connector(name: str, registry: Any, **configuration: str) -> Any:
    """Register (and verify) a docker connector for a testbed registry through ZenML's client."""
    from zenml.client import Client

    values = {"username": registry.username, "password": registry.password}
    values["registry"] = registry.url
    return Client().create_service_connector(
        name=name,
        connector_type="docker",
        auth_method="password",
        configuration={**values, **configuration},
    )


@pytest.fixture
def zen() -> ZenCli:
    return ZenCli()


@dataclass
class ZenSubprocess:
    """The real `zenml` executable with an isolated ZenML home, docker config and daemon."""

    env: dict[str, str]
    executable: str

    def run(
        self, *args: str, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.executable, *args],
            input=input,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        observe(result.stdout + result.stderr, f"output of `zenml {' '.join(args)[:80]}`")
        return result


@pytest.fixture
def zenml_subprocess(tmp_path: Path) -> Iterator[ZenSubprocess]:
    executable = shutil.which("zenml", path=str(Path(sys.executable).parent)) or shutil.which(
        "zenml"
    )
    if executable is None:
        pytest.fail("the zenml executable is not installed next to this Python")
    env = dict(os.environ)
    env.update(
        ZENML_CONFIG_PATH=str(tmp_path / "zenml-home"),
        DOCKER_CONFIG=os.environ.get("DOCKER_CONFIG", str(tmp_path / "docker-config")),
        ZENML_ANALYTICS_OPT_IN="false",
        ZENML_ENABLE_RICH_TRACEBACK="false",
        COLUMNS="200",
        TERM="dumb",
        NO_COLOR="1",
    )
    yield ZenSubprocess(env=env, executable=executable)


def create_docker_connector(name: str, username: str, password: str, registry: str) -> None:
    """Register a `docker` connector in the current ZenML store (it is verified first)."""
    from zenml.client import Client

    Client().create_service_connector(
        name=name,
        connector_type="docker",
        auth_method="password",
        configuration={"username": username, "password": password, "registry": registry},
    )


def output_of(result: Result | subprocess.CompletedProcess[str]) -> str:
    if isinstance(result, Result):
        return result.output + (f"\n{result.exception!r}" if result.exception else "")
    return result.stdout + result.stderr


def register_docker_connector(
    name: str,
    registry: Any,
    *,
    password: str | None = None,
    expires_at: datetime | None = None,
) -> Any:
    """A `docker` connector for a testbed registry in this process's store, not verified (so
    a wrong password can be stored); `expires_at` as ZenML keeps it (naive UTC)."""
    from zenml.client import Client

    model, _ = Client().create_service_connector(
        name=name,
        connector_type="docker",
        auth_method="password",
        configuration={
            "username": registry.username,
            "password": password or registry.password,
            "registry": registry.url,
        },
        expires_at=expires_at,
        verify=False,
        list_resources=False,
    )
    return model
