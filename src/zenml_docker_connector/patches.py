"""Every place we rely on another library's internals, in one module.

Each entry of `PATCHES` says what is touched, why, on which versions it was verified, and what
happens when the target is missing or has changed. The rule for every entry is the same: the
patch is checked before it is applied (`require`), and a target that is not there (or not of
the expected shape) is recorded with `record_failure`. That logs one warning naming the patch
and the installed version of the library, leaves ZenML's built-in `docker` connector serving
(or, for docker-py/urllib3, falls back as the entry says), and makes `zenml-docker status`
exit 1 with the same text (`failure_report`).

| id | target | why | verified on | when missing or changed |
|---|---|---|---|---|
<!-- table rows: one per entry of PATCHES, kept in step with it by tests/unit/test_patches.py -->
| docker-py-auth-configs | `_auth_configs` | docker-py#3281 | docker 7.1.0 | helper asked first |

This module imports no ZenML: the ZenML targets are handed in by the glue (`glue.activation`)
once ZenML loaded them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Patch:
    """One reliance on another library's internals (a row of the table above)."""

    id: str
    library: str
    """The distribution whose version a failure names: `zenml`, `docker`, `urllib3`."""
    target: str
    why: str
    verified: str
    when_missing: str


class PatchTargetMissingError(Exception):
    """The internal a patch needs is not there (or not of the shape it was verified on)."""

    def __init__(self, patch: Patch, detail: str) -> None:
        super().__init__(f"{patch.id}: {detail}")
        self.patch = patch
        self.detail = detail


@dataclass(frozen=True)
class PatchFailure:
    patch: Patch
    detail: str
    version: str

    def __str__(self) -> str:
        return (
            f"zenml-docker-connector patch '{self.patch.id}' ({self.patch.target}) does not "
            f"match {self.patch.library} {self.version} (verified on {self.patch.verified}): "
            f"{self.detail}. {self.patch.when_missing}"
        )


_failures: dict[str, PatchFailure] = {}


def installed_version(library: str) -> str:
    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def require(patch: Patch, owner: Any, attribute: str) -> Any:
    """`owner.attribute`, or `PatchTargetMissingError` naming the patch."""
    try:
        return getattr(owner, attribute)
    except AttributeError:
        name = getattr(owner, "__name__", type(owner).__name__)
        raise PatchTargetMissingError(patch, f"{name} has no attribute {attribute!r}") from None


def record_failure(patch: Patch, error: BaseException) -> PatchFailure:
    """Remember (once per patch) and log a patch that could not be applied."""
    detail = error.detail if isinstance(error, PatchTargetMissingError) else (
        f"{type(error).__name__}: {error}"
    )
    failure = _failures.get(patch.id)
    if failure is None:
        failure = PatchFailure(patch, detail, installed_version(patch.library))
        _failures[patch.id] = failure
        _log.warning("%s", failure)
    return failure


def failure_report() -> tuple[str, ...]:
    """What `zenml-docker status` prints (and exits 1 for) when a patch did not apply."""
    return tuple(str(failure) for failure in _failures.values())


# --- ZenML ----------------------------------------------------------------------------
# (glue helper: the connector registry, the cloud connector modules' DockerServiceConnector
# name, SqlZenStore.list_service_connector_resources, the redeclared _TYPE, the
# get_service_connector secrets keyword, ZenML's stdout stream class)

ZENML_PATCHES: tuple[Patch, ...] = ()


# --- docker-py ------------------------------------------------------------------------

DOCKER_PY_AUTH_CONFIGS = Patch(
    id="docker-py-auth-configs",
    library="docker",
    target="APIClient._auth_configs, replaced by a subclass of docker.auth.AuthConfig "
    "(get_credential_store, get_all_credentials; resolve_index_name, convert_to_hostname)",
    why="docker-py asks a credential helper before the credentials given to login() "
    "(docker/docker-py#3281), so a client logged in with the connector's credentials could "
    "still push with whatever the helper holds, or fail when the helper is broken",
    verified="docker 7.1.0",
    when_missing="The Docker client is still logged in with the connector's credentials, but "
    "docker-py's own lookup decides what each push and pull sends: a credential helper "
    "configured for the registry answers first.",
)

DOCKER_PY_PATCHES: tuple[Patch, ...] = (DOCKER_PY_AUTH_CONFIGS,)


def connector_first_auth(api: Any, auth_module: Any, registry: str) -> bool:
    """Make the docker-py client `api` skip credential helpers for `registry`, only for it.

    `auth_module` is `docker.auth`; every other registry keeps docker-py's lookup. False,
    with the failure recorded, when docker-py's internals are not the ones verified.
    """
    patch = DOCKER_PY_AUTH_CONFIGS
    try:
        current = require(patch, api, "_auth_configs")
        credstore_env = require(patch, api, "credstore_env")
        config_class, index_name = _connector_first_class(auth_module)
        api._auth_configs = config_class(
            dict(current or {}), frozenset({index_name(registry)}), credstore_env
        )
    except (PatchTargetMissingError, TypeError) as error:
        record_failure(patch, error)
        return False
    return True


def _connector_first_class(auth_module: Any) -> tuple[type[Any], Callable[[str | None], str]]:
    """docker-py's AuthConfig with helpers bypassed for given registries; its name rule."""
    patch = DOCKER_PY_AUTH_CONFIGS
    base = require(patch, auth_module, "AuthConfig")
    for method in ("get_credential_store", "get_all_credentials"):
        require(patch, base, method)
    resolve = require(patch, auth_module, "resolve_index_name")
    hub = require(patch, auth_module, "INDEX_NAME")
    hostname = require(patch, auth_module, "convert_to_hostname")

    def index_name(registry: str | None) -> str:
        return str(resolve(registry)) if registry else str(hub)

    class ConnectorFirstAuthConfig(base):  # type: ignore[misc, valid-type]
        def __init__(self, config: dict[str, Any], registries: frozenset[str], env: Any):
            super().__init__(config, env)
            self._connector_registries = registries

        def get_credential_store(self, registry: str | None) -> str | None:
            if index_name(registry) in self._connector_registries:
                return None
            store: str | None = super().get_credential_store(registry)
            return store

        def get_all_credentials(self) -> dict[str, Any]:
            credentials: dict[str, Any] = super().get_all_credentials()
            # Builds read this map; re-apply our logins over whatever the helpers listed.
            for key, entry in self.auths.items():
                if index_name(key) in self._connector_registries:
                    credentials[key] = entry
                    credentials[hostname(key)] = entry
            return credentials

    return ConnectorFirstAuthConfig, index_name


# --- urllib3 --------------------------------------------------------------------------
# (registry helper: HTTPConnection._new_conn, PoolManager.pool_classes_by_scheme)

URLLIB3_PATCHES: tuple[Patch, ...] = ()


PATCHES: tuple[Patch, ...] = ZENML_PATCHES + DOCKER_PY_PATCHES + URLLIB3_PATCHES
"""Every entry above, in table order."""
