"""Log the local docker/podman clients in to a registry by writing their files — and log out.

We write the files ourselves instead of calling `docker login`: it works with or without a
running daemon, needs no secret on any command line, and lets us keep the user's files safe
(see `json_files`). What we write is what the tools themselves write:

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
automatic follows the container engine setting the caller passes (ZenML's, read by the glue):
"podman" writes podman's file, plus the docker config if a docker CLI is installed; "docker"
writes the docker config; unset writes the docker config when a docker CLI is installed or
podman is not, and podman's file when podman is installed without a docker CLI. Logout with
None looks in both places, removing whatever is there for the registry.

The two file formats differ only in what `formats` describes; one login and one logout
routine serve both.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local.auth_entries import registry_of_key
from zenml_docker_connector.local.formats import DOCKER, PODMAN, ClientFileFormat, bad_value
from zenml_docker_connector.local.json_files import parse_json_text, update_json_file
from zenml_docker_connector.local.locations import (
    docker_config_file,
    podman_login_file,
    same_file,
)
from zenml_docker_connector.references import RegistryReference

ENGINES = ("docker", "podman", "both")


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


@dataclass(frozen=True)
class _Written:
    """What one file's login did."""

    path: Path
    line: str
    plaintext: bool
    """The password now sits (base64) in `path`."""
    creds_store: bool
    """The credentials went to docker's `credsStore` helper."""


@dataclass
class _Removals:
    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def login_local_clients(
    reference: RegistryReference,
    credentials: Credentials,
    *,
    engine: str | None = None,
    engine_setting: str | None = None,
) -> LoginResult:
    """Store `credentials` for `reference` where the chosen local clients read them.

    `engine_setting` is the configured container engine ("docker"/"podman"/None), used when
    `engine` is None (automatic).
    """
    _check_credentials(reference, credentials)
    docker, podman, why = _login_targets(engine, engine_setting)
    podman_path = podman_login_file(must_be_usable=True) if podman else None
    stored: list[str] = []
    notes: list[str] = [why] if why else []
    plaintext: Path | None = None
    if docker:
        written = login_file(DOCKER, docker_config_file(), reference, credentials)
        stored.append(written.line)
        plaintext = written.path if written.plaintext else None
        notes.extend(_docker_auth_config_note(reference))
        if podman_path is not None and same_file(podman_path, written.path):
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
        written = login_file(PODMAN, podman_path, reference, credentials)
        stored.append(written.line)
        plaintext = plaintext or (written.path if written.plaintext else None)
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
    checked: list[str] = []
    log = _Removals()
    files: list[tuple[ClientFileFormat, Path]] = []
    if docker:
        files.append((DOCKER, docker_config_file()))
        checked.append(str(docker_config_file()))
    if podman:
        path = podman_login_file(must_be_usable=False)
        shared = docker and same_file(path, docker_config_file())
        if not shared:
            checked.append(str(path))
        if not shared or PODMAN.key_for(reference) != DOCKER.key_for(reference):
            files.append((PODMAN, path))
    for file_format, path in files:
        logout_file(file_format, path, reference, log)
    return LogoutResult(
        registry=reference.resource_id,
        removed=tuple(log.removed),
        checked=tuple(checked),
        notes=tuple(log.notes),
    )


# --- one file ------------------------------------------------------------------------------


def login_file(
    file_format: ClientFileFormat,
    path: Path,
    reference: RegistryReference,
    credentials: Credentials,
) -> _Written:
    """Write `credentials` for `reference` into one client file (or the helper it names)."""
    key = file_format.key_for(reference)
    tool = file_format.tool

    def mutate(data: dict[str, Any]) -> _Written:
        helper = file_format.helper_for(data, key, path)
        if helper is None:
            _section(data, file_format, path, create=True)[key] = {
                "auth": credentials.basic_value()
            }
            line = f"{tool}: credentials for {key} in {path} (not encrypted)"
            return _Written(path, line, plaintext=True, creds_store=False)
        auths = (
            _section(data, file_format, path, create=True) if file_format.helper_placeholder else {}
        )
        helper.store(key, credentials)
        line = f"{tool}: credentials for {key} in the {helper.description}"
        if file_format.helper_placeholder:
            auths[key] = {}
            line += f"; auths entry {key!r} in {path} set to {{}}"
        return _Written(path, line, plaintext=False, creds_store=helper.is_creds_store)

    return update_json_file(path, mutate, what=file_format.what)


def logout_file(
    file_format: ClientFileFormat, path: Path, reference: RegistryReference, log: _Removals
) -> None:
    """Remove `reference`'s own entry (and its helper's copy) from one client file."""
    key = file_format.key_for(reference)
    tool = file_format.tool

    def mutate(data: dict[str, Any]) -> None:
        auths = _section(data, file_format, path, create=False)
        helper = file_format.helper_for(data, key, path)
        if helper is not None and helper.erase(key):
            log.removed.append(f"{tool}: credentials for {key} from the {helper.description}")
        if key in auths:
            del auths[key]
            log.removed.append(f"{tool}: auths entry {key!r} from {path}")
        for other in _same_registry_keys(auths, reference, file_format):
            target = other if file_format.namespaced_keys else reference.config_key
            log.notes.append(
                f"{path} still has the auths entry {other!r} for the same registry, which "
                f"{tool} may still use; it was not written by this connector. Remove it with "
                f"`{tool} logout {target}` if you want it gone."
            )

    update_json_file(path, mutate, what=file_format.what, create_missing=False)


def _section(
    data: dict[str, Any], file_format: ClientFileFormat, path: Path, *, create: bool
) -> dict[str, Any]:
    """`data["auths"]` as a dict (created when missing, unless `create` is False)."""
    value = data.get("auths")
    if value is None:
        if not create:
            return {}
        value = data["auths"] = {}
    if not isinstance(value, dict):
        raise bad_value(file_format, path, "auths", "a JSON object")
    return value


def _same_registry_keys(
    auths: dict[str, Any], reference: RegistryReference, file_format: ClientFileFormat
) -> list[str]:
    own = file_format.key_for(reference)
    found = []
    for key in auths:
        parsed = registry_of_key(key, namespaced=file_format.namespaced_keys)
        if key != own and parsed is not None and parsed[0].same_registry(reference):
            found.append(key)
    return found


# --- which clients ------------------------------------------------------------------------


def _login_targets(engine: str | None, engine_setting: str | None) -> tuple[bool, bool, str]:
    """(docker, podman, why) for a login; `why` explains an automatic choice."""
    if engine is not None:
        _check_engine(engine)
        return engine in ("docker", "both"), engine in ("podman", "both"), ""
    docker_cli = shutil.which("docker") is not None
    podman_cli = shutil.which("podman") is not None
    if engine_setting == "podman":
        also = " and the docker config (a docker CLI is installed)" if docker_cli else ""
        return docker_cli, True, f"ZenML's container engine is podman: logged in podman{also}."
    if engine_setting == "docker":
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


def _check_credentials(reference: RegistryReference, credentials: Credentials) -> None:
    if not credentials.username or not credentials.secret:
        raise LocalConfigError(
            f"Cannot log local clients in to {reference}: the connector has an empty "
            "username or password. Set both with `zenml service-connector update`."
        )
    if ":" in credentials.username:
        raise LocalConfigError(
            f"Cannot log local clients in to {reference}: docker and podman store "
            "username:password, so a username cannot contain ':'."
        )


def _docker_auth_config_note(reference: RegistryReference) -> list[str]:
    raw = os.environ.get("DOCKER_AUTH_CONFIG")
    if not raw:
        return []
    try:
        data = parse_json_text(raw, label="DOCKER_AUTH_CONFIG")
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        auths = data.get("auths") or {}
        named = any(
            (parsed := registry_of_key(k, namespaced=False)) and parsed[0].same_registry(reference)
            for k in auths
        )
    except (LocalConfigError, TypeError):
        named = True
    if not named:
        return []
    return [
        "DOCKER_AUTH_CONFIG is set and may name this registry; docker CLI 28.2+ and "
        "docker-py based tools use it before config.json. Unset it to use this login."
    ]
