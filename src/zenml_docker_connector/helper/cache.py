"""Credentials kept for a short while in the user's runtime directory, never on disk.

Where: `$XDG_RUNTIME_DIR/zenml-docker-credentials/` (else `/run/user/<uid>` when it exists),
only when that directory is private to the user and on a memory file system (tmpfs,
ramfs); otherwise there is no cache and every `get` asks ZenML. One 0600 file per
(registry, connector).

How long: an entry serves until the credential's expiry less a margin (a quarter of its
remaining life, at most `MAX_MARGIN`), and in any case only until `RECHECK_AFTER` from when
ZenML last vouched for it. Then ZenML is asked whether the connector's `updated` time is still
the same: if so the entry is re-armed without a new credential, if not (or the connector is
gone) it is replaced or dropped. So a static password is served for `RECHECK_AFTER` at most
without asking, and a changed or deleted connector stops being served within that bound.

Races: a refresh holds an exclusive lock on the entry's `.lock` file, and whoever waited
re-reads the entry under it, so two helpers refreshing one entry make one fetch.
"""

from __future__ import annotations

import fcntl
import json
import os
import time

from zenml_docker_connector.helper.files import (
    FILE_MODE,
    HelperError,
    private_directory,
    read_private,
    remove,
    write_private,
)

CACHE_DIR_NAME = "zenml-docker-credentials"
WHAT = "credential cache"
RECHECK_AFTER = 300.0
"""Seconds an entry serves before ZenML is asked again whether the connector changed."""
RECHECK_ENV = "ZENML_DOCKER_CREDENTIAL_CACHE_SECONDS"
"""Overrides `RECHECK_AFTER` (0: ask ZenML on every `get`)."""
MAX_MARGIN = 300.0
MAX_ENTRY_BYTES = 64 * 1024
MEMORY_FILESYSTEMS = frozenset(("tmpfs", "ramfs"))


class Entry:
    """A cached credential: whose, until when it serves, the connector version it came from."""

    __slots__ = ("expires", "recheck", "secret", "updated", "username")

    def __init__(
        self, username: str, secret: str, updated: str, expires: float, recheck: float
    ) -> None:
        self.username = username
        self.secret = secret
        self.updated = updated
        self.expires = expires
        """Epoch seconds after which the credential is not handed out (expiry less margin)."""
        self.recheck = recheck
        """Epoch seconds after which ZenML is asked whether the connector changed."""

    def __repr__(self) -> str:
        return f"Entry(username={self.username!r}, expires={self.expires}, recheck={self.recheck})"

    def fresh(self, now: float) -> bool:
        return now < self.expires and now < self.recheck

    def usable(self, now: float) -> bool:
        """Still valid as a credential (so worth re-arming if the connector did not change)."""
        return now < self.expires

    def as_json(self) -> bytes:
        fields = {
            "username": self.username,
            "secret": self.secret,
            "updated": self.updated,
            "expires": self.expires,
            "recheck": self.recheck,
        }
        return json.dumps(fields).encode("utf-8")


def recheck_after() -> float:
    """`RECHECK_AFTER`, or the environment's value (never more: it bounds staleness)."""
    raw = os.environ.get(RECHECK_ENV, "").strip()
    try:
        value = float(raw) if raw else RECHECK_AFTER
    except ValueError:
        return RECHECK_AFTER
    return min(max(value, 0.0), RECHECK_AFTER)


def serve_until(expires_at: float | None, now: float) -> float:
    """Until when a credential expiring at `expires_at` (None: never) may be handed out."""
    if expires_at is None:
        return float("inf")
    margin = min(MAX_MARGIN, max(0.0, expires_at - now) / 4)
    return expires_at - margin


def runtime_directory() -> str | None:
    """The user's private runtime directory, None when there is none."""
    configured = os.environ.get("XDG_RUNTIME_DIR")
    if configured:
        return configured
    fallback = f"/run/user/{os.geteuid()}"
    return fallback if os.path.isdir(fallback) else None


class Store:
    """The cache directory; `open_store` makes one only where a cache may live."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def entry_path(self, registry: str, connector_id: str) -> str:
        safe = "".join(ch if ch.isalnum() or ch in ".-" else f"_{ord(ch):02x}" for ch in registry)
        return os.path.join(self.directory, f"{connector_id}--{safe}.json")

    def load(self, path: str) -> Entry | None:
        """The entry at `path`; None when missing or unreadable as one (then it is replaced)."""
        raw = read_private(path, what=WHAT, limit=MAX_ENTRY_BYTES)
        if raw is None:
            return None
        try:
            data = json.loads(raw.decode("utf-8"))
            entry = Entry(
                data["username"], data["secret"], data["updated"], data["expires"], data["recheck"]
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
            return None
        if not _well_typed(entry):
            return None
        return entry

    def save(self, path: str, entry: Entry) -> None:
        write_private(path, entry.as_json())

    def drop(self, path: str) -> None:
        remove(path)

    def drop_connector(self, connector_id: str) -> None:
        """Every entry of one connector (configure-docker --undo, a deleted connector)."""
        for name in os.listdir(self.directory):
            if name.startswith(f"{connector_id}--"):
                remove(os.path.join(self.directory, name))

    def lock(self, path: str) -> int:
        """Take the entry's lock (blocking); release it with `unlock`."""
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            descriptor = os.open(path + ".lock", flags, FILE_MODE)
        except OSError as error:
            raise HelperError(
                f"the {WHAT} lock {path}.lock cannot be opened ({error.strerror})"
            ) from None
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        return descriptor

    @staticmethod
    def unlock(descriptor: int) -> None:
        os.close(descriptor)


def _well_typed(entry: Entry) -> bool:
    return (
        isinstance(entry.username, str)
        and isinstance(entry.secret, str)
        and isinstance(entry.updated, str)
        and isinstance(entry.expires, (int, float))
        and isinstance(entry.recheck, (int, float))
    )


def open_store(*, create: bool) -> Store | None:
    """The cache, None where none may live: no runtime directory, one that is not private to
    this user, or one on a disk. A cache directory of ours that is not private is refused."""
    runtime = runtime_directory()
    if runtime is None:
        return None
    try:
        info = os.stat(runtime)
    except OSError:
        return None
    if info.st_uid != os.geteuid() or info.st_mode & 0o077:
        return None  # not a private runtime directory: no cache rather than a shared one
    directory = os.path.join(runtime, CACHE_DIR_NAME)
    if not create:
        return Store(directory) if private_directory(directory, what=WHAT, create=False) else None
    if not on_memory_filesystem(runtime):
        return None  # a disk: credentials are not written there
    private_directory(directory, what=f"{WHAT} directory", create=True)
    return Store(directory)


def on_memory_filesystem(path: str) -> bool:
    """True when `path` lies on tmpfs or ramfs (per /proc/self/mounts), so never on disk."""
    target = os.path.realpath(path)
    best, kind = "", ""
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) < 3:
                    continue
                point = _unescape(fields[1])
                inside = target == point or target.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):
                    best, kind = point, fields[2]
    except OSError:
        return False
    return kind in MEMORY_FILESYSTEMS


def _unescape(field: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as octal escapes."""
    for code in ("\\040", "\\011", "\\012", "\\134"):
        field = field.replace(code, chr(int(code[1:], 8)))
    return field


def remember(
    registry: str,
    connector_id: str,
    username: str,
    secret: str,
    updated: str,
    expires_at: float | None,
) -> bool:
    """Seed the cache with credentials just fetched (configure-docker, exec); False: no cache."""
    store = open_store(create=True)
    if store is None:
        return False
    now = time.time()
    entry = Entry(username, secret, updated, serve_until(expires_at, now), now + recheck_after())
    path = store.entry_path(registry, connector_id)
    lock = store.lock(path)
    try:
        store.save(path, entry)
    finally:
        store.unlock(lock)
    return True


def forget(connector_id: str) -> None:
    """Drop every cached credential of a connector."""
    store = open_store(create=False)
    if store is not None:
        store.drop_connector(connector_id)
