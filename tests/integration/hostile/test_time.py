"""A hostile server cannot hold a thread: one deadline bounds the whole verification, and no
lock is held across network I/O (issue 11, "Hold a thread forever").

Servers here drip one byte per second while the read timeout is longer than that, so only
the deadline can stop them. Each test is bounded by a hard pytest timeout; none asserts how
fast anything is.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from testbed.hostile import (
    TcpDripper,
    bearer_pair,
    raw_controls,
    slow_body,
    slow_headers,
    slow_status_line,
)
from testbed.local_http import LocalServer, Reply, Seen, basic_challenge, registry_ok
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import RegistryUnreachableError
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.cache import AuthCache
from zenml_docker_connector.registry.transport import MAX_REDIRECTS, ConnectionSettings, Timeouts
from zenml_docker_connector.registry.verification import verify_registry_access

pytestmark = pytest.mark.timeout(60)

DEADLINE = 2.0
SETTINGS = ConnectionSettings(timeouts=Timeouts(connect=2, read=10), deadline=DEADLINE)
CREDENTIALS = Credentials("user", "Time-Secret-88aa")


def _verify(netloc: str, cache: AuthCache | None = None, **kwargs: Any) -> Any:
    return verify_registry_access(
        parse_registry_reference(netloc),
        kwargs.pop("credentials", CREDENTIALS),
        settings=kwargs.pop("settings", SETTINGS),
        cache=cache if cache is not None else AuthCache(),
        **kwargs,
    )


def _assert_deadline(error: RegistryUnreachableError, url: str) -> None:
    message = str(error)
    assert f"the check took more than {DEADLINE:g} s" in message, message
    assert url in message and not raw_controls(message)


@pytest.mark.parametrize("server", ["registry", "token service"])
@pytest.mark.parametrize(
    "attack",
    [slow_status_line, slow_headers, slow_body],
    ids=["status line", "headers", "body"],
)
def test_an_answer_dripped_byte_by_byte_hits_the_deadline(attack: Any, server: str) -> None:
    if server == "registry":
        context: Any = LocalServer(lambda seen: attack())
    else:
        context = bearer_pair(lambda seen: attack())
    with context as servers, pytest.raises(RegistryUnreachableError) as caught:
        registry, token_service = servers if server != "registry" else (servers, None)
        _verify(registry.netloc)
    url = f"{registry.url}/v2/" if token_service is None else f"{token_service.url}/token"
    _assert_deadline(caught.value, url)


def test_a_tls_handshake_dripped_byte_by_byte_hits_the_deadline() -> None:
    with TcpDripper() as dripper, pytest.raises(RegistryUnreachableError) as caught:
        _verify(f"https://{dripper.netloc}")
    _assert_deadline(caught.value, f"https://{dripper.netloc}/v2/")


def test_one_deadline_covers_every_request_of_a_check() -> None:
    """Each answer comes well before the read timeout; together they pass the deadline (six
    hops of 0.7 s would otherwise end in "redirected more than 5 times")."""

    def script(seen: Seen) -> Reply:
        time.sleep(0.7)
        if seen.path.startswith("/v2/hop"):
            return Reply(307, [("Location", f"/v2/hop{seen.path[-1:]}x")])
        return Reply(307, [("Location", "/v2/hop1")])

    with LocalServer(script) as registry, pytest.raises(RegistryUnreachableError) as caught:
        _verify(registry.netloc)
    assert len(registry.seen) < MAX_REDIRECTS + 1
    assert f"took more than {DEADLINE:g} s" in str(caught.value)


def test_a_hung_check_blocks_neither_other_checks_nor_itself_for_long() -> None:
    """No lock is held across network I/O: while one check hangs on a dripping registry, a
    check of another registry in the same process (same cache) completes, and an identical
    check waits at most its own deadline."""
    cache = AuthCache()

    def good(seen: Seen) -> Reply:
        if seen.headers.get("Authorization") == CREDENTIALS.basic_header():
            return registry_ok()
        return basic_challenge()

    outcomes: list[str] = []

    def hung_check(netloc: str) -> None:
        try:
            _verify(netloc, cache)
        except RegistryUnreachableError as error:
            outcomes.append(str(error))

    with LocalServer(lambda seen: slow_status_line()) as hung, LocalServer(good) as fine:
        first = threading.Thread(target=hung_check, args=(hung.netloc,))
        first.start()
        report = _verify(fine.netloc, cache)
        assert first.is_alive()  # still hanging, yet the other check is done
        assert report.auth_scheme == "basic"
        hung_check(hung.netloc)  # identical: waits for the first, then gives up at its deadline
        first.join(30)
    assert len(outcomes) == 2 and all("took more than" in text for text in outcomes)


def test_a_benign_tls_registry_is_unaffected(testbed: Any) -> None:
    cert = testbed.server_cert

    def script(seen: Seen) -> Reply:
        if seen.headers.get("Authorization") == CREDENTIALS.basic_header():
            return registry_ok()
        return basic_challenge()

    with LocalServer(script, tls=(cert.cert_path, cert.key_path)) as registry:
        report = _verify(
            f"https://{registry.netloc}",
            settings=ConnectionSettings(insecure=True),
        )
    assert report.auth_scheme == "basic" and report.registry_requests == 2
