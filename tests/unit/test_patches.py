"""`patches`: the table matches the entries, and each ZenML patch whose target is missing or
changed leaves ZenML's own behaviour in place, warns naming the patch and the version, and
makes `zenml-docker status` exit 1 with that text."""

from __future__ import annotations

import logging
import types
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from zenml.client import Client
from zenml.service_connectors.docker_service_connector import (
    DockerServiceConnector as Builtin,
)
from zenml.service_connectors.service_connector_registry import (
    ServiceConnectorRegistry,
    service_connector_registry,
)

from zenml_docker_connector import patches
from zenml_docker_connector.cli import main
from zenml_docker_connector.errors import DockerConnectorError
from zenml_docker_connector.glue import activation, zenml_access
from zenml_docker_connector.glue.connector import DockerServiceConnector


def _table_ids() -> list[str]:
    doc = patches.__doc__ or ""
    rows = [line for line in doc.splitlines() if line.startswith("| ")][1:]  # past the header
    ids = []
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 5 and all(cells), row
        ids.append(cells[0])
    return ids


def test_every_patch_has_one_table_row_and_every_row_a_patch() -> None:
    assert _table_ids() == [patch.id for patch in patches.PATCHES]
    assert len({patch.id for patch in patches.PATCHES}) == len(patches.PATCHES)


@pytest.fixture(autouse=True)
def _fresh_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patches, "_failures", {})


# --- each ZenML patch's "target missing or changed" branch ------------------------------
# Each function runs the branch on stand-ins (the real registry class, a renamed method, a
# module without the name) and asserts that ZenML's own behaviour is what remains.


def _registry_without_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    """ZenML renamed `register_builtin_service_connectors`: the built-ins still register."""
    members = {
        k: v
        for k, v in vars(ServiceConnectorRegistry).items()
        if k not in ("__dict__", "__weakref__")
    }
    del members["register_builtin_service_connectors"]  # (here: already wrapped by us)
    members["register_builtins"] = lambda self: None  # ZenML's modules register at import
    module = types.ModuleType(activation.REGISTRY_MODULE)
    module.ServiceConnectorRegistry = type("ServiceConnectorRegistry", (), members)  # type: ignore[attr-defined]
    activation._adjust_safely(activation._wrap_registry, module)
    registry = module.ServiceConnectorRegistry()  # type: ignore[attr-defined]
    registry.register_service_connector_type(Builtin.get_type())  # what ZenML's modules do
    registry.register_builtins()
    assert not hasattr(registry, "register_builtin_service_connectors")
    assert registry.service_connector_types["docker"].connector_class is Builtin


def _type_cache_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our class's `get_type()` hands out the built-in's spec: the built-in stays registered."""
    monkeypatch.setattr(DockerServiceConnector, "_TYPE", Builtin.get_type())
    module = types.ModuleType(activation.REGISTRY_MODULE)
    module.ServiceConnectorRegistry = type(  # type: ignore[attr-defined]
        "ServiceConnectorRegistry", (ServiceConnectorRegistry,), {}
    )
    activation._adjust_safely(activation._wrap_registry, module)
    registry = module.ServiceConnectorRegistry()  # type: ignore[attr-defined]
    registry.register_service_connector_type(Builtin.get_type())  # what ZenML's modules do
    registry.register_builtin_service_connectors()
    assert registry.get_service_connector_type("docker").connector_class is Builtin
    with pytest.raises(patches.PatchTargetMissingError, match="zenml-type-cache"):
        patches.own_connector_type(DockerServiceConnector, object)  # the attribute itself gone


def _cloud_module_renamed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cloud connector module without the name keeps its own docker client class."""
    module = types.ModuleType(activation.CLOUD_CONNECTOR_MODULES[0])
    module.DockerRegistryClient = Builtin  # type: ignore[attr-defined]
    activation._adjust_safely(activation._use_our_class, module)
    assert module.DockerRegistryClient is Builtin  # type: ignore[attr-defined]
    assert not hasattr(module, "DockerServiceConnector")


def _sql_store_renamed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A store whose listing method has another name: its listing is left unwrapped."""

    def list_resources(self: Any) -> list[str]:
        return ["as ZenML lists them"]

    module = types.ModuleType(activation.SQL_STORE_MODULE)
    module.SqlZenStore = type("SqlZenStore", (), {"list_resources": list_resources})  # type: ignore[attr-defined]
    activation._adjust_safely(activation._wrap_resource_listing, module)
    assert module.SqlZenStore.list_resources is list_resources  # type: ignore[attr-defined]


def _secrets_keyword_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client without either keyword: doctor/logout refuse, the connector type is unchanged."""

    class OtherClient:
        def get_service_connector(self, name: str, allow_name_prefix_match: bool) -> Any:
            raise AssertionError("not asked without the secrets")

    served_before = service_connector_registry.get_service_connector_type("docker").connector_class
    monkeypatch.setattr(zenml_access, "Client", OtherClient)
    with pytest.raises(DockerConnectorError, match="patch 'zenml-secrets-keyword'"):
        zenml_access.load_docker_connector("any")
    served = service_connector_registry.get_service_connector_type("docker").connector_class
    assert served is served_before


def _stdout_stream_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    """ZenML's console handler writes through another stream class: it is left where it is."""
    stream_class = type("_ZenMLConsoleStream", (), {"__module__": "zenml.logger"})
    assert not zenml_access.is_zenml_stdout(stream_class())
    without = types.ModuleType("zenml_logger_stand_in")
    stream_class.__module__ = without.__name__
    assert not patches.is_zenml_stdout(stream_class(), without)  # the class itself gone


BRANCHES: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "zenml-connector-registry": _registry_without_the_hook,
    "zenml-type-cache": _type_cache_changed,
    "zenml-cloud-docker-clients": _cloud_module_renamed,
    "zenml-sql-store-listing": _sql_store_renamed,
    "zenml-secrets-keyword": _secrets_keyword_gone,
    "zenml-stdout-stream": _stdout_stream_changed,
}


def test_every_zenml_patch_has_its_missing_target_branch_tested() -> None:
    assert set(BRANCHES) == {patch.id for patch in patches.ZENML_PATCHES}


@pytest.mark.parametrize("patch", patches.ZENML_PATCHES, ids=lambda patch: patch.id)
def test_a_missing_zenml_target_warns_and_fails_status(
    patch: patches.Patch, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=patches.__name__):
        BRANCHES[patch.id](monkeypatch)
    (failure,) = patches.failure_report()
    version = patches.installed_version("zenml")
    assert f"patch '{patch.id}'" in failure and f"zenml {version}" in failure
    assert failure.endswith(patch.when_missing)
    assert [record.getMessage() for record in caplog.records] == [failure]
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 1, result.output
    assert failure in " ".join(result.output.split())


def test_a_failure_is_warned_once_per_patch(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=patches.__name__):
        patches.record_failure(patches.ZENML_REGISTRY, RuntimeError("first"))
        patches.record_failure(patches.ZENML_REGISTRY, RuntimeError("second"))
    assert len(caplog.records) == 1 and "RuntimeError: first" in caplog.text
    assert len(patches.failure_report()) == 1


def test_status_passes_when_every_patch_applied() -> None:
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 0, result.output
    assert patches.failure_report() == ()


def test_the_secrets_keyword_of_this_zenml() -> None:
    assert patches.secrets_keyword(Client.get_service_connector) in (
        "expand_secrets",
        "load_secrets",
    )


def test_a_wrapped_get_service_connector_takes_the_older_keyword() -> None:
    """ZenML 0.60 decorates the method; its signature shows only `(*args, **kwargs)`."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return None

    assert patches.secrets_keyword(wrapped) == "load_secrets"
