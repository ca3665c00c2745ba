"""ZenML glue: make our connector ZenML's `docker` connector type, without any user code.

Three doors lead here, all possibly in one process: ZenML >= 0.94.1 runs the `zenml.init_hooks`
entry point `activate` first thing in `zenml/__init__.py`; older ZenML has no hooks, so the
wheel ships a `.pth` start-up line calling it; and `import zenml_docker_connector` calls it.

`activate` must never raise, must not import ZenML (the hook runs while `zenml` is half
imported) and must cost almost nothing (the `.pth` line runs it at every start of Python).
That is why this is the one module that imports inside functions: `patches`, the connector
and `resource_listing` load only once a ZenML module below does. Each such module is adjusted
right after it loads (or at once), each adjustment a row of `patches`: the connector registry
(`ZENML_REGISTRY`, `ZENML_TYPE_CACHE`), the cloud connector modules' `DockerServiceConnector`
name (`ZENML_CLOUD_NAMES`), the SQL store's resource listing (`ZENML_SQL_LISTING`). The work
happens once per process; failures go to `patches.record_failure`.
"""

from __future__ import annotations

# Only modules every interpreter has loaded already: the `.pth` line runs this at each start
# of Python in the environment, ZenML or not (typing/threading/contextlib cost ~15 ms there).
import _thread
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

REGISTRY_MODULE = "zenml.service_connectors.service_connector_registry"
CLOUD_CONNECTOR_MODULES = (
    "zenml.integrations.aws.service_connectors.aws_service_connector",
    "zenml.integrations.gcp.service_connectors.gcp_service_connector",
    "zenml.integrations.azure.service_connectors.azure_service_connector",
)
SQL_STORE_MODULE = "zenml.zen_stores.sql_zen_store"
_PATCH_OF = {
    SQL_STORE_MODULE: "ZENML_SQL_LISTING",
    **dict.fromkeys(CLOUD_CONNECTOR_MODULES, "ZENML_CLOUD_NAMES"),
}
"""Which patch adjusting a module applies (the registry's, for the others and `activate`)."""
DISABLE_ENV = "ZENML_DOCKER_CONNECTOR_DISABLE"
"""Set to 1/true to leave ZenML's built-in connector in place (benchmarks compare the two)."""

_state_lock = _thread.allocate_lock()
_activated = False


def disabled() -> bool:
    """True when the environment asks for ZenML's built-in connector."""
    return os.environ.get(DISABLE_ENV, "").strip().lower() in ("1", "true", "yes")


def activate() -> None:
    """Arrange for our connector to serve type `docker`; idempotent and never raises."""
    global _activated
    try:
        if disabled():
            return
        with _state_lock:
            if _activated:
                return
            _activated = True
        waiting: dict[str, Callable[[ModuleType], None]] = {}
        for name, (attribute, adjust) in _adjustments().items():
            module = sys.modules.get(name)
            if module is not None and hasattr(module, attribute):
                _adjust_safely(adjust, module)
            else:
                waiting[name] = adjust
        if waiting:
            sys.meta_path.insert(0, _ZenmlModuleFinder(waiting))
    except Exception as error:  # noqa: BLE001 - a start-up hook must never break `import zenml`
        _record("ZENML_REGISTRY", error)


def _adjustments() -> dict[str, tuple[str, Callable[[ModuleType], None]]]:
    """Module name -> (the attribute it has once loaded, what to do to it)."""
    adjustments: dict[str, tuple[str, Callable[[ModuleType], None]]] = {
        REGISTRY_MODULE: ("ServiceConnectorRegistry", _wrap_registry),
        SQL_STORE_MODULE: ("SqlZenStore", _wrap_resource_listing),
    }
    for name in CLOUD_CONNECTOR_MODULES:
        adjustments[name] = ("DockerServiceConnector", _use_our_class)
    return adjustments


def _adjust_safely(adjust: Callable[[ModuleType], None], module: ModuleType) -> None:
    try:
        adjust(module)
    except Exception as error:  # noqa: BLE001 - never break ZenML's own import
        _record(_PATCH_OF.get(module.__name__, "ZENML_REGISTRY"), error)


class _ZenmlModuleFinder:
    """Wraps the loaders of the modules we adjust; any other import costs one dict lookup."""

    def __init__(self, waiting: dict[str, Callable[[ModuleType], None]]) -> None:
        self.waiting = waiting

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        adjust = self.waiting.get(fullname)
        if adjust is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _PatchingLoader(spec.loader, adjust)  # type: ignore[assignment]
        return spec


class _PatchingLoader:
    """Delegates to the real loader, then adjusts the fresh module."""

    def __init__(self, loader: Any, adjust: Callable[[ModuleType], None]) -> None:
        self._loader = loader
        self._adjust = adjust

    def create_module(self, spec: Any) -> ModuleType | None:
        result: ModuleType | None = self._loader.create_module(spec)
        return result

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _adjust_safely(self._adjust, module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


def _wrap_registry(module: ModuleType) -> None:
    from zenml_docker_connector import patches

    patches.wrap_connector_registry(module, register_ours)


def register_ours(registry: Any) -> None:
    """Register our connector type in `registry`, replacing ZenML's built-in `docker` type."""
    from zenml.service_connectors.docker_service_connector import (
        DockerServiceConnector as BuiltinDockerServiceConnector,
    )

    from zenml_docker_connector import patches
    from zenml_docker_connector.glue.connector import DockerServiceConnector

    connector_type = patches.own_connector_type(
        DockerServiceConnector, BuiltinDockerServiceConnector
    )
    registry.register_service_connector_type(connector_type, overwrite=True)


def _use_our_class(module: ModuleType) -> None:
    """Our class subclasses the built-in and accepts its `DockerConfiguration` (`connector`)."""
    from zenml_docker_connector import patches
    from zenml_docker_connector.glue.connector import DockerServiceConnector

    patches.point_cloud_module_at(module, DockerServiceConnector)


def _wrap_resource_listing(module: ModuleType) -> None:
    from zenml_docker_connector import patches
    from zenml_docker_connector.glue.resource_listing import listing_resources

    patches.wrap_resource_listing(module, listing_resources)


def _record(patch_name: str, error: BaseException) -> None:
    from zenml_docker_connector import patches

    patches.record_failure(getattr(patches, patch_name), error)


def check_patches() -> tuple[str, ...]:
    """Every ZenML patch that did not apply here (`zenml-docker status`): each adjusted module
    is loaded, the registry initialized, and the two patches applied on use are probed."""
    import contextlib
    import importlib
    import logging

    from zenml import logger as zenml_logger
    from zenml.client import Client

    from zenml_docker_connector import patches

    for name in (REGISTRY_MODULE, SQL_STORE_MODULE, *CLOUD_CONNECTOR_MODULES):
        with contextlib.suppress(Exception):  # not installed here (a cloud SDK, the SQL store)
            importlib.import_module(name)
    sys.modules[REGISTRY_MODULE].service_connector_registry.register_builtin_service_connectors()
    patches.apply_safely(
        patches.ZENML_SECRETS_KEYWORD,
        lambda: patches.secrets_keyword(Client.get_service_connector),
    )
    for logger in (logging.getLogger(), logging.getLogger("zenml")):
        for handler in logger.handlers:
            patches.is_zenml_stdout(getattr(handler, "stream", None), zenml_logger)
    return patches.failure_report()
