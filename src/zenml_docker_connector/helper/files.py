"""Private files: read only what is ours and nobody else can write; write atomically, 0600.

A mapping or cache file that another user owns or can write could point docker at another
connector's credentials or feed it planted ones, so such a file is refused, never trusted.
Reads do not follow symlinks, never block on a FIFO and stop at a size no such file reaches.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time

from zenml_docker_connector.errors import DockerConnectorError

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


class HelperError(DockerConnectorError):
    """A failure the helper reports as one line on stdout (the protocol's channel) and exit 1."""


def read_private(path: str, *, what: str, limit: int) -> bytes | None:
    """The bytes of `path`, None if it does not exist; refused unless private and ours."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise HelperError(f"the {what} {path} is a symbolic link; refused") from None
        raise HelperError(f"the {what} {path} cannot be read ({error.strerror})") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise HelperError(f"the {what} {path} is not a regular file; refused")
        check_private(path, info, what=what)
        raw = os.read(descriptor, limit + 1)
    finally:
        os.close(descriptor)
    if len(raw) > limit:
        raise HelperError(f"the {what} {path} is larger than {limit} bytes; refused")
    return raw


def check_private(path: str, info: os.stat_result, *, what: str) -> None:
    """Refuse what another user owns, or what group or others may write."""
    if info.st_uid != os.geteuid():
        raise HelperError(
            f"the {what} {path} belongs to another user (uid {info.st_uid}); refused. "
            "Remove it, then run `zenml-docker configure-docker` again"
        )
    if info.st_mode & 0o022:
        raise HelperError(
            f"the {what} {path} can be written by other users (mode "
            f"{stat.S_IMODE(info.st_mode):04o}); refused. Remove it, then run "
            "`zenml-docker configure-docker` again"
        )


def private_directory(path: str, *, what: str, create: bool) -> bool:
    """True when `path` is a directory of ours that only we can enter; False if missing.

    With `create` a missing directory is made (0700). One that exists but is shared, or is
    not a directory, is refused.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if not create:
            return False
        try:  # noqa: SIM105 - contextlib is not loaded at start-up; a warm `get` avoids it
            os.mkdir(path, DIRECTORY_MODE)
        except FileExistsError:
            pass  # another helper was faster; checked below
        info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise HelperError(f"the {what} {path} is not a directory; refused")
    if info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise HelperError(
            f"the {what} {path} is not private to this user (owner uid {info.st_uid}, mode "
            f"{stat.S_IMODE(info.st_mode):04o}); refused. Remove it, then retry"
        )
    return True


def write_private(path: str, payload: bytes) -> None:
    """Replace `path` with `payload`: a 0600 temporary file beside it, then a rename.

    The temporary file is flocked while written, so one a killed helper left behind is
    known by its free lock and removed by the next write (`sweep_stale`).
    """
    sweep_stale(path)
    temporary = f"{path}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(temporary, flags, FILE_MODE)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.fchmod(descriptor, FILE_MODE)
        view = memoryview(payload)
        while view:
            view = view[os.write(descriptor, view) :]
        os.replace(temporary, path)
        os.close(descriptor)
        descriptor = -1
    except BaseException:
        if descriptor >= 0:
            os.close(descriptor)
        try:  # noqa: SIM105 - see private_directory
            os.unlink(temporary)
        except OSError:
            pass
        raise


STALE_AFTER = 1.0
"""Seconds a temporary file must be old (and unlocked) before a later write removes it."""


def sweep_stale(path: str) -> None:
    """Remove the temporary files of `path` that killed writers left: ours, older than
    `STALE_AFTER`, locked by nobody (a live writer holds its flock from the start)."""
    directory, prefix = os.path.split(path)
    now = time.time()
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return
    for name in names:
        if name.startswith(prefix + ".") and name.endswith(".tmp"):
            try:  # noqa: SIM105 - see private_directory
                _remove_if_stale(os.path.join(directory, name), now)
            except OSError:
                pass  # in use, already gone, or not ours to remove


def _remove_if_stale(temporary: str, now: float) -> None:
    descriptor = os.open(temporary, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(descriptor)
        if info.st_uid != os.geteuid() or not stat.S_ISREG(info.st_mode):
            return
        if now - info.st_mtime < STALE_AFTER:
            return  # a live writer between open and flock holds no lock yet
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: in use
        os.unlink(temporary)
    finally:
        os.close(descriptor)


def remove(path: str) -> None:
    try:  # noqa: SIM105 - see private_directory
        os.unlink(path)
    except FileNotFoundError:
        pass
