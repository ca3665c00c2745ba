"""Log the local docker/podman clients in to a registry by writing their files — and log out.

We write the files ourselves instead of calling `docker login`: it works with or without a
running daemon, needs no secret on any command line, and lets us keep the user's files safe
(see `config_files`). What we write is what the tools themselves write:

* docker (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): when `credHelpers` has
  the registry's exact config key, that helper; else `credsStore`; a helper gets the
  credentials through its `store` action (secret on stdin) and `auths[key]` becomes `{}`, as
  the docker CLI leaves it. Without a helper, `auths[key] = {"auth": base64(user:password)}`
  and the result names the file so that the caller can warn about plain text. An empty
  `credHelpers[key]` means "plain file" to the docker CLI, so it does here too.
* podman/skopeo/buildah — the file `podman login` writes: `$REGISTRY_AUTH_FILE`, else
  `$DOCKER_CONFIG/config.json` when that is set, else `$XDG_RUNTIME_DIR/containers/auth.json`,
  else `/run/containers/$UID/auth.json`: `credHelpers[key]` in that file if set, else
  `auths[key] = {"auth": ...}` under the podman key (`docker.io` for Docker Hub). When that
  is the docker config we write anyway, the docker entry serves podman too (podman normalises
  the Docker Hub key), and we never overwrite a helper's `{}` entry with a plain one.

Only the registry's own key is touched. Other keys for the same registry (`https://host`,
`http://host`, `host/namespace` in auth.json) belong to whoever wrote them: we leave them,
and logout reports them, because the docker CLI may still use them.

Which clients (`engine`): "docker", "podman", "both", or None = automatic. For login,
automatic follows ZenML's container engine setting (`container_engine` in the global config
or `ZENML_CONTAINER_ENGINE`, ZenML >= 0.94.3; read defensively, absent = unset): "podman"
writes podman's file, plus the docker config if a docker CLI is installed; "docker" writes
the docker config; unset writes the docker config when a docker CLI is installed or podman
is not, and podman's file when podman is installed without a docker CLI. Logout with None
looks in both places, removing whatever is there for the registry.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .auth_files import registry_of_key
from .config_files import update_json_file
from .credential_helpers import CredentialHelper, helper_timeout
from .credential_sources import docker_config_file
from .errors import LocalConfigError
from .podman_auth import podman_auth_paths
from .references import RegistryReference

ENGINES = ("docker", "podman", "both")
DOCKER_FILE = "docker config file"
PODMAN_FILE = "containers auth file"


@dataclass(frozen=True)
class LoginResult:
    """What a login wrote where (never a secret)."""

    registry: str
    stored: tuple[str, ...]
    """One human-readable line per place written, e.g. "docker: … in /root/.docker/config.json"."""
    plaintext_path: Path | None = None
    """A file now holding the password (base64, not encrypted): the caller should warn."""
    notes: tuple[str, ...] = ()
    """Things the user may need to know (which engine was chosen and why, shadowing keys)."""


@dataclass(frozen=True)
class LogoutResult:
    """What a logout removed from where (never a secret)."""

    registry: str
    removed: tuple[str, ...]
    checked: tuple[str, ...]
    """Every place looked at, for "nothing to remove" messages."""
    notes: tuple[str, ...] = ()
    """Other entries for this registry that were left alone (and may still log clients in)."""

    @property
    def nothing_removed(self) -> bool:
        return not self.removed


def login_local_clients(
    reference: RegistryReference,
    username: str,
    password: str,
    *,
    engine: str | None = None,
) -> LoginResult:
    """Store `username`/`password` for `reference` where the chosen local clients read them."""
    _check_credentials(reference, username, password)
    docker, podman, why = _login_targets(engine)
    podman_path = podman_auth_file(must_be_usable=True) if podman else None
    stored: list[str] = []
    notes: list[str] = [why] if why else []
    plaintext: Path | None = None
    if docker:
        written = _docker_login(reference, username, password)
        stored.append(written.line)
        plaintext = written.plaintext
        notes.extend(_docker_auth_config_note(reference))
        if podman_path is not None and _same_file(podman_path, written.path):
            # podman reads this very file (DOCKER_CONFIG is set): one entry serves both.
            podman_path = None
            stored.append(f"podman: reads the same file, {written.path}")
            if written.creds_store:
                notes.append(
                    f"podman reads {written.path} but not its credsStore helper, so podman is "
                    "not logged in. Set REGISTRY_AUTH_FILE to a file of its own and log in "
                    "again, or add a credHelpers entry for this registry (podman uses those)."
                )
    if podman_path is not None:
        line, path = _podman_login(podman_path, reference, username, password)
        stored.append(line)
        plaintext = plaintext or path
    return LoginResult(
        registry=reference.resource_id,
        stored=tuple(stored),
        plaintext_path=plaintext,
        notes=tuple(notes),
    )


def logout_local_clients(
    reference: RegistryReference, *, engine: str | None = None
) -> LogoutResult:
    """Remove `reference`'s login from the docker config (and its helper) and podman's file."""
    docker, podman = _logout_targets(engine)
    removed: list[str] = []
    checked: list[str] = []
    notes: list[str] = []
    if docker:
        path = docker_config_file()
        checked.append(str(path))
        update_json_file(
            path,
            lambda data: _docker_logout(data, path, reference, removed, notes),
            what=DOCKER_FILE,
            create_missing=False,
        )
    if podman:
        path = podman_auth_file(must_be_usable=False)
        shared = docker and _same_file(path, docker_config_file())
        if shared and reference.podman_key == reference.config_key:
            podman = False  # podman reads the docker config (DOCKER_CONFIG): already done
        elif not shared:
            checked.append(str(path))
    if podman:
        update_json_file(
            path,
            lambda data: _podman_logout(data, path, reference, removed, notes),
            what=PODMAN_FILE,
            create_missing=False,
        )
    return LogoutResult(
        registry=reference.resource_id,
        removed=tuple(removed),
        checked=tuple(checked),
        notes=tuple(notes),
    )


# --- which clients ------------------------------------------------------------------------


def configured_container_engine() -> str | None:
    """ZenML's `container_engine` setting ("docker"/"podman"), None if unset or unsupported.

    The setting exists from ZenML 0.94.3 (`GlobalConfiguration.container_engine`, overridable
    with `ZENML_CONTAINER_ENGINE`); older versions have no such field, so every failure here
    means "not configured".
    """
    try:
        from zenml.config.global_config import GlobalConfiguration
    except ImportError:
        return None
    try:
        value = getattr(GlobalConfiguration(), "container_engine", None)
    except Exception:  # noqa: BLE001 - an unreadable global config must not break a login
        return None
    text = str(getattr(value, "value", value) or "").strip().lower()
    return text if text in ("docker", "podman") else None


def _login_targets(engine: str | None) -> tuple[bool, bool, str]:
    """(docker, podman, why) for a login; `why` explains an automatic choice."""
    if engine is not None:
        _check_engine(engine)
        return engine in ("docker", "both"), engine in ("podman", "both"), ""
    docker_cli = shutil.which("docker") is not None
    podman_cli = shutil.which("podman") is not None
    setting = configured_container_engine()
    if setting == "podman":
        also = " and the docker config (a docker CLI is installed)" if docker_cli else ""
        return docker_cli, True, f"ZenML's container engine is podman: logged in podman{also}."
    if setting == "docker":
        return True, False, ""
    if podman_cli and not docker_cli:
        return False, True, "Only podman is installed (no docker CLI): logged in podman."
    return True, False, ""


def _logout_targets(engine: str | None) -> tuple[bool, bool]:
    if engine is None:
        return True, True
    _check_engine(engine)
    return engine in ("docker", "both"), engine in ("podman", "both")


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)} or None, not {engine!r}")


def _check_credentials(reference: RegistryReference, username: str, password: str) -> None:
    if not username or not password:
        raise LocalConfigError(
            f"Cannot log local clients in to {reference}: the connector has an empty "
            "username or password. Set both with `zenml service-connector update`."
        )
    if ":" in username:
        raise LocalConfigError(
            f"Cannot log local clients in to {reference} as '{username}': docker and podman "
            "store username:password, so a username cannot contain ':'."
        )


# --- docker -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DockerWritten:
    path: Path
    line: str
    plaintext: Path | None
    creds_store: bool
    """True when the credentials went to the `credsStore` helper."""


def _docker_login(reference: RegistryReference, username: str, password: str) -> _DockerWritten:
    path = docker_config_file()
    key = reference.config_key

    def mutate(data: dict[str, Any]) -> _DockerWritten:
        auths = _section(data, "auths", path, DOCKER_FILE)
        helper = _docker_helper(data, key, path)
        if helper is not None:
            helper.store(key, username, password)
            auths[key] = {}
            line = (
                f"docker: credentials for {key} in the {helper.description}; "
                f"auths entry {key!r} in {path} set to {{}}"
            )
            return _DockerWritten(path, line, None, helper.origin.startswith("credsStore"))
        auths[key] = {"auth": _basic(username, password)}
        line = f"docker: credentials for {key} in {path} (not encrypted)"
        return _DockerWritten(path, line, path, False)

    return update_json_file(path, mutate, what=DOCKER_FILE)


def _docker_logout(
    data: dict[str, Any],
    path: Path,
    reference: RegistryReference,
    removed: list[str],
    notes: list[str],
) -> None:
    key = reference.config_key
    auths = _section(data, "auths", path, DOCKER_FILE, create=False)
    helper = _docker_helper(data, key, path)
    if helper is not None and helper.erase(key):
        removed.append(f"docker: credentials for {key} from the {helper.description}")
    if key in auths:
        del auths[key]
        removed.append(f"docker: auths entry {key!r} from {path}")
    for other in _same_registry_keys(auths, reference, namespaced=False):
        notes.append(
            f"{path} still has the auths entry {other!r} for the same registry, which the "
            f"docker CLI may still use; it was not written by this connector. Remove it with "
            f"`docker logout {reference.login_server}` if you want it gone."
        )


def _docker_helper(data: dict[str, Any], key: str, path: Path) -> CredentialHelper | None:
    """The helper the docker CLI uses for `key`: exact `credHelpers` key, else `credsStore`."""
    helpers = data.get("credHelpers")
    if helpers is not None and not isinstance(helpers, dict):
        raise _bad_value(path, DOCKER_FILE, "credHelpers", "an object of registry: helper")
    if helpers and key in helpers:
        suffix, origin = helpers[key], f"credHelpers[{key!r}] in {path}"
    else:
        suffix, origin = data.get("credsStore"), f"credsStore in {path}"
    if suffix is not None and not isinstance(suffix, str):
        raise _bad_value(path, DOCKER_FILE, origin.split(" in ")[0], "a string")
    if not suffix:
        return None
    return CredentialHelper(suffix=suffix, origin=origin, timeout=helper_timeout())


def _docker_auth_config_note(reference: RegistryReference) -> list[str]:
    raw = os.environ.get("DOCKER_AUTH_CONFIG")
    if not raw:
        return []
    try:
        auths = json.loads(raw).get("auths") or {}
        named = any(
            (parsed := registry_of_key(k, namespaced=False)) and parsed[0].same_registry(reference)
            for k in auths
        )
    except (ValueError, AttributeError, TypeError):
        named = True
    if not named:
        return []
    return [
        "DOCKER_AUTH_CONFIG is set and may name this registry; docker CLI 28.2+ and "
        "docker-py based tools use it before config.json. Unset it to use this login."
    ]


# --- podman -------------------------------------------------------------------------------


def podman_auth_file(*, must_be_usable: bool = True) -> Path:
    """The file `podman login` writes, which podman also reads first.

    As podman (containers/common) decides: `$REGISTRY_AUTH_FILE`, else `$DOCKER_CONFIG/config.json`
    when `DOCKER_CONFIG` is set, else `$XDG_RUNTIME_DIR/containers/auth.json`, else
    `/run/containers/$UID/auth.json`. podman refuses to work when `XDG_RUNTIME_DIR` names a
    missing directory; with `must_be_usable` we refuse too instead of creating it.
    """
    explicit = os.environ.get("REGISTRY_AUTH_FILE")
    if explicit:
        return Path(explicit)
    docker_config = os.environ.get("DOCKER_CONFIG")
    if docker_config:
        return Path(docker_config) / "config.json"
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir and must_be_usable and not os.path.isdir(runtime_dir):
        raise LocalConfigError(
            f"XDG_RUNTIME_DIR is set to {runtime_dir}, which does not exist, so podman "
            "cannot use its auth file there either. Create that directory, unset "
            "XDG_RUNTIME_DIR, or set REGISTRY_AUTH_FILE to the auth.json to use."
        )
    return podman_auth_paths()[0]


def _same_file(first: Path, second: Path) -> bool:
    return os.path.realpath(first) == os.path.realpath(second)


def _podman_login(
    path: Path, reference: RegistryReference, username: str, password: str
) -> tuple[str, Path | None]:
    key = reference.podman_key

    def mutate(data: dict[str, Any]) -> tuple[str, Path | None]:
        helper = _podman_helper(data, key, path)
        if helper is not None:
            helper.store(key, username, password)
            return f"podman: credentials for {key} in the {helper.description}", None
        auths = _section(data, "auths", path, PODMAN_FILE)
        auths[key] = {"auth": _basic(username, password)}
        return f"podman: credentials for {key} in {path} (not encrypted)", path

    return update_json_file(path, mutate, what=PODMAN_FILE)


def _podman_logout(
    data: dict[str, Any],
    path: Path,
    reference: RegistryReference,
    removed: list[str],
    notes: list[str],
) -> None:
    key = reference.podman_key
    helper = _podman_helper(data, key, path)
    if helper is not None and helper.erase(key):
        removed.append(f"podman: credentials for {key} from the {helper.description}")
    auths = _section(data, "auths", path, PODMAN_FILE, create=False)
    if key in auths:
        del auths[key]
        removed.append(f"podman: auths entry {key!r} from {path}")
    for other in _same_registry_keys(auths, reference, namespaced=True):
        notes.append(
            f"{path} still has the auths entry {other!r} for the same registry; it was not "
            f"written by this connector. Remove it with `podman logout {other}` if you want "
            "it gone."
        )


def _podman_helper(data: dict[str, Any], key: str, path: Path) -> CredentialHelper | None:
    helpers = data.get("credHelpers")
    if helpers is not None and not isinstance(helpers, dict):
        raise _bad_value(path, PODMAN_FILE, "credHelpers", "an object of registry: helper")
    suffix = (helpers or {}).get(key)
    if suffix is not None and not isinstance(suffix, str):
        raise _bad_value(path, PODMAN_FILE, f"credHelpers[{key!r}]", "a string")
    if not suffix:
        return None
    origin = f"credHelpers[{key!r}] in {path}"
    return CredentialHelper(suffix=suffix, origin=origin, timeout=helper_timeout())


# --- shared -------------------------------------------------------------------------------


def _basic(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _section(
    data: dict[str, Any], name: str, path: Path, what: str, *, create: bool = True
) -> dict[str, Any]:
    """`data[name]` as a dict (created when missing, unless `create` is False)."""
    value = data.get(name)
    if value is None:
        if not create:
            return {}
        value = data[name] = {}
    if not isinstance(value, dict):
        raise _bad_value(path, what, name, "a JSON object")
    return value


def _same_registry_keys(
    auths: dict[str, Any], reference: RegistryReference, *, namespaced: bool
) -> list[str]:
    own = reference.podman_key if namespaced else reference.config_key
    found = []
    for key in auths:
        parsed = registry_of_key(key, namespaced=namespaced)
        if key != own and parsed is not None and parsed[0].same_registry(reference):
            found.append(key)
    return found


def _bad_value(path: Path, what: str, name: str, expected: str) -> LocalConfigError:
    return LocalConfigError(
        f"The {what} {path} was left unchanged because its '{name}' value is not {expected}. "
        "Fix that value by hand, then retry."
    )
