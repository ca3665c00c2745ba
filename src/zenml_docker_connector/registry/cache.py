"""Per-process memory: verification verdicts, with the checks in progress, and challenges.

ZenML calls `_verify` up to three times for one `get_connector_client()` + `connect()`; the
verdict store makes that one exchange, and lets identical concurrent checks share one
(`Verdicts`). Keys are an HMAC-SHA256 (random per-process key) of registry and credentials:
no secret is kept in clear, and fingerprints mean nothing outside this process.

Lifetimes: a verdict lives `VERDICT_TTL` = 60 s (a registry token's default lifetime) and never
longer than its token (minus `TOKEN_MARGIN`), so a password changed in the registry is noticed
within a minute by a long-running ZenML server. Challenges change only when the registry is
reconfigured: they live `CHALLENGE_TTL` = 10 min and are dropped when an answer contradicts
them; they are the one other store because they save counted requests (the ping of every
re-check, the refused POST of a token service without OAuth2). Tokens are not kept (none
outlives a verdict it could save a request for); failures are never cached, except one: a
registry out of reach from here (no connection, no answer in time) is remembered
`UNREACHABLE_TTL` = 60 s for cached checks, so a silent registry costs one deadline a minute.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

VERDICT_TTL = 60.0
UNREACHABLE_TTL = 60.0
CHALLENGE_TTL = 600.0
TOKEN_MARGIN = 10.0
MAX_ENTRIES = 512

T = TypeVar("T")


class TTLStore(Generic[T]):
    """A small thread-safe map whose entries expire; the oldest go first when full."""

    def __init__(self, clock: Callable[[], float], max_entries: int = MAX_ENTRIES) -> None:
        self._clock = clock
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float, T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> T | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            expires, value = found
            if self._clock() >= expires:
                del self._entries[key]
                return None
            return value

    def put(self, key: str, value: T, ttl: float) -> None:
        if ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def discard(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    error: Exception | None = None


class Verdicts(TTLStore[T]):
    """Verdicts, and the checks in progress by the same key, so that identical concurrent
    checks make one exchange.

    No lock is held while a check talks to the network: the first check of a key registers
    a flight and lands it when done; the others wait for it for at most their own deadline,
    then take its outcome: the verdict it left here, or the error it ended with (so a burst
    of identical checks of wrong credentials costs the registry one exchange too).
    """

    def __init__(self, clock: Callable[[], float], max_entries: int = MAX_ENTRIES) -> None:
        super().__init__(clock, max_entries)
        self._flights: dict[str, _Flight] = {}
        self._guard = threading.Lock()

    def lead(self, key: str) -> bool:
        """Register a check of `key`; False when one is already running (run anyway)."""
        with self._guard:
            if key in self._flights:
                return False
            self._flights[key] = _Flight()
            return True

    def land(self, key: str, error: Exception | None = None) -> None:
        """The leading check of `key` is done (with `error` if it failed): wake the waiters."""
        with self._guard:
            flight = self._flights.pop(key, None)
        if flight is not None:
            flight.error = error
            flight.done.set()

    def wait(self, key: str, timeout: float) -> tuple[bool, Exception | None]:
        """Wait up to `timeout` s for a running check of `key`.

        Returns whether one was running, and the error it ended with (None: it succeeded,
        or is still running after `timeout`).
        """
        with self._guard:
            flight = self._flights.get(key)
        if flight is None:
            return False, None
        flight.done.wait(timeout)
        return True, flight.error


class AuthCache:
    """Verdicts (with the checks in progress) and challenges."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._key = secrets.token_bytes(32)
        self.challenges: TTLStore[object] = TTLStore(clock)
        self.verdicts: Verdicts[object] = Verdicts(clock)

    def fingerprint(self, *parts: object) -> str:
        """Keyed hash of `parts` (strings, numbers, None, bools): safe to keep and log."""
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        for part in parts:
            encoded = repr(part).encode("utf-8", "surrogatepass")
            mac.update(len(encoded).to_bytes(8, "big"))
            mac.update(encoded)
        return mac.hexdigest()

    def clear(self) -> None:
        self.challenges.clear()
        self.verdicts.clear()


_default = AuthCache()


def default_cache() -> AuthCache:
    return _default


def verdict_ttl(token_remaining: float | None) -> float:
    """A verdict's lifetime, given its token's seconds left (None: no token)."""
    if token_remaining is None:
        return VERDICT_TTL
    return max(0.0, min(token_remaining - TOKEN_MARGIN, VERDICT_TTL))
