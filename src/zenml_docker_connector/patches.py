"""Every place we rely on another library's internals, in one module.

Each row of the table says what is touched, why, on which versions it was verified, and what
happens when the target is missing or has changed; it is the one source of the `Patch` entries
(and so of the failure messages). Every patch checks its target first (`require`); a target
that is not there, or not of the expected shape, goes to `record_failure`: one warning naming
the patch and the installed version, ZenML's built-in `docker` connector keeps serving (or
docker-py/urllib3 fall back as the row says), and `zenml-docker status` exits 1 with the text.

| id | target | why | verified on | when missing or changed |
|---|---|---|---|---|
| zenml-connector-registry | ServiceConnectorRegistry.register_builtin_service_connectors (+ .initialized, .lock) | registers our class for type `docker` right after ZenML's built-ins, under the registry's lock (0.60 has none), with overwrite=True | ZenML 0.60.0, 0.85.0, 0.94.2, 0.98.0 | ZenML's built-in `docker` connector keeps serving. |
| zenml-cloud-docker-clients | DockerServiceConnector, the module-level name in ZenML's AWS/GCP/Azure connectors | ECR, Artifact Registry and ACR clients are built from that name; pointing it at our class makes them verify and log in like ours | ZenML 0.60.0, 0.85.0, 0.94.2, 0.98.0 | That cloud connector keeps handing out ZenML's built-in docker client. |
| zenml-sql-store-listing | SqlZenStore.list_service_connector_resources | marks the call, so that our connector may load its own secrets there, and runs its docker checks side by side first (glue.resource_listing) | ZenML 0.60.0, 0.85.0, 0.94.2, 0.98.0 | `zenml service-connector list-resources` fails for password connectors, as it does with the built-in. |
| zenml-type-cache | ServiceConnector._TYPE (redeclared on our class) | get_type() caches the type model in this class variable; redeclared, our class builds its own spec instead of returning the built-in's | ZenML 0.60.0, 0.85.0, 0.94.2, 0.98.0 | ZenML's built-in `docker` connector keeps serving. |
| zenml-secrets-keyword | Client.get_service_connector(expand_secrets=...), load_secrets= before | zenml-docker doctor and logout need the connector with its secrets; inspect.signature tells which keyword this ZenML has | ZenML 0.60.0, 0.85.0, 0.94.2, 0.98.0 | zenml-docker doctor and logout refuse with this text; the connector itself is not affected. |
| zenml-stdout-stream | zenml.logger._ZenMLStdoutStream, the stream of ZenML's console handler | zenml-docker pull-secret moves ZenML's console logs to standard error, so that standard output carries the manifest only | ZenML 0.98.0 (older lines log to sys.stdout itself) | ZenML's console logs may reach the standard output of zenml-docker pull-secret. |
| docker-py-auth-configs | APIClient._auth_configs, replaced by a subclass of docker.auth.AuthConfig (get_credential_store, get_all_credentials; resolve_index_name, convert_to_hostname) | docker-py asks a credential helper before the credentials given to login() (docker/docker-py#3281), so a client logged in with the connector's credentials could still push with whatever the helper holds, or fail when the helper is broken | docker 6.1.3, 7.1.0 | The Docker client is still logged in with the connector's credentials, but docker-py's own lookup decides what each push and pull sends: a credential helper configured for the registry answers first. |
| urllib3-new-conn | urllib3.connection.HTTPConnection._new_conn (and HTTPSConnection's), reached through the pools' ConnectionCls | see each socket once connected, before TLS or a request byte, and again before a kept-alive connection is reused | urllib3 2.8.0 | The connector sends no request to registries (each verification fails naming this patch) rather than send one without the peer check and the deadline. |
| urllib3-pool-classes | urllib3.PoolManager.pool_classes_by_scheme | make requests' pool managers (direct, and one per HTTP proxy) build the guarded connections | urllib3 2.8.0 | The connector sends no request to registries (each verification fails naming this patch) rather than send one without the peer check and the deadline. |

This module imports no ZenML: the glue (`glue.activation`) hands the targets in.
"""  # noqa: E501 - a table row is one line

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any, Protocol

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


def _table_rows() -> dict[str, list[str]]:
    """The table's cells by id (past the header row)."""
    rows = [line for line in (__doc__ or "").splitlines() if line.startswith("| ")][1:]
    cells = ([cell.strip() for cell in row.split("|")[1:-1]] for row in rows)
    return {row[0]: row for row in cells}


def _patch(patch_id: str, library: str) -> Patch:
    """The table's row `patch_id` (under `python -OO`, without a docstring: the id only)."""
    _, target, why, verified, when_missing = _TABLE.get(patch_id) or [patch_id] + ["?"] * 4
    return Patch(patch_id, library, target, why, verified, when_missing)


_TABLE = _table_rows()


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
    """Remember (once per patch) and log a patch that could not be applied: `patch`, or the
    one a `PatchTargetMissingError` names (e.g. the type cache, met while registering)."""
    if isinstance(error, PatchTargetMissingError):
        patch, detail = error.patch, error.detail
    else:
        detail = f"{type(error).__name__}: {error}"
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

ZENML_REGISTRY = _patch("zenml-connector-registry", "zenml")
ZENML_CLOUD_NAMES = _patch("zenml-cloud-docker-clients", "zenml")
ZENML_SQL_LISTING = _patch("zenml-sql-store-listing", "zenml")
ZENML_TYPE_CACHE = _patch("zenml-type-cache", "zenml")
ZENML_SECRETS_KEYWORD = _patch("zenml-secrets-keyword", "zenml")
ZENML_STDOUT_STREAM = _patch("zenml-stdout-stream", "zenml")

ZENML_PATCHES: tuple[Patch, ...] = (
    ZENML_REGISTRY,
    ZENML_CLOUD_NAMES,
    ZENML_SQL_LISTING,
    ZENML_TYPE_CACHE,
    ZENML_SECRETS_KEYWORD,
    ZENML_STDOUT_STREAM,
)

_MARKER = "_zenml_docker_connector_wrapped"


def apply_safely(patch: Patch, apply: Callable[[], object]) -> None:
    """Run `apply`; a failure is recorded against `patch`, never raised (ZenML keeps going)."""
    try:
        apply()
    except Exception as error:  # noqa: BLE001 - ZenML must keep working with its built-in
        record_failure(patch, error)


def wrap_connector_registry(module: ModuleType, register: Callable[[Any], None]) -> None:
    """Have `register(registry)` run after ZenML registered its built-in connectors."""
    registry_class = require(ZENML_REGISTRY, module, "ServiceConnectorRegistry")
    original = require(ZENML_REGISTRY, registry_class, "register_builtin_service_connectors")
    if getattr(original, _MARKER, False):
        return

    def register_builtin_service_connectors(self: Any) -> None:
        original(self)
        apply_safely(ZENML_REGISTRY, lambda: register_once(self, register))

    setattr(register_builtin_service_connectors, _MARKER, True)
    register_builtin_service_connectors.__doc__ = original.__doc__
    registry_class.register_builtin_service_connectors = register_builtin_service_connectors
    registry = getattr(module, "service_connector_registry", None)
    if registry is not None and getattr(registry, "initialized", False):
        apply_safely(ZENML_REGISTRY, lambda: register_once(registry, register))


def register_once(registry: Any, register: Callable[[Any], None]) -> None:
    """`register(registry)` once per registry, under its lock when it has one (0.60: none)."""
    lock = getattr(registry, "lock", None)
    with lock if lock is not None else nullcontext():
        if getattr(registry, "_zenml_docker_connector_registered", False):
            return
        register(registry)
        registry._zenml_docker_connector_registered = True


def own_connector_type(connector_class: Any, builtin_class: Any) -> Any:
    """`connector_class.get_type()`, checked to be its own spec and not the built-in's."""
    require(ZENML_TYPE_CACHE, builtin_class, "_TYPE")
    connector_type = connector_class.get_type()
    if getattr(connector_type, "connector_class", None) is not connector_class:
        raise PatchTargetMissingError(
            ZENML_TYPE_CACHE, f"get_type() of {connector_class.__name__} returns another spec"
        )
    return connector_type


def point_cloud_module_at(module: ModuleType, connector_class: type[Any]) -> None:
    """Make a cloud connector module build its docker clients with `connector_class`."""
    require(ZENML_CLOUD_NAMES, module, "DockerServiceConnector")
    module.DockerServiceConnector = connector_class  # type: ignore[attr-defined]


def wrap_resource_listing(
    module: ModuleType, marking: Callable[..., AbstractContextManager[None]]
) -> None:
    """Run the SQL store's resource listing inside `marking(store, *its arguments)`."""
    store_class = require(ZENML_SQL_LISTING, module, "SqlZenStore")
    original = require(ZENML_SQL_LISTING, store_class, "list_service_connector_resources")
    if getattr(original, _MARKER, False):
        return

    def list_service_connector_resources(self: Any, *args: Any, **kwargs: Any) -> Any:
        with marking(self, *args, **kwargs):
            return original(self, *args, **kwargs)

    setattr(list_service_connector_resources, _MARKER, True)
    list_service_connector_resources.__doc__ = original.__doc__
    store_class.list_service_connector_resources = list_service_connector_resources


def secrets_keyword(get_service_connector: Callable[..., Any]) -> str:
    """The keyword that makes `Client.get_service_connector` load the secrets."""
    parameters = inspect.signature(get_service_connector).parameters
    for keyword in ("expand_secrets", "load_secrets"):
        if keyword in parameters:
            return keyword
    # ZenML 0.60 wraps the method in a decorator that shows only `(*args, **kwargs)`; the
    # older keyword is the one such versions take.
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return "load_secrets"
    raise PatchTargetMissingError(
        ZENML_SECRETS_KEYWORD, "get_service_connector has neither expand_secrets nor load_secrets"
    )


def is_zenml_stdout(stream: Any, zenml_logger: ModuleType) -> bool:
    """Is `stream` ZenML's console stream that forwards to standard output? (Another class
    from ZenML's logger module means ZenML changed it: recorded, and the stream left alone.)"""
    if type(stream).__module__ != zenml_logger.__name__:
        return False
    try:
        stream_class = require(ZENML_STDOUT_STREAM, zenml_logger, "_ZenMLStdoutStream")
        if not isinstance(stream, stream_class):
            raise PatchTargetMissingError(
                ZENML_STDOUT_STREAM, f"ZenML's console handler writes to a {type(stream).__name__}"
            )
    except PatchTargetMissingError as error:
        record_failure(ZENML_STDOUT_STREAM, error)
        return False
    return True


# --- docker-py ------------------------------------------------------------------------

DOCKER_PY_AUTH_CONFIGS = _patch("docker-py-auth-configs", "docker")

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
# `registry.transport` must see each socket once connected (before TLS or a request byte)
# and before a kept-alive one is reused: to check the peer rule and arm the deadline's
# watchdog. urllib3 has no hook for that; when a target is missing, `guard_pool_manager`
# returns False and the transport refuses to send (never unguarded).

URLLIB3_NEW_CONN = _patch("urllib3-new-conn", "urllib3")
URLLIB3_POOL_CLASSES = _patch("urllib3-pool-classes", "urllib3")

URLLIB3_PATCHES: tuple[Patch, ...] = (URLLIB3_NEW_CONN, URLLIB3_POOL_CLASSES)


class SocketGuard(Protocol):
    """What a guarded connection asks about its socket; raising refuses the connection."""

    def connected(self, sock: Any) -> None: ...  # just connected, nothing sent yet

    def reused(self, sock: Any) -> None: ...  # kept alive, about to carry another request


GuardLookup = Callable[[], "SocketGuard | None"]
"""The guard of the request in progress (None: the connection is not ours to guard)."""


class _GuardedConnection:
    """Mixed in before urllib3's connection class by `guard_pool_manager`."""

    sock: Any
    _guard: GuardLookup

    def _new_conn(self) -> Any:
        sock = super()._new_conn()  # type: ignore[misc]
        guard = self._guard()
        if guard is not None:
            try:
                guard.connected(sock)
            except BaseException:
                sock.close()
                raise
        return sock

    def request(self, *args: Any, **kwargs: Any) -> Any:
        guard = self._guard()
        if guard is not None and self.sock is not None:
            guard.reused(self.sock)
        return super().request(*args, **kwargs)  # type: ignore[misc]


_guarded_pools: dict[tuple[type, GuardLookup], type] = {}


def guard_pool_manager(manager: Any, lookup: GuardLookup) -> bool:
    """Make urllib3 pool manager `manager` build connections that ask `lookup()`'s guard.

    False (recorded with `record_failure`) when urllib3 no longer has what this relies on;
    the caller must then not send through `manager`.
    """
    try:
        pools = require(URLLIB3_POOL_CLASSES, manager, "pool_classes_by_scheme")
        if not all(scheme in pools for scheme in ("http", "https")):
            raise PatchTargetMissingError(
                URLLIB3_POOL_CLASSES, "pool_classes_by_scheme has no 'http' and 'https' pools"
            )
        guarded = {scheme: _guarded_pool(pools[scheme], lookup) for scheme in ("http", "https")}
    except PatchTargetMissingError as error:
        record_failure(URLLIB3_POOL_CLASSES, error)
        return False
    manager.pool_classes_by_scheme = guarded
    return True


def _guarded_pool(pool: type, lookup: GuardLookup) -> type:
    """A subclass of `pool` whose connections are guarded (built once per pool class)."""
    known = _guarded_pools.get((pool, lookup))
    if known is not None:
        return known
    connection = require(URLLIB3_NEW_CONN, pool, "ConnectionCls")
    require(URLLIB3_NEW_CONN, connection, "_new_conn")
    guarded_connection = type(
        f"Guarded{connection.__name__}",
        (_GuardedConnection, connection),
        {"_guard": staticmethod(lookup)},
    )
    guarded = type(f"Guarded{pool.__name__}", (pool,), {"ConnectionCls": guarded_connection})
    _guarded_pools[(pool, lookup)] = guarded
    return guarded


PATCHES: tuple[Patch, ...] = ZENML_PATCHES + DOCKER_PY_PATCHES + URLLIB3_PATCHES
"""Every entry above, in table order."""
