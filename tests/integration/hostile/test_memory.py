"""A hostile server cannot exhaust memory: every answer, redirect replies included, is read
through one bounded reader (issue 11, "Exhaust memory").

Each attack runs in a child process whose address space is capped at its start-up size plus
`BUDGET_MIB` (`testbed.bounded_child`): without the bounds these answers grow to gigabytes
and the child dies. The child reports its peak resident-set growth, which must stay below
`GROWTH_BOUND_MIB`; a hang is stopped by the subprocess timeout.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from testbed.bounded_child import verify_in_child
from testbed.hostile import bearer_pair, bomb, endless_chunked, raw_controls
from testbed.local_http import LocalServer, Reply, Seen, basic_challenge, registry_ok

pytestmark = pytest.mark.timeout(180)

BUDGET_MIB = 256
GROWTH_BOUND_MIB = 32
"""Measured growth is a few MiB (caps: 64 KiB per registry answer, 1 MiB per token answer)."""
PASSWORD = "Memory-Secret-5c1d"


def _registry(attack: Callable[[], Reply]) -> Callable[[Seen], Reply]:
    """A Basic registry whose authenticated `GET /v2/` gets the attack."""

    def script(seen: Seen) -> Reply:
        if "Authorization" not in seen.headers:
            return basic_challenge()
        return attack()

    return script


REGISTRY_ATTACKS = {
    "302 with an endless chunked body": lambda: endless_chunked(302, (("Location", "/v2/"),)),
    "307 with a double-gzip bomb": lambda: bomb(307, headers=(("Location", "/v2/"),)),
    "200 with a double-gzip bomb": lambda: bomb(200),
    "200 with a single-gzip bomb": lambda: bomb(200, layers=1, inflated=32 * 1024**2),
}

TOKEN_ATTACKS = {
    "302 with an endless chunked body": lambda: endless_chunked(302, (("Location", "/token"),)),
    "307 with a double-gzip bomb": lambda: bomb(307, headers=(("Location", "/token"),)),
    "200 with a double-gzip bomb": lambda: bomb(200),
    "401 with a single-gzip bomb": lambda: bomb(401, layers=1, inflated=512 * 1024**2),
}


def _assert_bounded(result: object, error: str, words: str) -> None:
    assert result.error == error, result
    message = result.message
    assert words in message and not raw_controls(message), message
    assert PASSWORD not in message
    assert result.rss_growth_mib < GROWTH_BOUND_MIB, result


@pytest.mark.parametrize("attack", list(REGISTRY_ATTACKS))
def test_registry_answers_are_bounded(attack: str) -> None:
    with LocalServer(_registry(REGISTRY_ATTACKS[attack])) as registry:
        result = verify_in_child(registry.netloc, "user", PASSWORD, budget_mib=BUDGET_MIB)
    _assert_bounded(result, "NotARegistryError", "larger than 64 KiB")


@pytest.mark.parametrize("attack", list(TOKEN_ATTACKS))
def test_token_service_answers_are_bounded(attack: str) -> None:
    with bearer_pair(lambda seen: TOKEN_ATTACKS[attack]()) as (registry, _token):
        result = verify_in_child(registry.netloc, "user", PASSWORD, budget_mib=BUDGET_MIB)
    _assert_bounded(result, "TokenServiceError", "larger than 1024 KiB")


def test_more_than_two_content_encodings_are_refused_unread() -> None:
    with LocalServer(_registry(lambda: bomb(200, layers=3))) as registry:
        result = verify_in_child(registry.netloc, "user", PASSWORD, budget_mib=BUDGET_MIB)
    _assert_bounded(result, "NotARegistryError", "3 layers of content encoding (limit 2)")


def test_a_benign_registry_still_verifies_in_the_same_budget() -> None:
    """The control: the limits leave room for a normal check."""

    def script(seen: Seen) -> Reply:
        if seen.headers.get("Authorization", "").startswith("Basic "):
            return registry_ok()
        return basic_challenge()

    with LocalServer(script) as registry:
        result = verify_in_child(registry.netloc, "user", PASSWORD, budget_mib=BUDGET_MIB)
    assert result.error is None and "accepted" in result.message, result
    assert result.rss_growth_mib < GROWTH_BOUND_MIB
