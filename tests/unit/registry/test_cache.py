"""The per-process cache: keyed fingerprints, expiring stores, lifetimes, shared checks."""

from __future__ import annotations

import threading

from zenml_docker_connector.registry.cache import (
    CHALLENGE_TTL,
    VERDICT_TTL,
    AuthCache,
    TTLStore,
    default_cache,
    verdict_ttl,
)


def test_fingerprints_are_keyed_and_hide_the_secret() -> None:
    first, second = AuthCache(), AuthCache()
    key = first.fingerprint("verdict", "reg", "user", "S3cret-value")
    assert "S3cret" not in key and len(key) == 64
    assert key == first.fingerprint("verdict", "reg", "user", "S3cret-value")
    assert key != second.fingerprint("verdict", "reg", "user", "S3cret-value")
    assert key != first.fingerprint("verdict", "reg", "user", "S3cret-valuf")
    # Length-prefixed: moving a boundary between parts changes the key.
    assert first.fingerprint("ab", "c") != first.fingerprint("a", "bc")


def test_ttl_store_expiry_and_bound() -> None:
    now = [0.0]
    store: TTLStore[str] = TTLStore(lambda: now[0], max_entries=2)
    store.put("a", "1", 10)
    store.put("b", "2", 0)  # not stored
    assert store.get("a") == "1" and store.get("b") is None
    now[0] = 10
    assert store.get("a") is None
    for name in "xyz":
        store.put(name, name, 5)
    assert len(store) == 2 and store.get("x") is None


def test_verdict_ttl() -> None:
    assert verdict_ttl(None) == 60  # no token
    assert verdict_ttl(300) == 60  # never longer than a verdict
    assert verdict_ttl(60) == 50  # never longer than the token it was checked with
    assert verdict_ttl(5) == 0


def test_flights_let_identical_checks_wait_for_the_first_without_a_lock() -> None:
    flights = AuthCache().verdicts
    assert flights.wait("k", 0.01) == (False, None)  # nothing running: the caller checks itself
    assert flights.lead("k") is True
    assert flights.lead("k") is False  # a second leader runs anyway, unregistered
    woke: list[tuple[bool, Exception | None]] = []
    thread = threading.Thread(target=lambda: woke.append(flights.wait("k", 10)))
    thread.start()
    flights.land("k")
    thread.join(5)
    assert woke == [(True, None)]
    assert flights.wait("k", 0.01) == (False, None) and flights.lead("k") is True


def test_waiters_get_the_error_a_flight_landed_with() -> None:
    flights = AuthCache().verdicts
    flights.lead("k")
    woke: list[tuple[bool, Exception | None]] = []
    thread = threading.Thread(target=lambda: woke.append(flights.wait("k", 10)))
    thread.start()
    failure = ValueError("rejected")
    flights.land("k", failure)
    thread.join(5)
    assert woke == [(True, failure)]


def test_a_flight_that_never_lands_holds_waiters_only_for_their_timeout() -> None:
    flights = AuthCache().verdicts
    flights.lead("k")
    assert flights.wait("k", 0.05) == (True, None)  # returned after the timeout, not blocked


def test_ttl_store_put_replaces_and_refreshes_the_order() -> None:
    now = [0.0]
    store: TTLStore[str] = TTLStore(lambda: now[0], max_entries=2)
    store.put("a", "1", 10)
    store.put("b", "2", 10)
    store.put("a", "3", 10)  # "a" is now the newest
    store.put("c", "4", 10)  # evicts the oldest: "b"
    assert (store.get("a"), store.get("b"), store.get("c")) == ("3", None, "4")
    store.discard("a")
    store.discard("missing")
    assert store.get("a") is None and len(store) == 1
    store.clear()
    assert len(store) == 0


def test_clear_empties_challenges_and_verdicts() -> None:
    cache = AuthCache(clock=lambda: 0.0)
    for store in (cache.challenges, cache.verdicts):
        store.put("k", object(), 10)
    cache.clear()
    assert (len(cache.challenges), len(cache.verdicts)) == (0, 0)


def test_default_cache_is_one_per_process() -> None:
    assert default_cache() is default_cache()
    assert isinstance(default_cache(), AuthCache)


def test_lifetimes() -> None:
    assert VERDICT_TTL == 60.0  # a registry token's default lifetime (README: "60 s")
    assert CHALLENGE_TTL == 600.0
    assert verdict_ttl(VERDICT_TTL + 1000) == VERDICT_TTL
