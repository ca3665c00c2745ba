"""A listing over many docker connectors verifies them side by side, with the same outcome.

Ten connectors in the local store, registered unverified: eight reach the htpasswd registry
(each through a relay of its own, so each is a different registry and no check joins
another), one has a wrong password, one points at a listener that never answers and was
registered first, so ZenML's loop reaches it first. The sequential listing
(`LISTING_WORKERS_ENV=1`) and the default one must return the same entries (a failed check
is an entry with its error) and log the same errors; only in the default one do the other
checks begin while the silent one still waits.
Checks here get a 3 s deadline (2 s reads) instead of 30 s, to keep the test short.

Behind real ZenML servers (the server runs the checks, with its own 30 s deadline): the
session's server overlaps the checks, and a server started with `LISTING_WORKERS_ENV=1` lists
the same connectors one by one with the same entries, errors included.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from testbed.leaks import assert_no_secret
from testbed.timed_sockets import SilentListener, TimedRelay
from testbed.zenml_server_fixture import ZenServer, ZenServerPool
from zenml_docker_connector.glue import resource_listing
from zenml_docker_connector.glue.connector import DockerServiceConnector
from zenml_docker_connector.registry.transport import Timeouts

GOOD = 8


@dataclasses.dataclass
class Bed:
    prefix: str
    silent: SilentListener
    relays: list[TimedRelay]
    wrong: TimedRelay


@pytest.fixture
def bed(htpasswd_registry: Any, no_docker_daemon: None) -> Iterator[Bed]:
    from zenml.client import Client

    registry = htpasswd_registry
    prefix = f"side-{secrets.token_hex(4)}-"
    silent = SilentListener()
    relays = [TimedRelay(("127.0.0.1", registry.port)) for _ in range(GOOD)]
    wrong = TimedRelay(("127.0.0.1", registry.port))
    targets = [("0-silent", silent.host, registry.password), ("1-wrong", wrong.host, "nope")]
    targets += [(f"2-good-{n}", relay.host, registry.password) for n, relay in enumerate(relays)]
    client = Client()
    for name, host, password in targets:
        client.create_service_connector(
            name=prefix + name,
            connector_type="docker",
            auth_method="password",
            configuration={"username": registry.username, "password": password, "registry": host},
            verify=False,
        )
    try:
        yield Bed(prefix, silent, relays, wrong)
    finally:
        for name, _, _ in targets:
            client.delete_service_connector(prefix + name)
        for listener in [silent, wrong, *relays]:
            listener.close()


@pytest.fixture(autouse=True)
def short_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    original = DockerServiceConnector.connection_settings

    def connection_settings(self: DockerServiceConnector) -> Any:
        return dataclasses.replace(
            original(self), timeouts=Timeouts(connect=2.0, read=2.0), deadline=3.0
        )

    monkeypatch.setattr(DockerServiceConnector, "connection_settings", connection_settings)


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _listing(prefix: str) -> tuple[list[Any], list[str]]:
    """What the local store's listing returns for our connectors, and the errors it logs."""
    from zenml.client import Client
    from zenml.models import ServiceConnectorFilter

    handler = _Errors()
    logger = logging.getLogger("zenml.zen_stores.sql_zen_store")
    logger.addHandler(handler)
    try:
        listed = Client().zen_store.list_service_connector_resources(
            ServiceConnectorFilter(name=f"startswith:{prefix}", resource_type="docker-registry")
        )
    finally:
        logger.removeHandler(handler)
    found = [
        (r.name, [(t.resource_type, t.resource_ids, t.error) for t in r.resources]) for r in listed
    ]
    return sorted(found), sorted(handler.messages)


def _overlapped(bed: Bed) -> bool:
    """Whether every other connector's check began before the silent one gave up (in the
    sequential pass, which meets the silent one first, they all begin after)."""
    others = [relay.opened[0] for relay in [*bed.relays, bed.wrong]]
    return all(opened < bed.silent.closed[-1] for opened in others)


def test_listing_checks_side_by_side_with_the_sequential_outcome(
    bed: Bed, htpasswd_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(resource_listing.LISTING_WORKERS_ENV, "1")
    sequential = _listing(bed.prefix)
    assert bed.silent.opened and bed.silent.closed, "the silent registry was never asked"
    assert not _overlapped(bed), "the sequential pass should wait for the silent registry"
    for listener in [bed.silent, bed.wrong, *bed.relays]:
        listener.opened.clear()
    bed.silent.closed.clear()

    monkeypatch.delenv(resource_listing.LISTING_WORKERS_ENV)
    side_by_side = _listing(bed.prefix)
    assert side_by_side == sequential
    assert _overlapped(bed)

    resources, _ = side_by_side
    by_name = dict(resources)
    assert sorted(by_name) == [f"{bed.prefix}{n}" for n in ("0-silent", "1-wrong")] + [
        f"{bed.prefix}2-good-{n}" for n in range(GOOD)
    ]
    for n, relay in enumerate(bed.relays):
        assert by_name[f"{bed.prefix}2-good-{n}"] == [("docker-registry", [relay.host], None)]
    ((_, _, silent_error),) = by_name[f"{bed.prefix}0-silent"]
    ((_, _, wrong_error),) = by_name[f"{bed.prefix}1-wrong"]
    assert "did not answer in time" in silent_error
    assert "rejected the credentials" in wrong_error
    assert_no_secret([repr(side_by_side)], htpasswd_registry.password)


@pytest.mark.e2e
def test_a_server_lists_side_by_side(
    htpasswd_registry: Any, zenml_server: ZenServer, tmp_path: Path
) -> None:
    """Behind a real ZenML server (its own deadline of 30 s, 20 s reads): the other checks
    begin while the silent registry, registered first, still waits."""
    registry = htpasswd_registry
    prefix = f"served-{secrets.token_hex(4)}-"
    silent = SilentListener()
    relays = [TimedRelay(("127.0.0.1", registry.port)) for _ in range(4)]
    hosts = [silent.host, *(relay.host for relay in relays)]
    client = zenml_server.client(tmp_path, plugin=False)
    client.results(
        "from zenml.client import Client\n"
        f"for n, host in enumerate({hosts!r}):\n"
        f"    Client().create_service_connector(name={prefix!r} + str(n), connector_type='docker',"
        " auth_method='password', verify=False, configuration={"
        f"'username': {registry.username!r}, 'password': {registry.password!r},"
        " 'registry': host})\n"
        "emit('registered')\n"
    )
    try:
        query = f"resource_type=docker-registry&name=startswith:{prefix}"
        api = zenml_server.api_get(f"/service_connectors/resources?{query}")
    finally:
        for listener in [silent, *relays]:
            listener.close()
    found = {e["name"]: (e["error"], [r["error"] for r in e["resources"]]) for e in api}
    assert sorted(found) == [f"{prefix}{n}" for n in range(len(hosts))]
    assert all(found[f"{prefix}{n}"] == (None, [None]) for n in range(1, len(hosts))), found
    assert "did not answer in time" in str(found[f"{prefix}0"])
    assert silent.closed and all(relay.opened[0] < silent.closed[-1] for relay in relays)
    assert_no_secret([json.dumps(api), zenml_server.log()], registry.password)


def _register_on(
    server: ZenServer, home: Path, prefix: str, username: str, targets: list[tuple[str, str]]
) -> None:
    """Unverified connectors `prefix + n` on `server` for (registry host, password) pairs."""
    server.client(home, plugin=False).results(
        "from zenml.client import Client\n"
        f"for n, (host, password) in enumerate({targets!r}):\n"
        f"    Client().create_service_connector(name={prefix!r} + str(n), connector_type='docker',"
        " auth_method='password', verify=False, configuration={"
        f"'username': {username!r}, 'password': password, 'registry': host}})\n"
        "emit('registered')\n"
    )


def _served_entries(server: ZenServer, prefix: str) -> dict[str, Any]:
    """What the server's listing endpoint answers, by connector name, ids left out."""
    query = f"resource_type=docker-registry&name=startswith:{prefix}"
    api = server.api_get(f"/service_connectors/resources?{query}")
    return {
        entry["name"]: (
            entry["error"],
            [(r["resource_type"], r["resource_ids"], r["error"]) for r in entry["resources"]],
        )
        for entry in api
    }


@pytest.mark.e2e
def test_a_server_lists_one_by_one_with_the_same_outcome(
    htpasswd_registry: Any,
    zenml_server: ZenServer,
    zenml_server_pool: ZenServerPool,
    tmp_path: Path,
) -> None:
    """The same connectors (silent first, a wrong password, good ones) on the session's server
    (8 workers) and on one started with `LISTING_WORKERS_ENV=1` (ZenML's loop alone): both
    servers list the same entries, errors included."""
    registry = htpasswd_registry
    prefix = f"both-{secrets.token_hex(4)}-"
    silent = SilentListener()
    relays = [TimedRelay(("127.0.0.1", registry.port)) for _ in range(3)]
    targets = [(silent.host, registry.password), (relays[0].host, "nope")]
    targets += [(relay.host, registry.password) for relay in relays[1:]]
    with ThreadPoolExecutor(1) as registering:  # the shared server's, while ours starts
        shared = registering.submit(
            _register_on, zenml_server, tmp_path / "shared", prefix, registry.username, targets
        )
        sequential = zenml_server_pool.private(  # from this thread: it lives as long
            tmp_path / "sequential", extra_env={resource_listing.LISTING_WORKERS_ENV: "1"}
        )
    try:
        shared.result()
        _register_on(sequential, tmp_path / "private", prefix, registry.username, targets)
        side_by_side = _served_entries(zenml_server, prefix)
        for listener in [silent, *relays]:
            listener.opened.clear()
        silent.closed.clear()
        one_by_one = _served_entries(sequential, prefix)
        # ZenML's loop alone: every other check began after the silent one gave up.
        assert silent.closed and all(relay.opened[0] > silent.closed[-1] for relay in relays)
    finally:
        sequential.stop()
        for listener in [silent, *relays]:
            listener.close()
    assert one_by_one == side_by_side
    assert sorted(side_by_side) == [f"{prefix}{n}" for n in range(len(targets))]
    assert "did not answer in time" in str(side_by_side[f"{prefix}0"])
    assert "rejected the credentials" in str(side_by_side[f"{prefix}1"])
    for n, relay in enumerate(relays[1:], start=2):
        assert side_by_side[f"{prefix}{n}"] == (None, [("docker-registry", [relay.host], None)])
    assert_no_secret([repr(side_by_side), sequential.log()], registry.password)
