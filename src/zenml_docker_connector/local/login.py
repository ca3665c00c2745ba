"""Log the local docker/podman clients in to a registry by writing their files — and log out.

Not `docker login`: writing the files works without a daemon, puts no secret on a command
line, and keeps the user's files safe (`json_files`). We write what each tool's login writes,
where it writes it (`client_files`): through the helper `ClientFile.helper_for` names (secret
on stdin; docker then leaves `auths[key] = {}`), else `auths[key] = {"auth": ...}`, naming
that file so the caller can warn about plain text. When podman's file is the docker config
(`DOCKER_CONFIG` set), the docker entry serves podman too. Only the registry's own key is
touched: other keys for it (`https://host`, `host/ns` in auth.json) belong to whoever wrote
them, so logout leaves and reports them, as the tools may still use them.

`engine` "docker", "podman", "both", or None (automatic). An automatic login follows ZenML's
container engine setting (passed in by the glue): "podman" writes podman's file, plus the
docker config if a docker CLI is installed; "docker" the docker config; unset the docker
config unless podman is installed without a docker CLI. Automatic logout looks in both.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local.client_files import (
    DOCKER,
    PODMAN,
    ClientFile,
    ClientFormat,
    docker_config_file,
    env_client_file,
    podman_login_file,
    same_file,
)
from zenml_docker_connector.local.helpers import CredentialHelper
from zenml_docker_connector.local.json_files import update_json_file
from zenml_docker_connector.references import RegistryReference

ENGINES = ("docker", "podman", "both")


@dataclass(frozen=True)
class LoginResult:
    """What a login wrote where (never a secret)."""

    registry: str
    stored: tuple[str, ...]
    """One line per place written, e.g. "docker: … in /root/.docker/config.json"."""
    plaintext_path: Path | None = None
    """A file now holding the password (base64, not encrypted): the caller should warn."""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LogoutResult:
    """What a logout removed from where (never a secret)."""

    registry: str
    removed: tuple[str, ...]
    checked: tuple[str, ...]
    notes: tuple[str, ...] = ()
    """Other entries for this registry, left alone (they may still log clients in)."""

    @property
    def nothing_removed(self) -> bool:
        return not self.removed


def login_local_clients(
    reference: RegistryReference,
    credentials: Credentials,
    *,
    engine: str | None = None,
    engine_setting: str | None = None,
) -> LoginResult:
    """Store `credentials` where the chosen clients read them (`engine_setting`: ZenML's)."""
    _check_credentials(reference, credentials)
    docker, podman, why = _login_targets(engine, engine_setting)
    podman_path = podman_login_file(must_be_usable=True) if podman else None
    stored: list[str] = []
    notes: list[str] = [why] if why else []
    plaintext: Path | None = None
    if docker:
        path = docker_config_file()
        line, helper = login_file(DOCKER, path, reference, credentials)
        stored.append(line)
        plaintext = path if helper is None else None
        notes.extend(_docker_auth_config_note(reference))
        if podman_path is not None and same_file(podman_path, path):
            # podman reads this very file (DOCKER_CONFIG is set): one entry serves both.
            podman_path = None
            stored.append(f"podman: reads the same file, {path}")
            if helper is not None and helper.is_creds_store:
                notes.append(
                    f"podman reads {path} but not its credsStore helper, so podman is "
                    "not logged in. Set REGISTRY_AUTH_FILE to a file of its own and log in "
                    "again, or add a credHelpers entry for this registry (podman uses those)."
                )
    if podman_path is not None:
        line, helper = login_file(PODMAN, podman_path, reference, credentials)
        stored.append(line)
        plaintext = plaintext or (podman_path if helper is None else None)
    return LoginResult(reference.resource_id, tuple(stored), plaintext, tuple(notes))


def logout_local_clients(
    reference: RegistryReference, *, engine: str | None = None
) -> LogoutResult:
    """Remove `reference`'s login from the docker config (and its helper) and podman's file."""
    docker, podman = _logout_targets(engine)
    checked: list[str] = []
    removed: list[str] = []
    notes: list[str] = []
    files: list[tuple[ClientFormat, Path]] = []
    if docker:
        files.append((DOCKER, docker_config_file()))
        checked.append(str(docker_config_file()))
    if podman:
        path = podman_login_file(must_be_usable=False)
        shared = docker and same_file(path, docker_config_file())
        if not shared:
            checked.append(str(path))
        if not shared or PODMAN.key(reference) != DOCKER.key(reference):
            files.append((PODMAN, path))
    for file_format, path in files:
        logout_file(file_format, path, reference, removed, notes)
    return LogoutResult(reference.resource_id, tuple(removed), tuple(checked), tuple(notes))


# --- one file ------------------------------------------------------------------------------


def login_file(
    file_format: ClientFormat,
    path: Path,
    reference: RegistryReference,
    credentials: Credentials,
) -> tuple[str, CredentialHelper | None]:
    """Write `credentials` into one client file, or the helper it names (None: the file).

    Returns the line saying where, and that helper.
    """
    key = file_format.key(reference)
    tool = file_format.tool

    def mutate(data: dict[str, Any]) -> tuple[str, CredentialHelper | None]:
        client_file = ClientFile.parse(file_format, data, str(path))
        helper = client_file.helper_for(reference)
        if helper is None:
            client_file.auths(create=True)[key] = {"auth": credentials.basic_value()}
            return f"{tool}: credentials for {key} in {path} (not encrypted)", None
        helper.store(key, credentials)
        line = f"{tool}: credentials for {key} in the {helper.description}"
        if file_format.helper_placeholder:
            client_file.auths(create=True)[key] = {}
            line += f"; auths entry {key!r} in {path} set to {{}}"
        return line, helper

    return update_json_file(path, mutate, what=file_format.what)


def logout_file(
    file_format: ClientFormat,
    path: Path,
    reference: RegistryReference,
    removed: list[str],
    notes: list[str],
) -> None:
    """Remove `reference`'s own entry (and the helper's copy) from one file, saying so."""
    key = file_format.key(reference)
    tool = file_format.tool

    def mutate(data: dict[str, Any]) -> None:
        client_file = ClientFile.parse(file_format, data, str(path))
        auths = client_file.auths()
        helper = client_file.helper_for(reference)
        if helper is not None and helper.erase(key):
            removed.append(f"{tool}: credentials for {key} from the {helper.description}")
        if key in auths:
            del auths[key]
            removed.append(f"{tool}: auths entry {key!r} from {path}")
        for other in client_file.keys_for(reference):
            if other == key:
                continue
            target = other if file_format.namespaced_keys else reference.config_key
            notes.append(
                f"{path} still has the auths entry {other!r} for the same registry, which "
                f"{tool} may still use; it was not written by this connector. Remove it with "
                f"`{tool} logout {target}` if you want it gone."
            )

    update_json_file(path, mutate, what=file_format.what, create_missing=False)


# --- which clients ------------------------------------------------------------------------


def _login_targets(engine: str | None, engine_setting: str | None) -> tuple[bool, bool, str]:
    """(docker, podman, why) for a login; `why` explains an automatic choice."""
    if engine is not None:
        return (*_logout_targets(engine), "")
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
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)} or None, not {engine!r}")
    return engine in ("docker", "both"), engine in ("podman", "both")


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
    try:
        from_env = env_client_file()
        named = from_env is not None and bool(from_env.keys_for(reference))
    except LocalConfigError:
        named = True
    if not named:
        return []
    return [
        "DOCKER_AUTH_CONFIG is set and may name this registry; docker CLI 28.2+ and "
        "docker-py based tools use it before config.json. Unset it to use this login."
    ]
