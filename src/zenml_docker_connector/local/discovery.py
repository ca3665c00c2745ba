"""Find the registry credentials a user already has locally (for `--auto-configure`).

Sources, first match wins (`client_files.files_to_read`): `DOCKER_AUTH_CONFIG` (it overrides
the config file, as in docker CLI 28.2+ and testcontainers); the docker config file, else
`~/.dockercfg` (per registry the `credHelpers` helper, else `credsStore`, else `auths`; the
docker CLI stops at a helper that has nothing, we still try `auths`, like docker-py); then
podman's `auth.json` files (`credHelpers`, then namespaced keys, longest prefix first against
the path as written). Among keys naming one registry `client_files.key_rank` decides.
Nothing is written. A broken source raises `LocalConfigError` when consulted; a helper's
"credentials not found" moves on. Identity tokens cannot serve as docker passwords: if
nothing better is found they raise an error saying what to do instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local.client_files import (
    ClientFile,
    files_to_read,
    registry_of_key,
    searched_places,
)
from zenml_docker_connector.local.helpers import CredentialHelper, helper_timeout
from zenml_docker_connector.references import RegistryReference


@dataclass(frozen=True)
class FoundCredentials:
    """Credentials found locally for one registry; `source` says where (never a secret)."""

    reference: RegistryReference
    credentials: Credentials
    source: str


def find_local_credentials(
    reference: RegistryReference | None,
    *,
    timeout: float | None = None,
    allow_identity_token: bool = False,
) -> FoundCredentials:
    """Credentials for `reference`, else (None) for the only registry found or Docker Hub.

    `timeout` bounds each helper call (default: `helpers.helper_timeout`).
    """
    seconds = helper_timeout(timeout)
    if reference is None:
        reference = _select_registry(seconds)
    token_hit: FoundCredentials | None = None
    for client_file in files_to_read():
        found = _lookup(client_file, reference, seconds)
        if found is None:
            continue
        if not found.credentials.identity_token or allow_identity_token:
            return found
        token_hit = token_hit or found
    if token_hit is not None:
        raise _identity_token_error(token_hit)
    shown = f"{reference}/{reference.path}" if reference.path else str(reference)
    raise LocalConfigError(
        f"No credentials for the registry {shown} were found locally (looked in: "
        f"{', '.join(searched_places())}). "
        f"Log in first (`docker login {reference}` or `podman login {reference}`) and "
        "auto-configure again, or register the connector with --username and --password."
    )


def _registries(timeout: float) -> dict[str, RegistryReference]:
    found: dict[str, RegistryReference] = {}
    for client_file in files_to_read():
        named = [e.registry for e in client_file.entries if e.credentials is not None]
        named += [h.registry for h in client_file.helper_settings]
        store = client_file.creds_store_helper(timeout)
        keys = store.list() if store is not None else {}
        named += [parsed[0] for key in keys if (parsed := registry_of_key(key, namespaced=False))]
        for registry in named:
            found.setdefault(registry.resource_id, registry)
    return found


def _select_registry(timeout: float) -> RegistryReference:
    found = _registries(timeout)
    if len(found) == 1:
        return next(iter(found.values()))
    hub = next((r for r in found.values() if r.is_docker_hub), None)
    if hub is not None:
        return hub
    if not found:
        raise LocalConfigError(
            f"No registry credentials were found locally (looked in: "
            f"{', '.join(searched_places())}). Log in with `docker login <registry>` or "
            "`podman login <registry>` first, or register the connector with --username and "
            "--password."
        )
    raise LocalConfigError(
        f"Credentials for several registries were found locally ({', '.join(sorted(found))}) "
        "and none is Docker Hub, so it is unclear which one to use. Pass the registry with "
        "--resource-id <registry> (or registry=<registry>)."
    )


def _identity_token_error(found: FoundCredentials) -> LocalConfigError:
    return LocalConfigError(
        f"The local credentials for {found.reference} ({found.source}) are an identity "
        "token, not a password: a refresh token the registry handed out at `docker login`, "
        "or one from an OAuth/SSO login. Registries accept it only through their token "
        "service, so it cannot serve as a docker username and password (and logging in "
        "again with `docker login` stores a token again). Register the connector with "
        "--username and --password instead of auto-configuring, using your password or a "
        "personal access token created for the purpose."
    )


def _lookup(
    client_file: ClientFile, reference: RegistryReference, timeout: float
) -> FoundCredentials | None:
    """The file's helper for `reference` first, then its `auths` entry."""
    helper = client_file.helper_for(reference, reading=True, timeout=timeout)
    found = _from_helper(helper, reference) if helper is not None else None
    if found is not None:
        return found
    entry = client_file.entry_for(reference)
    if entry is None or entry.credentials is None:
        return None
    token = entry.credentials.identity_token
    kind = "identitytoken of the auths entry" if token else "auths entry"
    return FoundCredentials(
        reference, entry.credentials, f"{kind} {entry.key!r} in {client_file.origin}"
    )


def _from_helper(helper: CredentialHelper, reference: RegistryReference) -> FoundCredentials | None:
    """Ask under the docker key (and the `credHelpers` key); a `credsStore` may hold the
    registry under another spelling (https://host, host/v1/), so its list is asked next."""
    for url in _helper_keys(helper, reference):
        credentials = helper.get(url)
        if credentials is not None:
            return FoundCredentials(reference, credentials, helper.description)
    return None


def _helper_keys(helper: CredentialHelper, reference: RegistryReference) -> Iterator[str]:
    yield reference.config_key
    if helper.key is not None:
        if helper.key != reference.config_key:
            yield helper.key
        return
    for key in helper.list():
        found = registry_of_key(key, namespaced=False)
        if key != reference.config_key and found and found[0].same_registry(reference):
            yield key
