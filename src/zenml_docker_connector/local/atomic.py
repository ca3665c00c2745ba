"""Replacing a user's file atomically, so no reader ever sees half of it or a wider mode.

A temporary file in the same directory gets its mode (and owner) before any byte, is
written and fsynced, then renamed over the target; the directory is fsynced last. Callers
turn the `OSError` into a message of their own (they know what the file is).

Every file we write (docker's config.json, podman's auth.json, a pull-secret `--file`) is
first resolved with `resolve_for_writing`: a symlink is followed (dotfile managers link
these files), except one that someone else may have planted. The kernel's
`fs.protected_symlinks` guards only paths it resolves itself; resolving a path in user
space and renaming onto the result bypasses it, so we apply its rule ourselves: in a
directory others may write to (a sticky /tmp), a link is followed only when it belongs to
us, to root or to the directory's owner. Anything else is refused, nothing written.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
import time
from pathlib import Path

MAX_SYMLINKS = 40
"""As many links as Linux follows in one path before it reports a loop (ELOOP)."""
TEMP_MARK = ".zdc-"
"""In every temporary name (`.<name>.zdc-XXXXXXXX.tmp`), so a leftover is known as ours."""
STALE_AFTER = 1.0
"""Seconds a temporary file must be old (and unlocked) before a later write removes it."""


class UntrustedSymlinkError(OSError):
    """A symlink another user may have planted: following it writes where they chose."""


def replace_file(
    target: Path, payload: bytes, mode: int, owner: tuple[int, int] | None = None
) -> None:
    """Replace `target` with `payload`; nothing changes if this raises `OSError`.

    The temporary file is flocked while written: a writer killed mid-way (SIGKILL, power
    loss) leaves it behind unlocked, and the next write to `target` sweeps it.
    """
    sweep_stale_temporaries(target)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{target.name}{TEMP_MARK}", suffix=".tmp", dir=target.parent
    )
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            if owner is not None:
                # Keep a file that root updates on a user's behalf (sudo) owned by that user.
                with contextlib.suppress(OSError):
                    os.fchown(handle.fileno(), *owner)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_directory(target.parent)


def sweep_stale_temporaries(target: Path) -> None:
    """Remove temporary files a killed writer left beside `target`: ours by name and owner,
    older than `STALE_AFTER` and locked by nobody (a live writer holds its flock)."""
    prefix, now = f".{target.name}{TEMP_MARK}", time.time()
    with contextlib.suppress(OSError):
        for name in os.listdir(target.parent):
            if name.startswith(prefix) and name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    _remove_if_stale(target.parent / name, now)


def _remove_if_stale(path: Path, now: float) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(descriptor)
        if info.st_uid != os.geteuid() or not stat.S_ISREG(info.st_mode):
            return
        if now - info.st_mtime < STALE_AFTER:
            return  # between mkstemp and flock a live writer holds no lock yet
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: in use
        os.unlink(path)
    finally:
        os.close(descriptor)


def remedy(error: OSError, *, fix: str, elsewhere: str) -> str:
    """What to do about a failed write (`fix` it, or write `elsewhere`): a full or read-only
    file system is not fixed by permissions, so those two get their own advice."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "Free space on its file system (or raise the quota), then retry."
    if error.errno == errno.EROFS:
        return f"Its file system is read-only: remount it writable, or {elsewhere}, then retry."
    return f"{fix[0].upper()}{fix[1:]}, or {elsewhere}, then retry."


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def resolve_for_writing(path: Path) -> Path:
    """`path` with every symlink resolved (as `os.path.realpath` does, missing parts kept as
    written), refusing links another user may have planted; raises `OSError`."""
    resolved = Path("/")
    pending = list(reversed((Path.cwd() / path).parts[1:]))
    hops = 0
    while pending:
        name = pending.pop()
        if name == "..":
            resolved = resolved.parent
            continue
        candidate = resolved / name
        try:
            info = os.lstat(candidate)
        except OSError:  # missing, or not searchable: the write itself will say why
            resolved = candidate
            continue
        if not stat.S_ISLNK(info.st_mode):
            resolved = candidate
            continue
        hops += 1
        if hops > MAX_SYMLINKS:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))
        _require_trusted(candidate, info, resolved)
        link = Path(os.readlink(candidate))
        if link.is_absolute():
            resolved = Path("/")
        pending.extend(reversed(link.parts[1:] if link.is_absolute() else link.parts))
    return resolved


def _require_trusted(link: Path, info: os.stat_result, directory: Path) -> None:
    """The kernel's `protected_symlinks` rule, for the links we follow ourselves; applied in
    every directory a group or others may write to, not only sticky world-writable ones."""
    if info.st_uid in (os.geteuid(), 0):
        return
    holder = os.stat(directory)
    if info.st_uid == holder.st_uid or not holder.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return
    raise UntrustedSymlinkError(
        errno.EPERM,
        f"{link} is a symbolic link owned by another user (uid {info.st_uid}) in a "
        "directory others may write to, so it was not followed: whoever made it would "
        "choose where the file goes",
        str(link),
    )
