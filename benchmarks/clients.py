"""The contenders: our verifier (in-process or in a fresh Python), `docker login` and
`skopeo login`, each against the same registry with the same user.

Every subprocess gets a fresh, private config location, so no run sees an earlier login and
nothing touches the user's own `~/.docker` or containers `auth.json`. Preparing a run
(making that directory) happens before the clock starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DISABLE_ENV = "ZENML_DOCKER_CONNECTOR_DISABLE"

# Runs in a fresh interpreter of this venv; credentials come on stdin, never in argv.
VERIFY_CODE = """\
import json, sys
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.verification import verify_registry_access
args = json.load(sys.stdin)
verify_registry_access(
    parse_registry_reference(args["registry"]), args["username"], args["password"]
)
"""

Action = Callable[[], None]


class ContenderFailed(RuntimeError):
    """A login or verification that should succeed did not (the registry user is valid)."""


@dataclass(frozen=True)
class Target:
    """A registry (`host:port`, loopback, plain HTTP) and a user it accepts."""

    kind: str
    host: str
    username: str
    password: str = field(default="", repr=False)


Prefix = tuple[str, ...]


@dataclass
class Contender:
    """`prepare(prefix)` sets up one run and returns the action to time; the action raises
    `ContenderFailed` when the login/verification did not succeed. A contender that `spawns`
    a program runs `prefix + command` (e.g. under strace); the in-process one takes `()`."""

    name: str
    prepare: Callable[[Prefix], Action]
    spawns: bool = True

    def timed(self) -> float:
        """Wall-clock seconds of one run, preparation excluded."""
        action = self.prepare(())
        started = time.perf_counter()
        action()
        return time.perf_counter() - started


def base_env(scratch: Path) -> dict[str, str]:
    """Environment for every child: isolated ZenML home, no inherited Docker/plugin switches."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DOCKER_") and key not in (DISABLE_ENV, "REGISTRY_AUTH_FILE")
    }
    env.update(
        ZENML_CONFIG_PATH=str(scratch / "zenml-home"),
        ZENML_ANALYTICS_OPT_IN="false",
        ZENML_ENABLE_RICH_TRACEBACK="false",
        ZENML_LOGGING_VERBOSITY="WARN",
        ZENML_LOGGING_COLORS_DISABLED="true",
        NO_COLOR="1",
    )
    return env


class _Fresh:
    """New, empty directories under `scratch/prefix`."""

    def __init__(self, scratch: Path, prefix: str) -> None:
        self._root = scratch / prefix

    def directory(self) -> Path:
        self._root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=self._root))


def _runner(command: list[str], env: dict[str, str], stdin: str, what: str) -> Action:
    def run() -> None:
        process = subprocess.run(
            command, input=stdin, env=env, capture_output=True, text=True, timeout=120
        )
        if process.returncode != 0:
            last = (process.stderr or process.stdout).strip().splitlines()[-1:]
            raise ContenderFailed(f"{what} exited {process.returncode}: {' '.join(last)}")

    return run


def docker_login(target: Target, scratch: Path, env: dict[str, str]) -> Contender:
    """`docker login` done by the CLI itself: DOCKER_HOST names a socket that does not exist."""
    fresh = _Fresh(scratch, f"docker-login-{target.kind}")
    no_daemon = f"unix://{scratch / 'no-docker-daemon.sock'}"
    command = ["docker", "login", "-u", target.username, "--password-stdin", target.host]

    def prepare(prefix: Prefix) -> Action:
        child_env = dict(env, DOCKER_CONFIG=str(fresh.directory()), DOCKER_HOST=no_daemon)
        what = f"docker login {target.host}"
        return _runner([*prefix, *command], child_env, target.password, what)

    return Contender("docker login", prepare)


def skopeo_login(target: Target, scratch: Path, env: dict[str, str]) -> Contender:
    """`skopeo login --tls-verify=false` into a fresh auth file."""
    fresh = _Fresh(scratch, f"skopeo-login-{target.kind}")

    def prepare(prefix: Prefix) -> Action:
        authfile = fresh.directory() / "auth.json"
        command = [
            *prefix,
            "skopeo",
            "login",
            "--tls-verify=false",
            "--authfile",
            str(authfile),
            "-u",
            target.username,
            "--password-stdin",
            target.host,
        ]
        return _runner(command, env, target.password, f"skopeo login {target.host}")

    return Contender("skopeo login", prepare)


def ours_subprocess(target: Target, env: dict[str, str]) -> Contender:
    """Our verifier in a fresh `python -c` (interpreter start-up included, like the CLIs)."""
    payload = json.dumps(
        {"registry": target.host, "username": target.username, "password": target.password}
    )
    command = [sys.executable, "-c", VERIFY_CODE]

    def prepare(prefix: Prefix) -> Action:
        return _runner([*prefix, *command], env, payload, "python -c verify")

    return Contender("ours, python -c", prepare)


def ours_in_process(target: Target) -> Contender:
    """Our verifier in this process, cache emptied before each run: a cold verification."""
    from zenml_docker_connector import auth_cache
    from zenml_docker_connector.errors import DockerConnectorError
    from zenml_docker_connector.references import parse_registry_reference
    from zenml_docker_connector.verification import verify_registry_access

    reference = parse_registry_reference(target.host)

    def verify() -> None:
        try:
            verify_registry_access(reference, target.username, target.password)
        except DockerConnectorError as error:
            raise ContenderFailed(f"verify_registry_access {target.host}: {error}") from None

    def prepare(prefix: Prefix) -> Action:
        if prefix:
            raise ValueError("the in-process contender cannot run under a command prefix")
        auth_cache.clear_cache()
        return verify

    return Contender("ours, in-process", prepare, spawns=False)
