"""Which ZenML connector serves which registry: a file of ours in ZenML's config directory.

`zenml-docker configure-docker` writes it (through the locked, atomic 0600 writer of
`local.json_files`); the helper only reads it. The file holds no secret:
`{"version": 1, "registries": {"host:port": {"connector": ID, "name": NAME, "resource_id":
RID|null, "username": USER, "files": [client files pointed at the helper]}}}`.
`zenml-docker exec` points the helper at a private one with `MAPPING_ENV`.
"""

from __future__ import annotations

import json
import os

from zenml_docker_connector.helper.files import HelperError, read_private

MAPPING_FILE_NAME = "docker-credential-zenml.json"
MAPPING_ENV = "ZENML_DOCKER_CREDENTIAL_MAP"
"""A mapping file to use instead of the one in ZenML's config directory."""
WHAT = "credential helper mapping"
MAX_MAPPING_BYTES = 1 << 20
VERSION = 1
_HEX = frozenset("0123456789abcdef-")


class Route:
    """One registry and the connector that serves it (no secret)."""

    __slots__ = ("connector_id", "connector_name", "files", "registry", "resource_id", "username")

    def __init__(
        self,
        registry: str,
        connector_id: str,
        connector_name: str,
        resource_id: str | None,
        username: str,
        files: tuple[str, ...] = (),
    ) -> None:
        self.registry = registry
        self.connector_id = connector_id
        self.connector_name = connector_name
        self.resource_id = resource_id
        self.username = username
        self.files = files

    def as_json(self) -> dict[str, object]:
        return {
            "connector": self.connector_id,
            "name": self.connector_name,
            "resource_id": self.resource_id,
            "username": self.username,
            "files": list(self.files),
        }


def zenml_config_directory() -> str:
    """Where ZenML keeps its global configuration (`ZENML_CONFIG_PATH`, else click's app dir
    on Linux, `$XDG_CONFIG_HOME/zenml`), computed without importing ZenML or click."""
    configured = os.environ.get("ZENML_CONFIG_PATH")
    if configured:
        return os.path.realpath(configured)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return os.path.join(base, "zenml")


def mapping_path() -> str:
    return os.environ.get(MAPPING_ENV) or os.path.join(zenml_config_directory(), MAPPING_FILE_NAME)


def read_routes(path: str) -> dict[str, Route]:
    """Every route in the mapping file at `path`; {} when there is none. Refuses a file that
    is not ours, is writable by others, or is not what `configure-docker` writes."""
    raw = read_private(path, what=WHAT, limit=MAX_MAPPING_BYTES)
    if raw is None or not raw.strip():
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _corrupt(path, "is not valid JSON") from None
    return parse_routes(data, path)


def parse_routes(data: object, path: str) -> dict[str, Route]:
    """The routes in parsed mapping content; anything unexpected makes the file corrupt."""
    if not isinstance(data, dict):
        raise _corrupt(path, "is not a JSON object")
    if data.get("version", VERSION) != VERSION:
        raise _corrupt(path, f"has a version other than {VERSION}")
    registries = data.get("registries", {})
    if not isinstance(registries, dict):
        raise _corrupt(path, "has a 'registries' value that is not an object")
    return {key: _route(key, value, path) for key, value in registries.items()}


def _route(key: str, value: object, path: str) -> Route:
    if not isinstance(value, dict):
        raise _corrupt(path, f"has an entry for {key!r} that is not an object")
    connector, name = value.get("connector"), value.get("name")
    resource_id, username = value.get("resource_id"), value.get("username", "")
    files = value.get("files", [])
    if not (isinstance(connector, str) and connector and set(connector) <= _HEX):
        raise _corrupt(path, f"has no valid connector id for {key!r}")
    if not isinstance(name, str) or not isinstance(username, str):
        raise _corrupt(path, f"has a name or username for {key!r} that is not text")
    if resource_id is not None and not isinstance(resource_id, str):
        raise _corrupt(path, f"has a resource_id for {key!r} that is not text")
    if not isinstance(files, list) or not all(isinstance(item, str) for item in files):
        raise _corrupt(path, f"has a 'files' value for {key!r} that is not a list of paths")
    return Route(key, connector, name, resource_id, username, tuple(files))


def add_route(data: dict[str, object], route: Route) -> None:
    """Record `route` in mapping content (a `json_files.update_json_file` mutation)."""
    parse_routes(data, "(being updated)")
    data["version"] = VERSION
    registries = data.setdefault("registries", {})
    assert isinstance(registries, dict)
    registries[route.registry] = route.as_json()


def remove_routes(data: dict[str, object], chosen: list[Route]) -> None:
    """Drop `chosen` routes from mapping content."""
    registries = data.get("registries")
    if isinstance(registries, dict):
        for route in chosen:
            registries.pop(route.registry, None)


def _corrupt(path: str, problem: str) -> HelperError:
    return HelperError(
        f"the {WHAT} {path} {problem}; refused. Remove it, then run "
        "`zenml-docker configure-docker` again"
    )
