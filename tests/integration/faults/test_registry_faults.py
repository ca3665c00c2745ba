"""A registry or token service failing mid-check: one clear message, then a later try passes.

Each fault goes through ZenML's CLI in this process (`zenml service-connector verify`), so the
message is the one a user reads. The registry is real distribution behind `FaultyProxy`; the
token service that fails with 500 and 503 is scripted (distribution never does).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import Result

from testbed.factory import Testbed
from testbed.faulty_proxy import FaultyProxy
from testbed.hostile import bearer_pair, raw_controls
from testbed.leaks import assert_no_secret
from testbed.local_http import LocalServer, Reply, Seen, basic_challenge, registry_ok
from testbed.registry import Registry, start_registry
from testbed.secret_scan import register_secret
from testbed.zenml_fixtures import ZenCli, output_of, register_docker_connector
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import RegistryUnreachableError
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.cache import AuthCache
from zenml_docker_connector.registry.transport import ConnectionSettings, Timeouts
from zenml_docker_connector.registry.verification import verify_registry_access

pytestmark = pytest.mark.timeout(120)

TOKEN_PASSWORD = register_secret("Fault-Token-Pw-7f3e91", "token-fault password", ["faulty"])


def assert_one_clear_failure(result: Result, *fragments: str, secret: str) -> str:
    """Non-zero exit through click, no traceback, printable, the fragments, no secret."""
    out = output_of(result)
    assert result.exit_code != 0, out
    assert isinstance(result.exception, SystemExit), out
    assert "Traceback" not in out and not raw_controls(out), out
    flat = " ".join(out.split())
    for fragment in fragments:
        assert fragment in flat, out
    assert_no_secret([out], secret)
    return flat


def assert_verified(result: Result) -> None:
    assert result.exit_code == 0, output_of(result)


@pytest.fixture
def private_registry(testbed: Testbed, tmp_path: Path) -> Iterator[Restartable]:
    """An htpasswd registry of this test alone, since the test stops it."""
    live = Restartable(testbed, tmp_path / "registry")
    yield live
    live.registry.stop()


class Restartable:
    """A private htpasswd registry that `restart()` brings back on the same address."""

    def __init__(self, testbed: Testbed, directory: Path) -> None:
        self.testbed = testbed
        self.registry = self._start(directory)

    def _start(self, directory: Path, old: Registry | None = None) -> Registry:
        address = None
        if old is not None:
            ip, port = old.host.rsplit(":", 1)
            address = (ip, int(port))
        return start_registry(
            "htpasswd",
            directory,
            registry_binary=self.testbed.registry_binary,
            htpasswd_binary=self.testbed.htpasswd_binary,
            password=old.password if old else None,
            address=address,
        )

    def restart(self) -> None:
        self.registry.stop()
        self.registry = self._start(self.registry.directory, self.registry)


def _connector(name: str, registry: Any, netloc: str) -> None:
    """An unverified connector for `registry`'s user, pointed at `netloc` (the proxy)."""
    register_docker_connector(
        name,
        SimpleNamespace(
            username=registry.username, password=registry.password, url=f"http://{netloc}"
        ),
    )


def test_registry_stopped_between_challenge_and_ping_then_restarted(
    zen: ZenCli, unique_name: str, private_registry: Restartable
) -> None:
    registry = private_registry.registry
    ip, port = registry.host.rsplit(":", 1)
    with FaultyProxy((ip, int(port))) as proxy:
        _connector(unique_name, registry, proxy.netloc)
        proxy.on_authorized = registry.stop
        failed = zen("service-connector", "verify", unique_name)
        print("FAULT registry stopped mid-check:", output_of(failed))
        assert_one_clear_failure(failed, proxy.netloc, secret=registry.password)
        assert proxy.on_authorized is None  # it did fire between challenge and ping
        private_registry.restart()
        assert_verified(zen("service-connector", "verify", unique_name))


def test_registry_stopped_before_the_check_then_restarted(
    zen: ZenCli, unique_name: str, private_registry: Restartable
) -> None:
    registry = private_registry.registry
    _connector(unique_name, registry, registry.host)
    registry.stop()
    failed = zen("service-connector", "verify", unique_name)
    print("FAULT registry stopped:", output_of(failed))
    assert_one_clear_failure(failed, registry.host, secret=registry.password)
    private_registry.restart()
    assert_verified(zen("service-connector", "verify", unique_name))


def test_connection_reset_after_the_headers(
    zen: ZenCli, unique_name: str, private_registry: Restartable
) -> None:
    registry = private_registry.registry
    ip, port = registry.host.rsplit(":", 1)
    with FaultyProxy((ip, int(port))) as proxy:
        _connector(unique_name, registry, proxy.netloc)
        proxy.reset_after_headers = True
        failed = zen("service-connector", "verify", unique_name)
        print("FAULT reset after headers:", output_of(failed))
        assert_one_clear_failure(failed, proxy.netloc, secret=registry.password)
        assert not proxy.reset_after_headers
        assert_verified(zen("service-connector", "verify", unique_name))


def test_token_service_answers_500_then_503_then_recovers(zen: ZenCli, unique_name: str) -> None:
    answers = [Reply(500, body=b"internal error"), Reply(503, body=b"unavailable")]

    def token_script(seen: Seen) -> Reply:
        if answers:
            return answers.pop(0)
        return Reply(200, [("Content-Type", "application/json")], b'{"token": "t-ok"}')

    with bearer_pair(token_script) as (registry, token_service):
        user = SimpleNamespace(username="faulty", password=TOKEN_PASSWORD)
        _connector(unique_name, user, registry.netloc)
        for status in (500, 503):
            failed = zen("service-connector", "verify", unique_name)
            print(f"FAULT token service {status}:", output_of(failed))
            assert_one_clear_failure(
                failed, token_service.netloc, "try again later", secret=TOKEN_PASSWORD
            )
        assert_verified(zen("service-connector", "verify", unique_name))


def test_registry_stalling_after_the_headers_then_answering() -> None:
    """Headers, then silence past the read timeout: a reason in words, not urllib3's text.
    (In-process with a 1 s read timeout: through the CLI it would take the default 20 s.)"""
    stalls = [True]

    def script(seen: Seen) -> Reply:
        if stalls:
            stalls.clear()
            return Reply(401, [("WWW-Authenticate", 'Basic realm="r"')], hang_after_headers=True)
        return registry_ok() if "Authorization" in seen.headers else basic_challenge()

    settings = ConnectionSettings(timeouts=Timeouts(connect=2, read=1), deadline=10)
    credentials = Credentials("faulty", TOKEN_PASSWORD)
    with LocalServer(script) as registry:
        reference = parse_registry_reference(registry.netloc)
        with pytest.raises(RegistryUnreachableError) as caught:
            verify_registry_access(reference, credentials, settings=settings, cache=AuthCache())
        message = str(caught.value)
        print("FAULT registry stalls after headers:", message)
        assert registry.netloc in message and not raw_controls(message), message
        assert "stopped answering" in message and "ConnectionPool" not in message, message
        assert ".." not in message, message
        assert_no_secret([message], TOKEN_PASSWORD)
        verify_registry_access(reference, credentials, settings=settings, cache=AuthCache())
