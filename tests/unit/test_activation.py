"""Activation's pieces on stand-ins for ZenML's registry (the real doors, in fresh
interpreters, are tested in tests/integration/glue/test_activation.py)."""

from __future__ import annotations

import logging
import threading
import types
from typing import Any

import pytest

from zenml_docker_connector import activation
from zenml_docker_connector.connector import DockerServiceConnector


class FakeRegistry:
    """What `_wrap_registry` and `register_with` use of ZenML's ServiceConnectorRegistry."""

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
def _no_leftover_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(activation, "last_error", None)


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
    assert activation.last_error is None


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
    assert isinstance(activation.last_error, RuntimeError)
    assert "could not replace ZenML's docker connector (RuntimeError" in caplog.text


def test_register_with_uses_the_registry_lock_when_there_is_one() -> None:
    lock = threading.RLock()
    held: list[bool] = []

    class Checking(FakeRegistry):
        def register_service_connector_type(self, spec: Any, overwrite: bool = False) -> None:
            held.append(lock._is_owned())  # type: ignore[attr-defined]
            super().register_service_connector_type(spec, overwrite)

    locked = Checking(lock=lock)
    activation.register_with(locked)
    activation.register_with(FakeRegistry())  # ZenML 0.60: no lock
    assert held == [True]
    assert locked.calls == ["docker DockerServiceConnector True"]


def test_our_spec_names_our_class() -> None:
    spec = DockerServiceConnector.get_type()
    assert spec.connector_type == "docker" and spec.connector_class is DockerServiceConnector
