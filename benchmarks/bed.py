"""The real test bed (tests/testbed) started outside pytest, and the contenders run against it.

Every `docker login` / `skopeo login` gets a fresh private config location, so no run sees an
earlier login and nothing touches `~/.docker` or containers' `auth.json`; passwords travel on
stdin. A contender is a `Prepare`: setting up one run (untimed) returns the action to time.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from testbed.dockerd import Dockerd, DockerdStartError, start_dockerd
from testbed.factory import Testbed
from testbed.isolation import filtered_path
from testbed.registry import Kind, Registry
from testbed.zenml_server_fixture import ZenServer, ZenServerStartError, _Launch
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.glue.activation import DISABLE_ENV
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.cache import AuthCache
from zenml_docker_connector.registry.verification import verify_registry_access

KINDS: dict[Kind, str] = {"htpasswd": "htpasswd (Basic)", "token": "token (Bearer)"}
Action = Callable[[], object]
Prepare = Callable[[], Action]


class Failed(RuntimeError):
    """A login or verification that should succeed did not (the registry user is valid)."""


@dataclass
class Bed:
    """One registry per kind with a valid user; `dockerd` is None when none could start."""

    registries: dict[Kind, Registry]
    dockerd: Dockerd | None
    dockerd_problem: str | None
    scratch: Path
    env: dict[str, str]


def base_env(scratch: Path) -> dict[str, str]:
    """Environment for every child: isolated ZenML home, no Docker/registry/plugin switches."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DOCKER_", "REGISTRY_")) and key != DISABLE_ENV
    }
    env.update(ZENML_CONFIG_PATH=str(scratch / "zenml-home"), ZENML_ANALYTICS_OPT_IN="false")
    env.update(ZENML_ENABLE_RICH_TRACEBACK="false", ZENML_LOGGING_VERBOSITY="WARN", NO_COLOR="1")
    return env


@contextlib.contextmanager
def started(scratch: Path, *, with_dockerd: bool) -> Iterator[Bed]:
    """Start an htpasswd and a token registry (and, as root, a private dockerd); stop all."""
    registry, htpasswd = (shutil.which(name) or name for name in ("docker-registry", "htpasswd"))
    testbed = Testbed(scratch / "testbed", registry_binary=registry, htpasswd_binary=htpasswd)
    with contextlib.ExitStack() as stack:
        stack.callback(testbed.stop)
        registries = {kind: testbed.registry(kind) for kind in KINDS}
        daemon, problem = _start_dockerd() if with_dockerd else (None, "not started")
        if daemon is not None:
            stack.callback(daemon.stop)
        yield Bed(registries, daemon, problem, scratch, base_env(scratch))


def _start_dockerd() -> tuple[Dockerd | None, str | None]:
    if os.geteuid() != 0:
        return None, "a private dockerd needs root"
    try:
        return start_dockerd(shutil.which("dockerd") or "/usr/sbin/dockerd"), None
    except (DockerdStartError, OSError) as error:
        return None, str(error).splitlines()[0]


def run(command: list[str], env: dict[str, str], stdin: str = "") -> str:
    """Run `command`; its stdout, or `Failed` naming the last line it wrote."""
    process = subprocess.run(
        command, input=stdin, env=env, capture_output=True, text=True, timeout=300
    )
    if process.returncode != 0:
        last = (process.stderr or process.stdout).strip().splitlines()[-1:]
        raise Failed(f"{' '.join(command[:2])} exited {process.returncode}: {' '.join(last)}")
    return process.stdout


def ours(registry: Registry, name: str | None = None) -> Prepare:
    """Our verifier in this process, with a fresh `AuthCache()`: the action's first call is
    cold. The token server runs in this process too (a thread), as for the CLI logins.
    `name` is how the registry is named (default `host:port`)."""
    reference = parse_registry_reference(name or registry.host)
    credentials = Credentials(registry.username, registry.password)
    verify = functools.partial(verify_registry_access, reference, credentials)
    return lambda: functools.partial(verify, cache=AuthCache())


def cli_login(tool: str, registry: Registry, bed: Bed) -> Prepare:
    """`docker login` (done by the CLI itself: DOCKER_HOST names no daemon) or `skopeo login`,
    each into a fresh config directory."""
    return login_command(tool, registry, bed.scratch, bed.env, ["--tls-verify=false"])


def login_command(
    tool: str, registry: Registry, scratch: Path, base: dict[str, str], skopeo_trust: list[str]
) -> Prepare:
    """`docker login` or `skopeo login` (trusting the registry as `skopeo_trust` says) into a
    fresh config directory under `scratch`; the password on stdin."""
    logins = scratch / "logins"
    logins.mkdir(exist_ok=True)
    user, host = registry.username, registry.host

    def prepare() -> Action:
        config = Path(tempfile.mkdtemp(dir=logins))
        env = dict(base)
        if tool == "docker":
            command = ["docker", "login", "-u", user, "--password-stdin", host]
            env.update(DOCKER_CONFIG=str(config), DOCKER_HOST=f"unix://{logins}/no-daemon.sock")
        else:
            command = ["skopeo", "login", *skopeo_trust, "--authfile", str(config / "auth.json")]
            command += ["-u", user, "--password-stdin", host]
        return lambda: run(command, env, registry.password)

    return prepare


@contextlib.contextmanager
def zenml_servers(
    scratch: Path, environments: Mapping[str, Mapping[str, str]]
) -> Iterator[dict[str, ZenServer]]:
    """A ZenML server with the plugin per name, each with its extra environment, started
    side by side (a start takes seconds) and stopped at the end."""
    path = filtered_path(os.environ.get("PATH", os.defpath), scratch / "path")
    launches = {
        name: _Launch("ours", scratch / f"server-{name}", path, extra_env=dict(extra))
        for name, extra in environments.items()
    }
    try:
        yield {name: launch.wait() for name, launch in launches.items()}
    except ZenServerStartError as error:
        raise Failed(str(error).splitlines()[0]) from error
    finally:
        for launch in launches.values():
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                launch.process.terminate()
                launch.process.wait(timeout=10)
