"""Replacing a user's file atomically, so no reader ever sees half of it or a wider mode.

A temporary file in the same directory gets its mode (and owner) before any byte, is
written and fsynced, then renamed over the target; the directory is fsynced last. Callers
turn the `OSError` into a message of their own (they know what the file is).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def replace_file(
    target: Path, payload: bytes, mode: int, owner: tuple[int, int] | None = None
) -> None:
    """Replace `target` with `payload`; nothing changes if this raises `OSError`."""
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
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


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
