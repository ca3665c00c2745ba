"""Find the registry credentials a user already has locally (for `--auto-configure`).

Sources, first match wins:

1. `DOCKER_AUTH_CONFIG` — a whole docker config JSON in an environment variable (GitLab CI,
   testcontainers). It overrides the config file, as in the docker CLI (28.2+, which falls
   back to the file for registries the variable does not name) and testcontainers.
2. The docker config file: `$DOCKER_CONFIG/config.json` when `DOCKER_CONFIG` is set, else
   `~/.docker/config.json` (like the docker CLI, an unset file in `$DOCKER_CONFIG` does not
   fall back to the home directory). Per registry: the `credHelpers` helper, else the
   `credsStore` helper, else the `auths` entry (plain `auth` or `username`/`password`). The
   docker CLI stops at a helper that has nothing; we then still try `auths`, like docker-py.
3. The legacy `~/.dockercfg`, only when there is no config.json (docker-py's rule), in
   either of its formats; a corrupt one is an error, as in the docker CLI.
4. Podman/Buildah/Skopeo `auth.json` files (see `locations`), `credHelpers` first, then
   namespaced `auths` keys matched longest-prefix first against the repository path as the
   user wrote it: `docker.io/team` is podman's key for the Docker Hub namespace `team`
   (what `podman login docker.io/team` writes), not the image `docker.io/library/team`.

Within DOCKER_AUTH_CONFIG and each file the same rules apply. Keys are matched after
normalisation (`https://ghcr.io`, `ghcr.io/v1/`, `index.docker.io`, `registry-1.docker.io`,
`https://index.docker.io/v1/`, the legacy `http://index.docker.io/v1/` …); when several keys
name one registry the registry's canonical name (`docker.io`, `host:port`) wins, as in
docker-py and containers/image, then the docker CLI's own key, then file order. Docker Hub
OAuth entries and unparsable keys are skipped.
Nothing is ever written. A source that exists but is broken raises `LocalConfigError` when
it is consulted; a helper's "credentials not found" just moves on to the next source.
Identity tokens (`identitytoken`, or a helper username `<token>`) cannot be used as docker
passwords: if nothing better is found they raise an error saying what to do instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local.auth_entries import (
    AuthConfigData,
    AuthEntry,
    parse_auth_config,
    registry_of_key,
)
from zenml_docker_connector.local.formats import DOCKER, PODMAN, ClientFileFormat
from zenml_docker_connector.local.helpers import CredentialHelper, helper_timeout
from zenml_docker_connector.local.json_files import parse_json_text, read_file, read_json
from zenml_docker_connector.local.locations import (
    docker_config_file,
    legacy_dockercfg_file,
    podman_auth_paths,
    searched_places,
)
from zenml_docker_connector.references import DOCKER_HUB_CONFIG_KEY, RegistryReference

ENV_VAR = "DOCKER_AUTH_CONFIG"


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
    """Credentials for `reference` from the local stores, in the module's order.

    With `reference` None: the only registry found, else Docker Hub if present, else a
    `LocalConfigError` listing the registries found. `timeout` bounds each credential
    helper call (default 10 s or `$ZENML_DOCKER_CREDENTIAL_HELPER_TIMEOUT`).
    """
    seconds = helper_timeout(timeout)
    if reference is None:
        reference = _select_registry(seconds)
    token_hit: FoundCredentials | None = None
    for source in _sources(seconds):
        found = source.lookup(reference)
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
    for source in _sources(timeout):
        for registry in source.registries():
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


def _sources(timeout: float) -> Iterator[_ConfigSource]:
    """Sources in precedence order, each loaded (and validated) only when reached."""
    env_value = os.environ.get(ENV_VAR, "")
    if env_value.strip():
        data = parse_json_text(env_value, label=f"The environment variable {ENV_VAR}")
        parsed = parse_auth_config(data, origin=ENV_VAR, kind="environment variable")
        yield _ConfigSource(parsed, DOCKER, timeout)
    config_path = docker_config_file()
    config = read_json(config_path, what=DOCKER.what)
    if config is not None:
        yield _ConfigSource(
            parse_auth_config(config, origin=str(config_path), kind=DOCKER.what),
            DOCKER,
            timeout,
        )
    else:
        legacy = _load_legacy_dockercfg()
        if legacy is not None:
            yield _ConfigSource(legacy, DOCKER, timeout)
    for path in podman_auth_paths():
        podman = read_json(path, what=PODMAN.what)
        if podman is not None:
            parsed = parse_auth_config(podman, origin=str(path), kind=PODMAN.what, namespaced=True)
            yield _ConfigSource(parsed, PODMAN, timeout)


def _load_legacy_dockercfg() -> AuthConfigData | None:
    """`~/.dockercfg` in its JSON format ({key: {auth, email}}) or the older two-line one.

    docker-py's `load_config` reads both but turns every problem into "no credentials" (it
    logs at debug level and returns {}), which would hide a broken file behind a misleading
    "nothing found"; the docker CLI refuses such a file, and so do we, naming it.
    """
    path = legacy_dockercfg_file()
    what = "legacy docker config file"
    raw = read_file(path, what=what)
    if raw is None:
        return None
    label = f"The {what} {path}"
    data: object
    if raw.lstrip().startswith(b"auth"):
        data = _two_line_dockercfg(raw, label)
    else:
        data = parse_json_text(raw, label=label)
    if isinstance(data, dict) and not isinstance(data.get("auths"), dict):
        data = {"auths": data}
    return parse_auth_config(data, origin=str(path), kind=what)


def _two_line_dockercfg(raw: bytes, label: str) -> dict[str, object]:
    """`auth = <base64>` and `email = <address>` lines: Docker Hub's credentials."""
    lines = raw.decode("utf-8", errors="replace").splitlines()
    first = lines[0].split(" = ", 1) if lines else []
    if len(lines) < 2 or len(first) != 2 or first[0].strip() != "auth":
        raise LocalConfigError(
            f"{label} is neither JSON nor the old two-line 'auth = …' / 'email = …' format; it "
            "was left unchanged. Remove it and log in again with `docker login`."
        )
    return {DOCKER_HUB_CONFIG_KEY: {"auth": first[1].strip()}}


class _ConfigSource:
    """One docker-format config (env var, config.json, .dockercfg or auth.json)."""

    def __init__(self, data: AuthConfigData, file_format: ClientFileFormat, timeout: float):
        self.data = data
        self.origin = data.origin
        self.format = file_format
        self.timeout = timeout

    def lookup(self, reference: RegistryReference) -> FoundCredentials | None:
        found = self._from_helpers(reference)
        if found is not None:
            return found
        entry = self._auths_entry(reference)
        if entry is None or entry.credentials is None:
            return None
        kind = (
            "identitytoken of the auths entry"
            if entry.credentials.identity_token
            else ("auths entry")
        )
        return FoundCredentials(
            reference, entry.credentials, f"{kind} {entry.key!r} in {self.origin}"
        )

    def registries(self) -> list[RegistryReference]:
        found = [e.registry for e in self.data.auths if e.credentials is not None]
        found += [h.registry for h in self.data.cred_helpers]
        store = self._store()
        if store is not None:
            for key in store.list():
                parsed = registry_of_key(key, namespaced=False)
                if parsed is not None:
                    found.append(parsed[0])
        return found

    def _store(self) -> CredentialHelper | None:
        if not self.format.uses_creds_store or not self.data.creds_store:
            return None
        return CredentialHelper(
            self.data.creds_store,
            f"credsStore in {self.origin}",
            timeout=self.timeout,
            is_creds_store=True,
        )

    def _from_helpers(self, reference: RegistryReference) -> FoundCredentials | None:
        setting = min(
            (h for h in self.data.cred_helpers if h.registry.same_registry(reference)),
            key=lambda h: key_rank(h.key, reference),
            default=None,
        )
        if setting is not None:
            helper = CredentialHelper(
                setting.suffix, f"credHelpers in {self.origin}", timeout=self.timeout
            )
            return _ask(helper, list(dict.fromkeys([reference.config_key, setting.key])), reference)
        store = self._store()
        if store is None:
            return None
        found = _ask(store, [reference.config_key], reference)
        if found is not None:
            return found
        # The helper may hold the registry under another spelling (https://host, host/v1/).
        variants = [
            key
            for key in store.list()
            if key != reference.config_key
            and (parsed := registry_of_key(key, namespaced=False)) is not None
            and parsed[0].same_registry(reference)
        ]
        return _ask(store, variants, reference)

    def _auths_entry(self, reference: RegistryReference) -> AuthEntry | None:
        if self.format.namespaced_keys:
            return match_namespaced(self.data.auths, reference, origin=self.origin)
        matching = [
            e
            for e in self.data.auths
            if e.credentials is not None and e.registry.same_registry(reference)
        ]
        return min(matching, key=lambda e: key_rank(e.key, reference), default=None)


def _ask(
    helper: CredentialHelper, urls: list[str], reference: RegistryReference
) -> FoundCredentials | None:
    for url in urls:
        credentials = helper.get(url)
        if credentials is not None:
            return FoundCredentials(reference, credentials, helper.description)
    return None


def key_rank(key: str, reference: RegistryReference) -> int:
    """Which of several keys for one registry wins (lower first; ties keep file order).

    The canonical name (`docker.io`, `host:port`) is what docker-py (`resolve_authconfig`)
    and containers/image look up first; the docker CLI's Docker Hub key comes next.
    """
    if key == reference.resource_id:
        return 0
    return 1 if key == reference.config_key else 2


def match_namespaced(
    entries: Sequence[AuthEntry], reference: RegistryReference, *, origin: str
) -> AuthEntry | None:
    """The entry for `reference`: the longest matching namespace, else the registry-wide one.

    Namespaces are matched against the path as written (`reference.path`). Without a path
    in `reference` the registry-wide entry is used; if there is none and
    exactly one namespaced entry, that one; several namespaces are ambiguous (error).
    """
    candidates = [
        e for e in entries if e.registry.same_registry(reference) and e.credentials is not None
    ]
    if reference.path is not None:
        path = reference.path
        matching = [
            e
            for e in candidates
            if e.namespace is None or path == e.namespace or path.startswith(e.namespace + "/")
        ]
        return min(
            matching,
            key=lambda e: (-len(e.namespace or ""), key_rank(e.key, reference)),
            default=None,
        )
    whole = [e for e in candidates if e.namespace is None]
    if whole:
        return min(whole, key=lambda e: key_rank(e.key, reference))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        return None
    names = ", ".join(sorted(e.key for e in candidates))
    raise LocalConfigError(
        f"The {PODMAN.what} {origin} holds credentials for several namespaces of {reference} "
        f"({names}) and none for the whole registry. Name the one you want, e.g. "
        f"registry={candidates[0].key}, or log in to the whole registry with "
        f"`podman login {reference}`."
    )
