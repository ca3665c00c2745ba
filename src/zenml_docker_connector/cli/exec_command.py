"""`zenml-docker exec CONNECTOR -- COMMAND...`: one command that can reach the registry.

For CI: the command runs with a private `DOCKER_CONFIG` and `REGISTRY_AUTH_FILE` in a 0700
temporary directory (in the runtime directory when there is one, so on tmpfs) whose files
point `credHelpers` at `docker-credential-zenml`, with a mapping of their own
(`ZENML_DOCKER_CREDENTIAL_MAP`): no secret is written there either, and the user's own
files are not touched. SIGINT, SIGTERM and SIGHUP are passed on to the command; the
directory is removed however it ends, and its exit status is ours (128+N after signal N).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click

from zenml_docker_connector.cli.configure_docker import HELPER_PROGRAM, HELPER_SUFFIX
from zenml_docker_connector.errors import DockerConnectorError, LocalConfigError
from zenml_docker_connector.glue.credential_source import Fetched, fetch, mapping_key
from zenml_docker_connector.helper import cache, mapping
from zenml_docker_connector.helper.cache import runtime_directory
from zenml_docker_connector.helper.mapping import Route
from zenml_docker_connector.local.atomic import replace_file
from zenml_docker_connector.local.client_files import DOCKER, PODMAN
from zenml_docker_connector.local.helpers import helper_program

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def helper_executable() -> str:
    """`docker-credential-zenml` on PATH, else beside this Python (an unactivated venv)."""
    found = helper_program(HELPER_PROGRAM)
    beside = Path(sys.executable).parent / HELPER_PROGRAM
    if found is None and beside.is_file():
        found = str(beside)
    if found is None:
        raise LocalConfigError(
            f"{HELPER_PROGRAM} is neither on PATH nor beside {sys.executable}; reinstall "
            "zenml-docker-connector"
        )
    return found


@contextmanager
def private_config(fetched: Fetched, resource_id: str | None) -> Iterator[dict[str, str]]:
    """The environment for the command; its directory is gone when the block ends."""
    runtime = runtime_directory()
    base = runtime if runtime and os.path.isdir(runtime) else None
    directory = Path(tempfile.mkdtemp(prefix="zenml-docker-exec-", dir=base))
    try:
        os.chmod(directory, 0o700)
        yield _write_files(directory, fetched, resource_id)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _write_files(directory: Path, fetched: Fetched, resource_id: str | None) -> dict[str, str]:
    reference = fetched.registry
    config, auth = directory / "config.json", directory / "auth.json"
    route = Route(
        mapping_key(reference),
        fetched.connector.id,
        fetched.connector.name,
        resource_id,
        fetched.credentials.username or "",
    )
    contents = {
        config: {"credHelpers": {DOCKER.key(reference): HELPER_SUFFIX}},
        auth: {"credHelpers": {PODMAN.key(reference): HELPER_SUFFIX}},
        directory / "mapping.json": {"version": 1, "registries": {route.registry: route.as_json()}},
    }
    for path, data in contents.items():
        replace_file(path, json.dumps(data, indent="\t").encode() + b"\n", 0o600)
    bin_dir = directory / "bin"
    bin_dir.mkdir(mode=0o700)
    (bin_dir / HELPER_PROGRAM).symlink_to(helper_executable())
    env = dict(os.environ)
    env.update(
        DOCKER_CONFIG=str(directory),
        REGISTRY_AUTH_FILE=str(auth),
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env[mapping.MAPPING_ENV] = str(directory / "mapping.json")
    return env


class Forwarder:
    """Our signal handler: passes the signal to the command, or, before there is one, ends
    us through `SystemExit` so that the private directory is still removed."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.child is None:
            raise SystemExit(128 + signum)
        self.child.send_signal(signum)


@contextmanager
def forwarding_signals(forwarder: Forwarder) -> Iterator[None]:
    previous = {number: signal.signal(number, forwarder) for number in FORWARDED}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_forwarding(command: list[str], env: dict[str, str], forwarder: Forwarder) -> int:
    """Run `command` (signals reach it through `forwarder`); its exit status, 128+N when
    killed by signal N."""
    try:
        forwarder.child = subprocess.Popen(command, env=env)
    except OSError as error:
        raise LocalConfigError(f"cannot run {command[0]!r}: {error.strerror or error}") from None
    status = forwarder.child.wait()
    return 128 - status if status < 0 else status


@click.command(
    "exec",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.argument("connector")
@click.option("--resource-id", help="The registry, for connectors serving more than one.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_command(connector: str, resource_id: str | None, command: tuple[str, ...]) -> None:
    """Run COMMAND with private docker/podman files whose registry logins ask CONNECTOR."""
    if command and command[0] == "--":  # click keeps the separator after the first argument
        command = command[1:]
    if not command:
        raise click.UsageError("no COMMAND given after --")
    try:
        fetched = fetch(connector, resource_id)
        cache.remember(
            mapping_key(fetched.registry),
            fetched.connector.id,
            fetched.credentials.username or "",
            fetched.credentials.secret or "",
            fetched.connector.updated,
            fetched.expires_at,
        )
        forwarder = Forwarder()
        with forwarding_signals(forwarder), private_config(fetched, resource_id) as env:
            status = run_forwarding(list(command), env, forwarder)
    except DockerConnectorError as error:
        raise click.ClickException(str(error)) from None
    sys.exit(status)
