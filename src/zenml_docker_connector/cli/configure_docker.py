"""`zenml-docker configure-docker CONNECTOR`: docker, podman and skopeo ask the connector.

Sets `credHelpers[<registry>] = "zenml"` in docker's `config.json` and in the containers
`auth.json` (`$REGISTRY_AUTH_FILE`, else `$XDG_CONFIG_HOME/containers/auth.json`, which
survives a reboot unlike the runtime one), through the locked, atomic 0600 writer that
keeps every other entry, and records in our mapping file which connector serves the
registry. From then on the clients run `docker-credential-zenml get`, which hands out the
connector's current credentials: no secret is written to any client file. `--undo` removes
exactly what was set (entries still naming `zenml`), the mapping and the cached credentials,
and needs no ZenML: it works after the connector was deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from zenml_docker_connector.errors import DockerConnectorError
from zenml_docker_connector.glue.credential_source import Fetched, fetch, mapping_key
from zenml_docker_connector.helper import cache, mapping
from zenml_docker_connector.helper.mapping import Route
from zenml_docker_connector.local.client_files import (
    DOCKER,
    PODMAN,
    ClientFile,
    ClientFormat,
    docker_config_file,
    podman_auth_paths,
    same_file,
)
from zenml_docker_connector.local.helpers import helper_program
from zenml_docker_connector.local.json_files import update_json_file
from zenml_docker_connector.references import RegistryReference, parse_registry_reference

HELPER_SUFFIX = "zenml"
HELPER_PROGRAM = "docker-credential-zenml"


@dataclass(frozen=True)
class TargetFile:
    """One client file and the formats (docker's, podman's) whose keys it gets."""

    path: Path
    formats: tuple[ClientFormat, ...]


def client_files() -> list[TargetFile]:
    """docker's config.json and the containers auth.json (one entry when they are one file)."""
    docker = docker_config_file()
    podman = podman_auth_paths()[-1]
    if same_file(docker, podman):
        return [TargetFile(docker, (DOCKER, PODMAN))]
    return [TargetFile(docker, (DOCKER,)), TargetFile(podman, (PODMAN,))]


def point_at_helper(file: TargetFile, reference: RegistryReference) -> list[str]:
    """Set the registry's credHelpers entries in `file`; returns notes for the user."""
    notes: list[str] = []

    def mutate(data: dict[str, Any]) -> None:
        helpers = _helpers_of(data, file.formats[0], file.path, create=True)
        for file_format in file.formats:
            key = file_format.key(reference)
            previous = helpers.get(key)
            if previous not in (None, "", HELPER_SUFFIX):
                notes.append(f"{file.path}: credHelpers[{key!r}] was {previous!r}, now 'zenml'")
            helpers[key] = HELPER_SUFFIX
            auths = data.get("auths")
            if isinstance(auths, dict) and auths.get(key):
                notes.append(
                    f"{file.path} still holds a stored login for {key} under 'auths'; the "
                    "helper takes precedence, but you may want to remove it"
                )

    update_json_file(file.path, mutate, what=file.formats[0].what)
    return notes


def unpoint(path: Path, reference: RegistryReference) -> bool:
    """Remove the registry's credHelpers entries naming `zenml` from `path`."""
    removed: list[str] = []

    def mutate(data: dict[str, Any]) -> None:
        helpers = _helpers_of(data, DOCKER, path, create=False)
        for key in {DOCKER.key(reference), PODMAN.key(reference)}:
            if helpers.get(key) == HELPER_SUFFIX:
                del helpers[key]
                removed.append(key)
        if "credHelpers" in data and not helpers:
            del data["credHelpers"]

    update_json_file(path, mutate, what="client file", create_missing=False)
    return bool(removed)


def _helpers_of(
    data: dict[str, Any], file_format: ClientFormat, path: Path, *, create: bool
) -> dict[str, Any]:
    """The file's `credHelpers` object for editing, its shape checked by the one model."""
    ClientFile.parse(file_format, data, str(path))
    helpers: dict[str, Any] = data.get("credHelpers") or {}
    if create:
        data["credHelpers"] = helpers
    return helpers


def record(route: Route) -> None:
    mapping.read_routes(mapping.mapping_path())  # refuse a mapping that is not ours first
    update_json_file(
        Path(mapping.mapping_path()),
        lambda data: mapping.add_route(data, route),
        what=mapping.WHAT,
    )


def configure(connector: str, resource_id: str | None) -> tuple[Fetched, Route, list[str]]:
    """Everything `configure-docker` does; returns what it fetched, the route, notes."""
    fetched = fetch(connector, resource_id)
    reference = fetched.registry
    files = client_files()
    route = Route(
        registry=mapping_key(reference),
        connector_id=fetched.connector.id,
        connector_name=fetched.connector.name,
        resource_id=resource_id,
        username=fetched.credentials.username or "",
        files=tuple(str(file.path) for file in files),
    )
    record(route)
    notes: list[str] = []
    for file in files:
        notes.extend(point_at_helper(file, reference))
    cache.forget(route.connector_id)
    cache.remember(
        route.registry,
        route.connector_id,
        route.username,
        fetched.credentials.secret or "",
        fetched.connector.updated,
        fetched.expires_at,
    )
    if helper_program(HELPER_PROGRAM) is None:
        notes.append(
            f"{HELPER_PROGRAM} is not on PATH, so docker and podman cannot run it; add the "
            "directory zenml-docker is installed in to PATH"
        )
    return fetched, route, notes


def undo(connector: str, resource_id: str | None) -> list[Route]:
    """Remove every route of `connector` (name or id), or only the one of `resource_id`."""
    path = mapping.mapping_path()
    wanted = mapping_key(parse_registry_reference(resource_id)) if resource_id else None
    chosen = [
        route
        for route in mapping.read_routes(path).values()
        if connector in (route.connector_id, route.connector_name)
        and (wanted is None or route.registry == wanted)
    ]
    for route in chosen:
        reference = parse_registry_reference(route.registry)
        for file in route.files:
            unpoint(Path(file), reference)
        cache.forget(route.connector_id)
    if chosen:
        update_json_file(
            Path(path),
            lambda data: mapping.remove_routes(data, chosen),
            what=mapping.WHAT,
            create_missing=False,
        )
    return chosen


@click.command("configure-docker")
@click.argument("connector")
@click.option(
    "--resource-id",
    help="The registry to serve, for connectors that serve more than one (AWS, GCP, Azure).",
)
@click.option(
    "--undo",
    "undo_flag",
    is_flag=True,
    help="Stop serving: remove the credHelpers entries, the mapping and cached credentials.",
)
def configure_docker(connector: str, resource_id: str | None, undo_flag: bool) -> None:
    """Make docker, podman and skopeo get CONNECTOR's credentials from ZenML on demand."""
    try:
        if undo_flag:
            _report_undo(connector, undo(connector, resource_id))
            return
        fetched, route, notes = configure(connector, resource_id)
    except DockerConnectorError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"{route.registry} is now served by connector '{fetched.connector.name}' through "
        f"{HELPER_PROGRAM}: credHelpers set in {', '.join(route.files)}; no secret written."
    )
    for note in notes:
        click.echo(f"Note: {note}", err=True)


def _report_undo(connector: str, routes: list[Route]) -> None:
    if not routes:
        click.echo(f"Nothing to undo: {mapping.mapping_path()} has no registry of '{connector}'.")
    for route in routes:
        click.echo(f"{route.registry} is no longer served by '{route.connector_name}'.")
