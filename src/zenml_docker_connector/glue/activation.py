"""ZenML glue: make our connector ZenML's `docker` connector type, without any user code.

Three doors lead here, and all of them may be taken in one process:
- ZenML >= 0.94.1 runs the `zenml.init_hooks` entry point `activate` first thing in
  `zenml/__init__.py`;
- older ZenML has no hooks, so the wheel ships a `.pth` start-up line calling `activate`;
- `import zenml_docker_connector` calls it too.

`activate` must never raise, must not import ZenML (the hook runs while `zenml` is half
imported; importing its docker connector there is a circular import) and must cost almost
nothing. So it only arranges that each of a few ZenML modules is adjusted right after it is
loaded (or at once, when it already is):
- the service connector registry: `register_builtin_service_connectors` is wrapped so that,
  after ZenML registered its built-ins, ours is registered for type `docker` with
  `overwrite=True`, under the registry's lock;
- the AWS, GCP and Azure connector modules: the name `DockerServiceConnector` they build their
  `docker-registry` clients with (ECR, Artifact Registry, ACR) is pointed at our class;
- the SQL store: `list_service_connector_resources` is wrapped to mark the call, so that our
  connector may load its own secrets there (see `resource_listing`).
The work happens once per process, whichever door ran first.
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
DISABLE_ENV = "ZENML_DOCKER_CONNECTOR_DISABLE"
"""Set to 1/true to leave ZenML's built-in connector in place (benchmarks compare the two)."""

_MARKER = "_zenml_docker_connector_wrapped"
_state_lock = _thread.allocate_lock()
_activated = False
last_error: BaseException | None = None
"""The exception a failed activation swallowed, for `zenml-docker` diagnostics."""


def disabled() -> bool:
    """True when the environment asks for ZenML's built-in connector."""
    return os.environ.get(DISABLE_ENV, "").strip().lower() in ("1", "true", "yes")


def activate() -> None:
    """Arrange for our connector to serve type `docker`; idempotent and never raises."""
    global _activated, last_error
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
        last_error = error


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
    global last_error
    try:
        adjust(module)
    except Exception as error:  # noqa: BLE001 - never break ZenML's own import
        last_error = error


class _ZenmlModuleFinder:
    """Meta path finder that only reacts to the modules we adjust and wraps their loaders.

    It stays installed while one of them is still to come (a cloud integration that is not
    installed never comes): each other import costs it one dictionary lookup.
    """

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
    registry_class = module.ServiceConnectorRegistry
    original = registry_class.register_builtin_service_connectors
    if getattr(original, _MARKER, False):
        return

    def register_builtin_service_connectors(self: Any) -> None:
        original(self)
        _register_safely(self)

    setattr(register_builtin_service_connectors, _MARKER, True)
    register_builtin_service_connectors.__doc__ = original.__doc__
    registry_class.register_builtin_service_connectors = register_builtin_service_connectors
    registry = getattr(module, "service_connector_registry", None)
    if registry is not None and getattr(registry, "initialized", False):
        _register_safely(registry)


def _use_our_class(module: ModuleType) -> None:
    """Cloud connectors build their `docker-registry` clients from this module-level name.

    Our class subclasses the built-in, so ZenML's `isinstance` checks still hold, and it
    accepts the built-in's `DockerConfiguration` they pass (see `connector`).
    """
    from zenml_docker_connector.glue.connector import DockerServiceConnector

    module.DockerServiceConnector = DockerServiceConnector  # type: ignore[attr-defined]


def _wrap_resource_listing(module: ModuleType) -> None:
    store_class = module.SqlZenStore
    original = store_class.list_service_connector_resources
    if getattr(original, _MARKER, False):
        return

    def list_service_connector_resources(self: Any, *args: Any, **kwargs: Any) -> Any:
        from zenml_docker_connector.glue.resource_listing import listing_resources

        with listing_resources(self):
            return original(self, *args, **kwargs)

    setattr(list_service_connector_resources, _MARKER, True)
    list_service_connector_resources.__doc__ = original.__doc__
    store_class.list_service_connector_resources = list_service_connector_resources


def _register_safely(registry: Any) -> None:
    """Register ours; on failure keep ZenML's built-in and say why once, without a traceback."""
    global last_error
    try:
        register_with(registry)
    except Exception as error:  # noqa: BLE001 - ZenML must keep working with its built-in
        if last_error is None:
            import logging

            logging.getLogger(__name__).warning(
                "zenml-docker-connector could not replace ZenML's docker connector (%s: %s); "
                "ZenML's built-in one is used. Check that the installed ZenML is supported.",
                type(error).__name__,
                error,
            )
        last_error = error


def register_with(registry: Any) -> None:
    """Register our connector in `registry` (once), replacing ZenML's built-in `docker` type.

    Recent registries have a lock; ZenML 0.60's has none (and registers its built-ins
    without one), so there the registration runs unlocked, as ZenML's own does.
    """
    from contextlib import nullcontext

    lock = getattr(registry, "lock", None)
    with lock if lock is not None else nullcontext():
        if getattr(registry, "_zenml_docker_connector_registered", False):
            return
        from zenml_docker_connector.glue.connector import DockerServiceConnector

        registry.register_service_connector_type(DockerServiceConnector.get_type(), overwrite=True)
        registry._zenml_docker_connector_registered = True
