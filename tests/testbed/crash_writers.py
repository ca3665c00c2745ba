"""Every kind of file the connector writes, written and read back through its own writer.

Shared by the crash-safety test (parent) and the child process it kills: `write(kind, path,
n)` makes version `n` of the file with the writer the product uses, leaving every other entry
as it was; `version(kind, path)` checks a file is valid, still holds every other entry, and
returns which version it is.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.helper import cache, mapping
from zenml_docker_connector.kubernetes.render import render, write_private_file
from zenml_docker_connector.local.client_files import DOCKER, PODMAN, ClientFormat
from zenml_docker_connector.local.json_files import update_json_file
from zenml_docker_connector.local.login import login_file
from zenml_docker_connector.references import parse_registry_reference

KINDS = ("docker-config", "podman-auth", "pull-secret", "helper-mapping", "helper-cache")
OTHERS = 60
"""Other entries in each file, so a write is a few kB and a kill can land inside it."""
REGISTRY = "127.0.0.1:5999"


def _other_auths() -> dict[str, Any]:
    return {f"registry-{i}.example.com": {"auth": f"b3RoZXI6ZW50cnk{i:04d}"} for i in range(OTHERS)}


def initial(kind: str, path: Path) -> None:
    """The file as a user has it before we touch it: many other entries, version 0."""
    if kind in ("docker-config", "podman-auth"):
        data: dict[str, Any] = {"auths": _other_auths(), "credHelpers": {"gcr.io": "gcloud"}}
        path.write_text(json.dumps(data, indent="\t") + "\n", encoding="utf-8")
        path.chmod(0o600)
        write(kind, path, 0)
    elif kind == "helper-mapping":
        data = {
            "version": mapping.VERSION,
            "registries": {
                f"registry-{i}.example.com": _route(f"registry-{i}.example.com", i).as_json()
                for i in range(OTHERS)
            },
        }
        path.write_text(json.dumps(data) + "\n", encoding="utf-8")
        path.chmod(0o600)
        write(kind, path, 0)
    else:
        write(kind, path, 0)


def _route(registry: str, n: int) -> mapping.Route:
    connector = f"00000000-0000-4000-8000-{n:012d}"
    return mapping.Route(registry, connector, f"connector-{n}", None, f"user-{n}", ("/x",))


def _format(kind: str) -> ClientFormat:
    return DOCKER if kind == "docker-config" else PODMAN


def _manifest(n: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "crash-pull-secret",
            "annotations": {f"example.com/note-{i}": f"value {i}" for i in range(OTHERS)},
        },
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": f"version-{n:08d}-" + "x" * 2000},
    }


def write(kind: str, path: Path, n: int) -> None:
    """Version `n` of the file, through the product's writer for that kind."""
    if kind in ("docker-config", "podman-auth"):
        credentials = Credentials("crash-user", f"version-{n:08d}")
        login_file(_format(kind), path, parse_registry_reference(REGISTRY), credentials)
    elif kind == "pull-secret":
        write_private_file(path, render(_manifest(n), "yaml"))
    elif kind == "helper-mapping":
        route = _route(REGISTRY, n)
        update_json_file(path, lambda data: mapping.add_route(data, route), what=mapping.WHAT)
    else:
        store = cache.Store(str(path.parent))
        entry = cache.Entry("crash-user", f"version-{n:08d}" + "x" * 4000, "u", 1e12, 1e12)
        lock = store.lock(str(path))
        try:
            store.save(str(path), entry)
        finally:
            store.unlock(lock)


def version(kind: str, path: Path) -> int:
    """Which version `path` holds; AssertionError if it is invalid or lost another entry."""
    text = path.read_text(encoding="utf-8")
    if kind == "pull-secret":
        document = yaml.safe_load(text)
        value = document["data"][".dockerconfigjson"]
        n = int(value.split("-")[1])
        assert document == _manifest(n), "the pull-secret file is not one whole version"
        return n
    data = json.loads(text)
    if kind == "helper-cache":
        n = int(data["secret"][len("version-") :][:8])
        assert data["secret"] == f"version-{n:08d}" + "x" * 4000
        return n
    if kind == "helper-mapping":
        registries = data["registries"]
        for i in range(OTHERS):
            name = f"registry-{i}.example.com"
            assert registries[name] == _route(name, i).as_json(), f"mapping lost {name}"
        return int(registries[REGISTRY]["username"].split("-")[1])
    auths = data["auths"]
    for name, value in _other_auths().items():
        assert auths[name] == value, f"{kind} lost the entry {name}"
    assert data["credHelpers"] == {"gcr.io": "gcloud"}, f"{kind} lost credHelpers"
    key = _format(kind).key(parse_registry_reference(REGISTRY))
    user, _, secret = base64.b64decode(auths[key]["auth"]).decode().partition(":")
    assert user == "crash-user", f"{kind}: the entry for {key} is not ours"
    return int(secret[len("version-") :])


def child_main(kind: str, path: str, start: int) -> None:
    """Write versions start+1, start+2, ... forever, saying on stdout each one finished."""
    target = Path(path)
    print("ready", flush=True)
    n = start
    while True:
        n += 1
        write(kind, target, n)
        sys.stdout.write(f"{n}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    child_main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
