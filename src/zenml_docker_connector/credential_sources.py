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
3. The legacy `~/.dockercfg`, only when there is no config.json (docker-py's rule).
4. Podman/Buildah/Skopeo `auth.json` files (see `podman_auth`), `credHelpers` first, then
   namespaced `auths` keys matched longest-prefix first against `reference.repository`.

Within DOCKER_AUTH_CONFIG and each file the same rules apply. Keys are matched after
normalisation (`https://ghcr.io`, `ghcr.io/v1/`, `index.docker.io`, `registry-1.docker.io`,
`https://index.docker.io/v1/` …), Docker Hub OAuth entries and unparsable keys are skipped.
Nothing is ever written. A source that exists but is broken raises `CredentialSourceError`
when it is consulted; a helper's "credentials not found" just moves on to the next source.
Identity tokens (`identitytoken`, or a helper username `<token>`) cannot be used as docker
passwords: if nothing better is found they raise an error saying what to do instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from docker import auth as docker_auth
from docker.errors import DockerException
from docker.utils import config as docker_config

from .auth_files import (
    AuthConfigData,
    AuthEntry,
    parse_auth_config,
    parse_json_text,
    read_json_file,
    registry_of_key,
)
from .credential_helpers import CredentialHelper, HelperCredentials, helper_timeout
from .errors import CredentialSourceError
from .podman_auth import load_podman_auth, match_namespaced, podman_auth_paths
from .references import RegistryReference

ENV_VAR = "DOCKER_AUTH_CONFIG"


@dataclass(frozen=True)
class FoundCredentials:
    """Credentials found locally for one registry; `source` says where (never a secret)."""

    reference: RegistryReference
    username: str
    password: str = field(repr=False)
    source: str
    identity_token: bool = False
    """True when `password` is an identity token (only returned with allow_identity_token)."""


def find_local_credentials(
    reference: RegistryReference | None,
    *,
    timeout: float | None = None,
    allow_identity_token: bool = False,
) -> FoundCredentials:
    """Username and password for `reference` from the local stores, in the module's order.

    With `reference` None: the only registry found, else Docker Hub if present, else a
    `CredentialSourceError` listing the registries found. `timeout` bounds each credential
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
        if not found.identity_token or allow_identity_token:
            return found
        token_hit = token_hit or found
    if token_hit is not None:
        raise _identity_token_error(token_hit)
    shown = f"{reference}/{reference.repository}" if reference.repository else str(reference)
    raise CredentialSourceError(
        f"No credentials for the registry {shown} were found locally (looked in: "
        f"{_places()}). "
        f"Log in first (`docker login {reference}` or `podman login {reference}`) and "
        "auto-configure again, or register the connector with --username and --password."
    )


def list_local_registries(*, timeout: float | None = None) -> list[str]:
    """Names (resource ids) of the registries with local credentials or a helper, sorted."""
    return sorted(_registries(helper_timeout(timeout)))


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
        raise CredentialSourceError(
            f"No registry credentials were found locally (looked in: {_places()}). "
            "Log in with `docker login <registry>` or `podman login <registry>` first, or "
            "register the connector with --username and --password."
        )
    raise CredentialSourceError(
        f"Credentials for several registries were found locally ({', '.join(sorted(found))}) "
        "and none is Docker Hub, so it is unclear which one to use. Pass the registry with "
        "--resource-id <registry> (or registry=<registry>)."
    )


def _identity_token_error(found: FoundCredentials) -> CredentialSourceError:
    return CredentialSourceError(
        f"The local credentials for {found.reference} ({found.source}) are an identity "
        "token, not a password: a refresh token the registry handed out at `docker login`, "
        "or one from an OAuth/SSO login. Registries accept it only through their token "
        "service, so it cannot serve as a docker username and password (and logging in "
        "again with `docker login` stores a token again). Register the connector with "
        "--username and --password instead of auto-configuring, using your password or a "
        "personal access token created for the purpose."
    )


def docker_config_file() -> Path:
    """The docker config file the docker CLI would use (no fallback from $DOCKER_CONFIG)."""
    return Path(
        docker_config.config_path_from_environment()
        or os.path.join(docker_config.home_dir(), docker_config.DOCKER_CONFIG_FILENAME)
    )


def _places() -> str:
    """Every place consulted, for "not found" messages."""
    legacy = Path(docker_config.home_dir()) / docker_config.LEGACY_DOCKER_CONFIG_FILENAME
    places = [ENV_VAR, str(docker_config_file()), str(legacy)]
    return ", ".join(places + [str(p) for p in podman_auth_paths()])


def _sources(timeout: float) -> Iterator[_ConfigSource]:
    """Sources in precedence order, each loaded (and validated) only when reached."""
    env_value = os.environ.get(ENV_VAR, "")
    if env_value.strip():
        data = parse_json_text(env_value, label=f"The environment variable {ENV_VAR}")
        yield _ConfigSource(
            parse_auth_config(data, origin=ENV_VAR, kind="environment variable", namespaced=False),
            timeout,
        )
    config_path = docker_config_file()
    config = read_json_file(config_path, what="docker config file")
    if config is not None:
        yield _ConfigSource(
            parse_auth_config(
                config, origin=str(config_path), kind="docker config file", namespaced=False
            ),
            timeout,
        )
    else:
        legacy = _load_legacy_dockercfg()
        if legacy is not None:
            yield _ConfigSource(legacy, timeout)
    for path in podman_auth_paths():
        podman = load_podman_auth(path)
        if podman is not None:
            yield _ConfigSource(podman, timeout, namespaced=True)


def _load_legacy_dockercfg() -> AuthConfigData | None:
    """`~/.dockercfg`, parsed by docker-py (it knows both legacy formats)."""
    path = Path(docker_config.home_dir()) / docker_config.LEGACY_DOCKER_CONFIG_FILENAME
    what = "legacy docker config file"
    try:
        path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CredentialSourceError(
            f"The {what} {path} cannot be read ({exc.strerror or type(exc).__name__}). "
            "Fix or remove it."
        ) from None
    try:
        loaded = docker_auth.load_config(config_path=str(path))
    except (ValueError, TypeError, AttributeError, DockerException):  # raised bare by docker-py
        raise CredentialSourceError(
            f"The {what} {path} cannot be parsed (an entry is not base64 of "
            "username:password). Remove it and log in again with `docker login`."
        ) from None
    entries = []
    for key, value in loaded.auths.items():
        parsed = registry_of_key(key, namespaced=False)
        if parsed is None or not isinstance(value, dict):
            continue
        entries.append(
            AuthEntry(
                key=key,
                registry=parsed[0],
                namespace=None,
                username=str(value.get("username") or ""),
                password=str(value.get("password") or ""),
                identity_token=str(value.get("IdentityToken") or ""),
            )
        )
    return AuthConfigData(origin=str(path), auths=tuple(entries))


class _ConfigSource:
    """One docker-format config (env var, config.json, .dockercfg or auth.json)."""

    def __init__(self, data: AuthConfigData, timeout: float, *, namespaced: bool = False):
        self.data = data
        self.origin = data.origin
        self.timeout = timeout
        self.namespaced = namespaced

    def lookup(self, reference: RegistryReference) -> FoundCredentials | None:
        found = self._from_helpers(reference)
        if found is not None:
            return found
        entry = self._auths_entry(reference)
        if entry is None:
            return None
        if entry.identity_token:
            return FoundCredentials(
                reference=reference,
                username=entry.username,
                password=entry.identity_token,
                source=f"identitytoken of the auths entry {entry.key!r} in {self.origin}",
                identity_token=True,
            )
        return FoundCredentials(
            reference=reference,
            username=entry.username,
            password=entry.password,
            source=f"auths entry {entry.key!r} in {self.origin}",
        )

    def registries(self) -> list[RegistryReference]:
        found = [e.registry for e in self.data.auths if e.has_credentials]
        found += [h.registry for h in self.data.cred_helpers]
        store = self._store()
        if store is not None:
            for key in store.list():
                parsed = registry_of_key(key, namespaced=False)
                if parsed is not None:
                    found.append(parsed[0])
        return found

    def _store(self) -> CredentialHelper | None:
        # credsStore is a docker config.json setting; containers auth.json has none.
        if self.namespaced or not self.data.creds_store:
            return None
        return CredentialHelper(
            self.data.creds_store, f"credsStore in {self.origin}", timeout=self.timeout
        )

    def _from_helpers(self, reference: RegistryReference) -> FoundCredentials | None:
        setting = next(
            (h for h in self.data.cred_helpers if h.registry.same_registry(reference)), None
        )
        if setting is not None:
            helper = CredentialHelper(
                setting.suffix, f"credHelpers in {self.origin}", timeout=self.timeout
            )
            urls = _unique([reference.config_key, setting.key])
            return _ask(helper, urls, reference)
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
        if self.namespaced:
            return match_namespaced(self.data.auths, reference, origin=self.origin)
        matching = [
            e for e in self.data.auths if e.has_credentials and e.registry.same_registry(reference)
        ]
        exact = [e for e in matching if e.key == reference.config_key]
        return next(iter(exact or matching), None)


def _ask(
    helper: CredentialHelper, urls: list[str], reference: RegistryReference
) -> FoundCredentials | None:
    for url in urls:
        creds = helper.get(url)
        if creds is not None:
            return _from_helper(creds, helper, reference)
    return None


def _from_helper(
    creds: HelperCredentials, helper: CredentialHelper, reference: RegistryReference
) -> FoundCredentials:
    return FoundCredentials(
        reference=reference,
        username=creds.username,
        password=creds.secret,
        source=helper.description,
        identity_token=creds.is_identity_token,
    )


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
