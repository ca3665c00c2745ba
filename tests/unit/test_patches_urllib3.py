"""The urllib3 section of `patches`: guarded connections, and what happens when urllib3 moved.

When either target is missing the failure is recorded (a warning naming the patch and the
urllib3 version; `zenml-docker status` reports it) and the transport sends nothing rather
than send without the peer check and the deadline.
"""

from __future__ import annotations

from typing import Any

import pytest
import urllib3
from urllib3.connection import HTTPConnection

from testbed.loopback import Loopback
from zenml_docker_connector import patches
from zenml_docker_connector.errors import RegistryError
from zenml_docker_connector.patches import (
    URLLIB3_NEW_CONN,
    URLLIB3_PATCHES,
    URLLIB3_POOL_CLASSES,
    failure_report,
    guard_pool_manager,
)
from zenml_docker_connector.registry import transport as transport_module
from zenml_docker_connector.registry.policy import Outgoing


@pytest.fixture(autouse=True)
def no_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patches, "_failures", {})


def _nobody() -> None:
    return None


class _Manager:
    def __init__(self, pools: Any) -> None:
        self.pool_classes_by_scheme = pools


def test_a_real_pool_manager_builds_guarded_connections() -> None:
    manager = urllib3.PoolManager()
    assert guard_pool_manager(manager, _nobody)
    for scheme in ("http", "https"):
        connection = manager.pool_classes_by_scheme[scheme].ConnectionCls
        assert issubclass(connection, HTTPConnection)
        assert connection._new_conn is not HTTPConnection._new_conn
    # Built once per pool class and guard lookup.
    again = urllib3.PoolManager()
    guard_pool_manager(again, _nobody)
    assert again.pool_classes_by_scheme == manager.pool_classes_by_scheme
    assert failure_report() == ()
    assert {p.id for p in URLLIB3_PATCHES} == {URLLIB3_NEW_CONN.id, URLLIB3_POOL_CLASSES.id}


def test_a_pool_manager_without_pool_classes_is_recorded(caplog: pytest.LogCaptureFixture) -> None:
    assert not guard_pool_manager(object(), _nobody)
    (report,) = failure_report()
    assert "'urllib3-pool-classes'" in report and "pool_classes_by_scheme" in report
    assert f"urllib3 {urllib3.__version__}" in report and "sends no request" in report
    assert report in caplog.text


def test_pool_classes_without_both_schemes_are_recorded() -> None:
    assert not guard_pool_manager(_Manager({"http": urllib3.HTTPConnectionPool}), _nobody)
    (report,) = failure_report()
    assert "'urllib3-pool-classes'" in report and "'https'" in report


def test_a_pool_without_connection_class_or_new_conn_is_recorded() -> None:
    class NoConnectionCls:
        pass

    class NoNewConn:
        ConnectionCls = object

    for pool in (NoConnectionCls, NoNewConn):
        manager = _Manager({"http": pool, "https": pool})
        assert not guard_pool_manager(manager, _nobody)
        assert manager.pool_classes_by_scheme == {"http": pool, "https": pool}  # untouched
    (report,) = failure_report()  # recorded once per patch
    assert "'urllib3-new-conn'" in report


def test_the_transport_sends_nothing_unguarded(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport_module, "guard_pool_manager", lambda manager, lookup: False)
    transport = loopback.transport(lambda seen: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(RegistryError, match="connection guard does not fit") as caught:
        transport.request(Outgoing("GET", f"{loopback.url}/v2/"))
    assert "zenml-docker status" in str(caught.value)
    assert loopback.seen == [] and transport.steps == [f"GET {loopback.url}/v2/ -> refused"]
