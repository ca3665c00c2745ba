"""Activation's pieces on stand-ins for ZenML's registry, store and connector modules (the
real doors, in fresh interpreters, are tested in tests/integration/glue/test_activation.py)."""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import types
from pathlib import Path
from typing import Any

import pytest

from zenml_docker_connector import patches
from zenml_docker_connector.glue import activation
from zenml_docker_connector.glue.connector import DockerServiceConnector


class FakeRegistry:
    """What `_wrap_registry` and `register_ours` use of ZenML's ServiceConnectorRegistry."""

    def __init__(self, *, initialized: bool = False, lock: Any = None, fail: bool = False):
        self.initialized = initialized
        self.lock = lock
        self.fail = fail
        self.calls: list[str] = []

    def register_builtin_service_connectors(self) -> None:
        self.calls.append("builtins")

    def register_service_connector_type(self, spec: Any, overwrite: bool = False) -> None:
        if self.fail:
            raise RuntimeError("incompatible ZenML")
        self.calls.append(f"{spec.connector_type} {spec.connector_class.__name__} {overwrite}")


def _module(registry: FakeRegistry) -> types.ModuleType:
    module = types.ModuleType("fake_registry_module")
    cls = type("ServiceConnectorRegistry", (FakeRegistry,), {})
    registry.__class__ = cls
    module.ServiceConnectorRegistry = cls  # type: ignore[attr-defined]
    module.service_connector_registry = registry  # type: ignore[attr-defined]
    return module


@pytest.fixture(autouse=True)
def _no_leftover_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patches, "_failures", {})


@pytest.mark.parametrize(
    ("value", "disabled"),
    [("1", True), ("true", True), (" YES ", True), ("0", False), ("", False), ("no", False)],
)
def test_disable_switch(monkeypatch: pytest.MonkeyPatch, value: str, disabled: bool) -> None:
    monkeypatch.setenv(activation.DISABLE_ENV, value)
    assert activation.disabled() is disabled


def test_ours_is_registered_after_the_builtins_once() -> None:
    registry = FakeRegistry()
    module = _module(registry)
    activation._wrap_registry(module)
    activation._wrap_registry(module)  # a second door: no second wrapper
    assert registry.calls == []
    registry.register_builtin_service_connectors()
    registry.register_builtin_service_connectors()
    assert registry.calls == ["builtins", "docker DockerServiceConnector True", "builtins"]
    assert patches.failure_report() == ()


def test_an_already_initialized_registry_gets_ours_at_once() -> None:
    registry = FakeRegistry(initialized=True)
    activation._wrap_registry(_module(registry))
    assert registry.calls == ["docker DockerServiceConnector True"]


def test_a_failed_registration_keeps_the_builtin_and_is_remembered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = FakeRegistry(fail=True)
    activation._wrap_registry(_module(registry))
    with caplog.at_level(logging.WARNING):
        registry.register_builtin_service_connectors()
    assert registry.calls == ["builtins"]
    (failure,) = patches.failure_report()
    assert "patch 'zenml-connector-registry'" in failure
    assert "RuntimeError: incompatible ZenML. ZenML's built-in `docker` connector keeps" in failure
    assert failure in caplog.text


def test_register_with_uses_the_registry_lock_when_there_is_one() -> None:
    lock = threading.RLock()
    held: list[bool] = []

    class Checking(FakeRegistry):
        def register_service_connector_type(self, spec: Any, overwrite: bool = False) -> None:
            held.append(lock._is_owned())  # type: ignore[attr-defined]
            super().register_service_connector_type(spec, overwrite)

    locked = Checking(lock=lock)
    patches.register_once(locked, activation.register_ours)
    patches.register_once(FakeRegistry(), activation.register_ours)  # ZenML 0.60: no lock
    assert held == [True]
    assert locked.calls == ["docker DockerServiceConnector True"]


def test_our_spec_names_our_class() -> None:
    spec = DockerServiceConnector.get_type()
    assert spec.connector_type == "docker" and spec.connector_class is DockerServiceConnector


def test_cloud_connector_modules_get_our_class() -> None:
    from zenml.service_connectors.docker_service_connector import (
        DockerServiceConnector as Builtin,
    )

    module = types.ModuleType("fake_cloud_connector")
    module.DockerServiceConnector = Builtin  # type: ignore[attr-defined]
    activation._use_our_class(module)
    assert module.DockerServiceConnector is DockerServiceConnector  # type: ignore[attr-defined]


class FakeStore:
    """What `_wrap_resource_listing` wraps: the SQL store's resource listing."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def list_service_connector_resources(self, *args: Any, **kwargs: Any) -> list[Any]:
        from zenml_docker_connector.glue.resource_listing import listing_store

        self.seen.append((listing_store(), args, kwargs))
        return ["listed"]


def test_resource_listing_is_marked_while_it_runs() -> None:
    from zenml_docker_connector.glue.resource_listing import listing_store

    module = types.ModuleType("fake_sql_zen_store")
    module.SqlZenStore = type("SqlZenStore", (FakeStore,), {})  # type: ignore[attr-defined]
    activation._wrap_resource_listing(module)
    activation._wrap_resource_listing(module)  # a second door: no second wrapper
    store = module.SqlZenStore()  # type: ignore[attr-defined]
    assert store.list_service_connector_resources("filter", hydrate=True) == ["listed"]
    assert store.seen == [(store, ("filter",), {"hydrate": True})]
    assert listing_store() is None


def test_the_finder_adjusts_only_the_modules_it_waits_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("zdc_watched_module", "zdc_other_module"):
        (tmp_path / f"{name}.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    adjusted: list[str] = []

    def adjust(module: types.ModuleType) -> None:
        adjusted.append(module.__name__)
        module.VALUE = 2  # type: ignore[attr-defined]

    finder = activation._ZenmlModuleFinder({"zdc_watched_module": adjust})
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    for name in ("zdc_watched_module", "zdc_other_module"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    watched = importlib.import_module("zdc_watched_module")
    other = importlib.import_module("zdc_other_module")
    assert (watched.VALUE, other.VALUE) == (2, 1)
    assert adjusted == ["zdc_watched_module"]


def test_a_failing_adjustment_never_breaks_the_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "zdc_fragile_module.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "zdc_fragile_module", raising=False)

    def adjust(module: types.ModuleType) -> None:
        raise AttributeError("ZenML moved things")

    finder = activation._ZenmlModuleFinder({"zdc_fragile_module": adjust})
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    assert importlib.import_module("zdc_fragile_module").VALUE == 1
    (failure,) = patches.failure_report()
    assert "AttributeError: ZenML moved things" in failure
