"""Every docker and podman client file: where it is, how the formats differ, what it holds.

The one model for discovery, login, logout and the pull-secret builder: `ClientFormat` says
as data how docker's `config.json` and podman's `auth.json` differ, `ClientFile` is one
file parsed once, with the one rule for which helper serves a registry. Where each tool reads
and writes, as the tools do: docker uses `$DOCKER_CONFIG/config.json`, else
`~/.docker/config.json` (no fallback between them), `~/.dockercfg` only without a config.json,
and `DOCKER_AUTH_CONFIG` before both. Containers tools (containers-auth.json(5)) read
`$REGISTRY_AUTH_FILE` alone when set, else `$XDG_RUNTIME_DIR/containers/auth.json`
(`/run/containers/$UID/auth.json`), then `$XDG_CONFIG_HOME/containers/auth.json`; `podman
login` writes `$REGISTRY_AUTH_FILE`, else `$DOCKER_CONFIG/config.json`, else the first.

Not docker-py's `load_config`: it turns a broken file into "no credentials", decodes `auth`
leniently and ignores `username`/`password`. Here every problem is a `LocalConfigError`
naming the file and key, never the value; `auths` entries are checked only when credentials
are read (a login never fails over another registry's entry). Keys are normalised with
`parse_registry_reference`; Docker Hub OAuth entries and unparsable keys are skipped.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter
from pathlib import Path
from typing import Any

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local.helpers import CredentialHelper, helper_timeout
from zenml_docker_connector.local.json_files import parse_json_text, read_file, read_json
from zenml_docker_connector.references import (
    DOCKER_HUB_CONFIG_KEY,
    RegistryReference,
    parse_registry_reference,
)

ENV_VAR = "DOCKER_AUTH_CONFIG"
_OAUTH_SUFFIXES = ("access-token", "refresh-token")


@dataclass(frozen=True)
class ClientFormat:
    """One tool's credential file format.

    `tool` is the program whose login this file serves, `what` how messages name the file,
    `key` the key a registry is stored under. `namespaced_keys`: keys may be `host/ns/repo`;
    `uses_creds_store`: `credsStore` serves registries without a `credHelpers` entry;
    `helper_placeholder`: a login through a helper leaves `auths[key] = {}` (docker CLI).
    """

    tool: str
    what: str
    key: Callable[[RegistryReference], str]
    namespaced_keys: bool
    uses_creds_store: bool
    helper_placeholder: bool


DOCKER = ClientFormat(
    tool="docker",
    what="docker config file",
    key=attrgetter("config_key"),
    namespaced_keys=False,
    uses_creds_store=True,
    helper_placeholder=True,
)
PODMAN = ClientFormat(
    tool="podman",
    what="containers auth file",
    key=attrgetter("resource_id"),
    namespaced_keys=True,
    uses_creds_store=False,
    helper_placeholder=False,
)


@dataclass(frozen=True)
class AuthEntry:
    """One `auths` entry under `key` as written; no `credentials` when a helper keeps them.

    `namespace` is `ns[/repo]` of a containers key `host/ns/repo`; None: the whole registry.
    """

    key: str
    registry: RegistryReference
    namespace: str | None
    credentials: Credentials | None


@dataclass(frozen=True)
class HelperSetting:
    """A `credHelpers` entry: registry key → helper suffix."""

    key: str
    registry: RegistryReference
    suffix: str


@dataclass
class ClientFile:
    """One client file parsed once (`parse`); login and logout edit `data` in place.

    `origin` is a path or `DOCKER_AUTH_CONFIG`; `label` the subject of messages.
    """

    format: ClientFormat
    origin: str
    label: str = field(repr=False)
    data: dict[str, Any] = field(repr=False)
    cred_helpers: dict[str, str]
    creds_store: str | None

    @classmethod
    def parse(
        cls, file_format: ClientFormat, data: object, origin: str, *, what: str | None = None
    ) -> ClientFile:
        """Check the shape of a parsed config (`what` overrides how messages name it)."""
        label = f"The {what or file_format.what} {origin}"
        if not isinstance(data, dict):
            raise _bad(label, "is not a JSON object")
        if not isinstance(data.get("auths", {}), (dict, type(None))):
            raise _bad(label, "has an 'auths' value that is not a JSON object")
        helpers = data.get("credHelpers")
        helpers = {} if helpers is None else helpers
        if not isinstance(helpers, dict) or not all(isinstance(v, str) for v in helpers.values()):
            raise _bad(label, "has a 'credHelpers' value that is not an object of registry: helper")
        store = data.get("credsStore")
        if store is not None and not isinstance(store, str):
            raise _bad(label, "has a 'credsStore' value that is not a string")
        return cls(file_format, origin, label, data, helpers, store or None)

    def auths(self, *, create: bool = False) -> dict[str, Any]:
        """The `auths` object itself, for editing (added to `data` when missing and `create`)."""
        auths: dict[str, Any] | None = self.data.get("auths")
        if auths is None and create:
            auths = self.data["auths"] = {}
        return {} if auths is None else auths

    def keys_for(self, reference: RegistryReference) -> list[str]:
        """Every `auths` key that names `reference`'s registry (entries are not parsed)."""
        return [
            key
            for key in self.auths()
            if (found := registry_of_key(key, namespaced=self.format.namespaced_keys))
            and found[0].same_registry(reference)
        ]

    @cached_property
    def entries(self) -> tuple[AuthEntry, ...]:
        """Every `auths` entry that names a registry, parsed strictly (to read credentials)."""
        parsed = []
        for key, value in self.auths().items():
            found = registry_of_key(key, namespaced=self.format.namespaced_keys)
            if found is not None:
                parsed.append(_parse_entry(key, *found, value, self.label))
        return tuple(parsed)

    @cached_property
    def helper_settings(self) -> tuple[HelperSetting, ...]:
        """The non-empty `credHelpers` entries whose key names a registry."""
        settings = []
        for key, suffix in self.cred_helpers.items():
            found = registry_of_key(key, namespaced=False)
            if found is not None and suffix:
                settings.append(HelperSetting(key=key, registry=found[0], suffix=suffix))
        return tuple(settings)

    def helper_for(
        self, reference: RegistryReference, *, reading: bool = False, timeout: float | None = None
    ) -> CredentialHelper | None:
        """The helper that serves `reference` in this file; None: the file itself.

        Writing follows the docker CLI: the `credHelpers` entry under this format's key (empty
        means the file), else `credsStore`. Reading is as forgiving as docker-py and
        containers/image: the best-ranked entry under any spelling (`key_rank`), else `credsStore`.
        """
        key: str | None = self.format.key(reference)
        if reading:
            settings = [h.key for h in self.helper_settings if h.registry.same_registry(reference)]
            key = min(settings, key=lambda k: key_rank(k, reference), default=None)
        suffix = None if key is None else self.cred_helpers.get(key)
        if key is None or suffix is None:
            return self.creds_store_helper(timeout)
        if not suffix:
            return None
        origin = f"credHelpers[{key!r}] in {self.origin}"
        return CredentialHelper(suffix, origin, helper_timeout(timeout), key=key)

    def creds_store_helper(self, timeout: float | None = None) -> CredentialHelper | None:
        """docker's `credsStore` helper, if any (podman has none)."""
        if not self.format.uses_creds_store or not self.creds_store:
            return None
        return CredentialHelper(
            self.creds_store, f"credsStore in {self.origin}", helper_timeout(timeout)
        )

    def entry_for(self, reference: RegistryReference) -> AuthEntry | None:
        """The `auths` entry with credentials for `reference` (podman: `match_namespaced`)."""
        if self.format.namespaced_keys:
            return match_namespaced(self.entries, reference, label=self.label)
        matching = [
            e
            for e in self.entries
            if e.credentials is not None and e.registry.same_registry(reference)
        ]
        return min(matching, key=lambda e: key_rank(e.key, reference), default=None)


def key_rank(key: str, reference: RegistryReference) -> int:
    """Which of several keys for one registry wins (lower first; ties keep file order).

    The canonical name (`docker.io`, `host:port`), as docker-py and containers/image look
    up first; then the docker CLI's Docker Hub key.
    """
    if key == reference.resource_id:
        return 0
    return 1 if key == reference.config_key else 2


def match_namespaced(
    entries: Sequence[AuthEntry], reference: RegistryReference, *, label: str
) -> AuthEntry | None:
    """The entry for `reference`: the longest matching namespace, else the registry-wide one.

    Matched against the path as written: `docker.io/team` is podman's key for the Docker Hub
    namespace `team`, not `library/team`. Without a path: the registry-wide entry, else the
    only namespaced one; several namespaces are ambiguous (error).
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
    if whole or len(candidates) <= 1:
        return min(whole or candidates, key=lambda e: key_rank(e.key, reference), default=None)
    names = ", ".join(sorted(e.key for e in candidates))
    raise LocalConfigError(
        f"{label} holds credentials for several namespaces of {reference} ({names}) and none "
        f"for the whole registry. Name the one you want, e.g. registry={candidates[0].key}, or "
        f"log in to the whole registry with `podman login {reference}`."
    )


def is_oauth_key(key: str) -> bool:
    """Docker Hub's OAuth entries (`…/access-token`, `…/refresh-token`) are not credentials."""
    return key.rstrip("/").rsplit("/", 1)[-1] in _OAUTH_SUFFIXES


def registry_of_key(
    key: object, *, namespaced: bool
) -> tuple[RegistryReference, str | None] | None:
    """The registry (and containers namespace) a config key names; None for keys to skip.

    Docker matches keys by host only, so paths (`/v1/`, `/v2/`) are dropped — unless the
    file is a containers `auth.json`, whose scheme-less keys may be `host/namespace[/repo]`.
    Docker Hub under any scheme (old docker wrote `http://index.docker.io/v1/`) is Docker
    Hub, as the docker CLI and containers/image read it.
    """
    if not isinstance(key, str) or is_oauth_key(key):
        return None
    text = key.strip()
    scheme, sep, rest = text.partition("://")
    authority, _, path = (rest if sep else text).partition("/")
    try:
        registry = parse_registry_reference(authority)
        if sep and not registry.is_docker_hub:
            registry = parse_registry_reference(f"{scheme}://{authority}")
    except ValueError:
        return None
    namespace = None
    if namespaced and not sep:
        namespace = "/".join(part for part in path.split("/") if part) or None
    return registry, namespace


def _parse_entry(
    key: str, registry: RegistryReference, namespace: str | None, value: object, label: str
) -> AuthEntry:
    where = f"the auths entry {key!r}"
    if not isinstance(value, dict):
        raise _bad(label, f"has {where} that is not a JSON object")
    for name in ("auth", "username", "password", "identitytoken"):
        if value.get(name) is not None and not isinstance(value[name], str):
            raise _bad(label, f"has {where} whose '{name}' is not a string")
    username: str = value.get("username") or ""
    password: str = value.get("password") or ""
    if value.get("auth"):
        username, password = _decode_auth(value["auth"], label=label, where=where)
    token: str = value.get("identitytoken") or ""
    credentials = None
    if token:
        credentials = Credentials(username, token, identity_token=True)
    elif password:
        credentials = Credentials(username, password)
    return AuthEntry(key=key, registry=registry, namespace=namespace, credentials=credentials)


def _decode_auth(auth: str, *, label: str, where: str) -> tuple[str, str]:
    decoded: str | None
    try:
        decoded = base64.b64decode(auth.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        decoded = None
    username, sep, password = (decoded or "").partition(":")
    if not sep or not username:
        problem = "is not base64 of" if decoded is None else "does not decode to"
        raise _bad(label, f"has {where} whose 'auth' {problem} username:password (value not shown)")
    return username, password.strip("\x00")


def _bad(label: str, problem: str) -> LocalConfigError:
    return LocalConfigError(
        f"{label} {problem}; it was left unchanged. Fix that value (or remove it and log in again)."
    )


# --- where the files are ----------------------------------------------------------------------


def files_to_read() -> Iterator[ClientFile]:
    """Every client file in lookup order, each read when reached; its `auths` entries are
    parsed at once, so a broken file is refused before any of its helpers runs."""
    if (from_env := env_client_file()) is not None:
        yield _read(from_env)
    config_path = docker_config_file()
    config = read_json(config_path, what=DOCKER.what)
    if config is not None:
        yield _read(ClientFile.parse(DOCKER, config, str(config_path)))
    elif (legacy := _legacy_dockercfg()) is not None:
        yield _read(legacy)
    for path in podman_auth_paths():
        podman = read_json(path, what=PODMAN.what)
        if podman is not None:
            yield _read(ClientFile.parse(PODMAN, podman, str(path)))


def env_client_file() -> ClientFile | None:
    """`DOCKER_AUTH_CONFIG` parsed, None when it is unset or blank."""
    raw = os.environ.get(ENV_VAR, "")
    if not raw.strip():
        return None
    data = parse_json_text(raw, label=f"The environment variable {ENV_VAR}")
    return ClientFile.parse(DOCKER, data, ENV_VAR, what="environment variable")


def _read(client_file: ClientFile) -> ClientFile:
    client_file.entries  # noqa: B018 - parsed now: a broken entry is refused at once
    return client_file


def _legacy_dockercfg() -> ClientFile | None:
    """`~/.dockercfg`, JSON ({key: {auth, email}}) or the older two-line format.

    A broken one is refused, naming it, as the docker CLI does (docker-py's "no credentials"
    would hide it behind a misleading "nothing found").
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
    return ClientFile.parse(DOCKER, data, str(path), what=what)


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


def docker_config_file() -> Path:
    """The docker CLI's config file: docker-py's rule, written out so that the pull-secret
    builder, which needs this module, does not import docker-py (~0.1 s)."""
    configured = os.environ.get("DOCKER_CONFIG")
    return Path(configured, "config.json") if configured else Path.home() / ".docker/config.json"


def legacy_dockercfg_file() -> Path:
    """`~/.dockercfg`, read when there is no config.json."""
    return Path.home() / ".dockercfg"


def podman_auth_paths() -> list[Path]:
    """The auth.json files containers tools read, in their order of precedence."""
    explicit = os.environ.get("REGISTRY_AUTH_FILE")
    if explicit:
        return [Path(explicit)]
    paths = []
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        paths.append(Path(runtime_dir) / "containers" / "auth.json")
    elif hasattr(os, "getuid"):
        paths.append(Path(f"/run/containers/{os.getuid()}/auth.json"))
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [*paths, Path(config_home) / "containers" / "auth.json"]


def podman_login_file(*, must_be_usable: bool = True) -> Path:
    """The file `podman login` writes (and podman reads first); with `must_be_usable` a
    missing `XDG_RUNTIME_DIR` is refused, as podman does, instead of created."""
    if os.environ.get("REGISTRY_AUTH_FILE"):
        return podman_auth_paths()[0]
    if os.environ.get("DOCKER_CONFIG"):
        return docker_config_file()
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir and must_be_usable and not os.path.isdir(runtime_dir):
        raise LocalConfigError(
            f"XDG_RUNTIME_DIR is set to {runtime_dir}, which does not exist, so podman "
            "cannot use its auth file there either. Create that directory, unset "
            "XDG_RUNTIME_DIR, or set REGISTRY_AUTH_FILE to the auth.json to use."
        )
    return podman_auth_paths()[0]


def searched_places() -> list[str]:
    """Every place auto-configuration looks, for "not found" messages."""
    places = [ENV_VAR, str(docker_config_file()), str(legacy_dockercfg_file())]
    return places + [str(p) for p in podman_auth_paths()]


def same_file(first: Path, second: Path) -> bool:
    return os.path.realpath(first) == os.path.realpath(second)
