"""Round trips of every path that checks a connector, not only `verify` (issue 18, item 3).

Each path runs as the user runs it: a fresh process (`zenml …` or `zenml-docker …`) against a
ZenML store in this bed's directory that holds one connector per TLS registry, inside the
delayed namespace, counted like the clients of roundtrips.py (TCP and TLS handshakes from
delay.c, HTTP requests from the registry's and the token server's logs). From cold, the
minimum is 4 round trips for Basic and 7 for token with a separate token host (asserted,
without the delay, in tests/integration/test_round_trips.py). Only counts:
a process's wall time here is mostly importing ZenML. Every process gets a private HOME,
docker config, containers auth file and no docker daemon, so nothing outside the bed is
read or written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bed import Action, run
from netns import Delay
from tls_bed import TLSBed, counted

REPOSITORY = "team/app"
PATHS = {
    "zenml service-connector verify": ["zenml", "service-connector", "verify"],
    "zenml service-connector login": ["zenml", "service-connector", "login"],
    f"zenml-docker doctor -r {REPOSITORY} --push": ["zenml-docker", "doctor"],
    "zenml-docker pull-secret": ["zenml-docker", "pull-secret"],
}
EXTRA = {"zenml-docker doctor": ["--repository", REPOSITORY, "--push"]}
# Registers the connectors named on stdin (JSON, passwords included) without verifying them.
REGISTER = """\
import json, sys
from zenml.client import Client
for connector in json.load(sys.stdin):
    configuration = {key: connector[key] for key in ("username", "password", "registry")}
    Client().create_service_connector(
        name=connector["name"], connector_type="docker", auth_method="password",
        configuration=configuration, verify=False, list_resources=False)
"""


def _env(bed: TLSBed, directory: Path) -> dict[str, str]:
    """The bed's environment with every client location inside `directory`."""
    for name in ("home", "docker"):
        (directory / name).mkdir(parents=True, exist_ok=True)
    env = dict(bed.env, HOME=str(directory / "home"), XDG_CONFIG_HOME=str(bed.config_home))
    env.update(DOCKER_CONFIG=str(directory / "docker"), DOCKER_HOST=f"unix://{directory}/none")
    env.update(REGISTRY_AUTH_FILE=str(directory / "auth.json"), COLUMNS="200", TERM="dumb")
    return env


def _register(bed: TLSBed) -> dict[str, str]:
    """One connector per registry in the bed's ZenML store; their names by kind."""
    names = {kind: f"bench-{kind}-tls" for kind in bed.registries}
    connectors = [
        {"name": names[k], "username": r.username, "password": r.password, "registry": r.url}
        for k, r in bed.registries.items()
    ]
    command = [sys.executable, "-c", REGISTER]
    run(command, _env(bed, bed.scratch / "paths" / "register"), json.dumps(connectors))
    return names


def _action(path: str, name: str, env: dict[str, str]) -> Action:
    program, *arguments = PATHS[path]
    executable = str(Path(sys.executable).parent / program)
    extra = next((v for k, v in EXTRA.items() if path.startswith(k)), [])
    return lambda: run([executable, *arguments, name, *extra], env)


def measure(bed: TLSBed, delay: Delay) -> dict[str, Any]:
    """{path: {kind: counts}}, each path run once per registry from a cold process."""
    names = _register(bed)
    result: dict[str, Any] = {}
    for index, path in enumerate(PATHS):
        result[path] = {}
        for kind, registry in bed.registries.items():
            env = _env(bed, bed.scratch / "paths" / f"{index}-{kind}")
            result[path][kind] = counted(registry, delay, _action(path, names[kind], env))
    return result
