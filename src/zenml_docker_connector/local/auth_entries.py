"""The credentials in a docker `config.json` or containers `auth.json`, parsed strictly.

Both formats share `auths` ({key: {auth | username+password | identitytoken}}), `credHelpers`
and (docker only) `credsStore`. docker-py's `docker.auth.load_config` parses the same data,
but for discovery it is too forgiving: an unreadable or non-JSON config.json silently becomes
"no credentials", a non-object `auths` raises a bare AttributeError, `auth` values are decoded
leniently (invalid characters are dropped) and `username`/`password` fields — which the
docker CLI honours — are ignored. Here every problem becomes a `LocalConfigError` that
names the file and the key (never the value), and keys are normalised with
`parse_registry_reference` so that `https://ghcr.io`, `ghcr.io/v1/` and the Docker Hub
aliases all land on one registry.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.references import RegistryReference, parse_registry_reference

_OAUTH_SUFFIXES = ("access-token", "refresh-token")


@dataclass(frozen=True)
class AuthEntry:
    """One `auths` entry: credentials, or None when they are kept in a helper (`{}`)."""

    key: str
    """The key exactly as written in the file."""
    registry: RegistryReference
    """The normalised registry (host and port) the key names."""
    namespace: str | None
    """`ns[/repo]` for a namespaced containers key (`host/ns/repo`); None = whole registry."""
    credentials: Credentials | None


@dataclass(frozen=True)
class HelperSetting:
    """A `credHelpers` entry: registry key → helper suffix."""

    key: str
    registry: RegistryReference
    suffix: str


@dataclass(frozen=True)
class AuthConfigData:
    """The credential-related parts of one config, validated."""

    origin: str
    """Where it came from, for messages: a file path or `DOCKER_AUTH_CONFIG`."""
    auths: tuple[AuthEntry, ...] = ()
    cred_helpers: tuple[HelperSetting, ...] = ()
    creds_store: str | None = None


def is_oauth_key(key: str) -> bool:
    """Docker Hub's OAuth entries (`…/access-token`, `…/refresh-token`) are not credentials."""
    return key.rstrip("/").rsplit("/", 1)[-1] in _OAUTH_SUFFIXES


def registry_of_key(
    key: object, *, namespaced: bool
) -> tuple[RegistryReference, str | None] | None:
    """The registry (and containers namespace) a config key names; None for keys to skip.

    Skipped: Docker Hub OAuth entries and keys that are no registry address. Docker matches
    keys by host only, so paths (`/v1/`, `/v2/`) are dropped — unless the file is a
    containers `auth.json`, whose scheme-less keys may be `host/namespace[/repo]`.
    """
    if not isinstance(key, str) or is_oauth_key(key):
        return None
    text = key.strip()
    scheme, sep, rest = text.partition("://")
    authority, _, path = (rest if sep else text).partition("/")
    registry = _key_registry(scheme if sep else None, authority)
    if registry is None:
        return None
    namespace = None
    if namespaced and not sep:
        components = [part for part in path.split("/") if part]
        namespace = "/".join(components) or None
    return registry, namespace


def _key_registry(scheme: str | None, authority: str) -> RegistryReference | None:
    """The registry of a key's authority; Docker Hub under any scheme is Docker Hub.

    Old docker versions wrote `http://index.docker.io/v1/`; the docker CLI and
    containers/image normalise every Docker Hub spelling, so it is read, not dropped.
    """
    try:
        bare = parse_registry_reference(authority)
    except ValueError:
        return None
    if scheme is None or bare.is_docker_hub:
        return bare
    try:
        return parse_registry_reference(f"{scheme}://{authority}")
    except ValueError:
        return None


def parse_auth_config(
    data: object, *, origin: str, kind: str, namespaced: bool = False
) -> AuthConfigData:
    """Validate the credential-related parts of a parsed config.json / auth.json.

    `kind` + `origin` make the subject of error messages ("The docker config file /x/c.json").
    """
    label = f"The {kind} {origin}"
    if not isinstance(data, dict):
        raise _bad(label, "is not a JSON object")
    auths = data.get("auths", {})
    if auths is None:
        auths = {}
    if not isinstance(auths, dict):
        raise _bad(label, "has an 'auths' value that is not a JSON object")
    entries = []
    for key, value in auths.items():
        parsed = registry_of_key(key, namespaced=namespaced)
        if parsed is None:
            continue
        entries.append(_parse_entry(key, *parsed, value, label))

    helpers_raw = data.get("credHelpers", {})
    if helpers_raw is None:
        helpers_raw = {}
    if not isinstance(helpers_raw, dict) or not all(
        isinstance(v, str) for v in helpers_raw.values()
    ):
        raise _bad(label, "has a 'credHelpers' value that is not an object of registry: helper")
    helpers = []
    for key, suffix in helpers_raw.items():
        parsed = registry_of_key(key, namespaced=False)
        if parsed is not None and suffix:
            helpers.append(HelperSetting(key=key, registry=parsed[0], suffix=suffix))

    store = data.get("credsStore")
    if store is not None and not isinstance(store, str):
        raise _bad(label, "has a 'credsStore' value that is not a string")
    return AuthConfigData(
        origin=origin, auths=tuple(entries), cred_helpers=tuple(helpers), creds_store=store or None
    )


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
    auth: str = value.get("auth") or ""
    if auth:
        username, password = _decode_auth(auth, label=label, where=where)
    token: str = value.get("identitytoken") or ""
    credentials = None
    if token:
        credentials = Credentials(username, token, identity_token=True)
    elif password:
        credentials = Credentials(username, password)
    return AuthEntry(key=key, registry=registry, namespace=namespace, credentials=credentials)


def _decode_auth(auth: str, *, label: str, where: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(auth.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise _bad(
            label,
            f"has {where} whose 'auth' is not base64 of username:password (value not shown)",
        ) from None
    username, sep, password = decoded.partition(":")
    if not sep or not username:
        raise _bad(
            label,
            f"has {where} whose 'auth' does not decode to username:password (value not shown)",
        )
    return username, password.strip("\x00")


def _bad(label: str, problem: str) -> LocalConfigError:
    return LocalConfigError(f"{label} {problem}. Fix that entry (or remove it and log in again).")
