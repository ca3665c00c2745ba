"""Reading client files strictly, and updating them safely (read-modify-write under a lock).

These files belong to the user and to other tools (docker, podman, credential helpers) and
hold settings we know nothing about. So an update holds an exclusive lock (a `flock` on a
sibling `<name>.lock`, across processes, plus a per-file thread lock; the holder removes the
lock file before releasing it and a waiter whose locked file is gone starts over, so none is
left behind; a waiter gives up after `LOCK_WAIT_SECONDS`, naming the pid the holder wrote),
re-reads the file under it, changes only what the caller changes, and replaces it atomically
(`atomic`, mode 0600). A file that is not a JSON object is refused untouched; a symlink is
followed (unless another user may have planted it: `local.atomic`), so it keeps pointing at
its updated target; key order and every other key survive. Nothing planted in a file's place
can hang us or redirect a write: reads use `O_NONBLOCK` and accept regular files of at most
`MAX_FILE_BYTES` only (a FIFO would block, `/dev/zero` never end); the lock file is opened
`O_NOFOLLOW`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import json
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local.atomic import remedy, replace_file, resolve_for_writing

T = TypeVar("T")

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700
LOCK_SUFFIX = ".lock"
MAX_FILE_BYTES = 8 * 2**20
"""A config.json with thousands of registries is a few hundred kB; more is not a config."""

_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
    stat.S_IFLNK: "a symbolic link",
}

_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def update_json_file(
    path: Path | str,
    mutate: Callable[[dict[str, Any]], T],
    *,
    create_mode: int = FILE_MODE,
    what: str = "config file",
    create_missing: bool = True,
) -> T:
    """`mutate(data)` on the JSON object in `path`, under the lock, written back atomically.

    Nothing is written if `mutate` raises or changes nothing (a missing file is then not
    created). With `create_missing=False` a missing file is neither created nor locked:
    `mutate` sees {} and its changes are dropped (for removals). `what` names the file.
    """
    target = _resolve(Path(path), what)
    if not create_missing and not os.path.lexists(target):
        return mutate({})
    _read_object(target, what)  # a broken file is refused before anything is made beside it
    with _locked(target, what):
        data = _read_object(target, what)
        original = json.dumps(data, ensure_ascii=False)  # key order counts as content
        result = mutate(data)
        if json.dumps(data, ensure_ascii=False) != original:
            try:
                replace_file(target, _payload(data), create_mode, _owner(target))
            except OSError as error:
                raise _os_error(f"The {what} {target}", error) from None
        return result


def read_json(path: Path, *, what: str) -> object | None:
    """The parsed JSON in `path` (any JSON value), None if it does not exist."""
    raw = read_file(path, what=what)
    return None if raw is None else parse_json_text(raw, label=f"The {what} {path}")


def read_file(path: Path, *, what: str) -> bytes | None:
    """The bytes of the regular file `path` (symlinks followed), None if it does not exist."""
    label = f"The {what} {path}"
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as error:
        with contextlib.suppress(OSError):  # a socket cannot be opened: say what it is
            if not stat.S_ISREG(mode := os.stat(path).st_mode):
                raise _not_regular(label, mode) from None
        raise _os_error(label, error) from None
    try:
        _require_regular(descriptor, label)
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise _os_error(label, error) from None
    finally:
        os.close(descriptor)
    if len(raw) > MAX_FILE_BYTES:
        raise _too_large(label)
    return raw


def _require_regular(descriptor: int, label: str) -> None:
    """Refuse what is not a regular file, or is too large to be a client config."""
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        raise _not_regular(label, info.st_mode)
    if info.st_size > MAX_FILE_BYTES:
        raise _too_large(label)


def _not_regular(label: str, mode: int) -> LocalConfigError:
    kind = _KINDS.get(stat.S_IFMT(mode), "not a file")
    return LocalConfigError(
        f"{label} is {kind}, not a regular file, so it was not used or changed. Remove "
        "or rename it, or point the environment at the right file, then retry."
    )


def _too_large(label: str) -> LocalConfigError:
    return LocalConfigError(
        f"{label} is larger than {MAX_FILE_BYTES // 2**20} MiB, which no client config is, "
        "so it was not used or changed. Check what it holds, move it away, then retry."
    )


def parse_json_text(raw: bytes | str, *, label: str) -> object:
    """Parse JSON (empty = {}); the error names where it failed, never the content."""
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise _corrupt(label, "is not UTF-8 text") from None
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise _corrupt(
            label, f"is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    except RecursionError:
        raise _corrupt(label, "is nested too deeply to be a client config") from None
    except ValueError:  # an integer with more digits than Python converts
        raise _corrupt(label, "is not valid JSON (a number is too long)") from None


def _resolve(path: Path, what: str) -> Path:
    """The real file behind `path` (trusted symlinks followed), so we replace the target."""
    try:
        return resolve_for_writing(Path(os.path.expanduser(path)))
    except OSError as error:  # a symlink loop, or one someone else planted
        raise LocalConfigError(
            f"The {what} {path} cannot be resolved ({error.strerror or error}). Fix the "
            "symbolic link, or point the environment at another file."
        ) from None


@contextlib.contextmanager
def _locked(target: Path, what: str) -> Iterator[None]:
    key = str(target)
    with _thread_locks_guard:
        thread_lock = _thread_locks.setdefault(key, threading.Lock())
    with thread_lock:
        _ensure_directory(target.parent, what)
        descriptor = _acquire(target, what)
        try:
            yield
        finally:
            # Removed while still held, so no lock file outlives an update (or a failed one).
            with contextlib.suppress(OSError):
                os.unlink(_lock_path(target))
            os.close(descriptor)  # closing releases the flock


def _lock_path(target: Path) -> Path:
    return target.with_name(target.name + LOCK_SUFFIX)


LOCK_WAIT_SECONDS = 10.0
"""How long an update waits for another process's lock before saying who holds it."""


def _acquire(target: Path, what: str) -> int:
    """flock `<target>.lock` (our pid written in it, for whoever waits), retrying when the
    holder before us removed the file we locked."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        descriptor = _open_lock(target, what)
        _flock_before(descriptor, deadline, target, what)
        try:
            current = os.stat(_lock_path(target), follow_symlinks=False)
        except FileNotFoundError:
            current = None
        locked = os.fstat(descriptor)
        if current is not None and (current.st_dev, current.st_ino) == (
            locked.st_dev,
            locked.st_ino,
        ):
            with contextlib.suppress(OSError):
                os.ftruncate(descriptor, 0)
                os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
            return descriptor
        os.close(descriptor)


def _flock_before(descriptor: int, deadline: float, target: Path, what: str) -> None:
    """Lock `descriptor` exclusively by `deadline`: a holder that keeps the lock longer
    (a hung login, another tool) is an error naming it, not a wait without end."""
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                break
            time.sleep(0.01)
    try:
        holder = os.pread(descriptor, 16, 0).decode("ascii", "replace").strip()
    except OSError:
        holder = ""
    finally:
        os.close(descriptor)
    who = f"process {holder}" if holder.isdigit() else "another process"
    raise LocalConfigError(
        f"The {what} {target} is locked by {who} (lock file {_lock_path(target)}), still "
        f"after {LOCK_WAIT_SECONDS:g} s; nothing was changed. Let it finish (or end it if it "
        "hangs), then retry."
    )


def _open_lock(target: Path, what: str) -> int:
    """Open (or create) `<target>.lock`: never through a symlink, never a FIFO or device."""
    lock_path = _lock_path(target)
    label = f"The lock file {lock_path} for the {what} {target}"
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        descriptor = os.open(lock_path, flags, FILE_MODE)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise LocalConfigError(
                f"{label} is a symbolic link; it was not followed, because a lock file that "
                "points elsewhere would make this login create or change a file there. "
                "Nothing was changed: remove it (nobody else should have made it), then retry."
            ) from None
        if error.errno == errno.EISDIR:
            raise _not_regular(label, stat.S_IFDIR) from None
        raise _os_error(label, error) from None
    try:
        _require_regular(descriptor, label)
    except LocalConfigError:
        os.close(descriptor)
        raise
    return descriptor


def _ensure_directory(directory: Path, what: str) -> None:
    """Create missing directories with mode 0700 (the ones we did not create stay as they are)."""
    missing = itertools.takewhile(lambda d: not d.exists(), (directory, *directory.parents))
    for created in reversed(list(missing)):
        try:
            created.mkdir(mode=DIRECTORY_MODE)
        except FileExistsError:
            continue  # another process was faster
        except OSError as error:
            raise _os_error(f"The directory {created} for the {what}", error) from None
        os.chmod(created, DIRECTORY_MODE)  # mkdir's mode is reduced by the umask


def _read_object(target: Path, what: str) -> dict[str, Any]:
    data = read_json(target, what=what)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _corrupt(f"The {what} {target}", "is not a JSON object")
    return data


def _payload(data: dict[str, Any]) -> bytes:
    """Tab-indented like the docker CLI writes; JSON escapes for what UTF-8 cannot hold."""
    try:
        return (json.dumps(data, indent="\t", ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escape (\ud800) read from the file
        return (json.dumps(data, indent="\t", ensure_ascii=True) + "\n").encode("ascii")


def _owner(target: Path) -> tuple[int, int] | None:
    try:
        info = target.stat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or (info.st_uid, info.st_gid) == (os.geteuid(), os.getegid()):
        return None
    return info.st_uid, info.st_gid


def _corrupt(label: str, problem: str) -> LocalConfigError:
    return LocalConfigError(
        f"{label} {problem}; it was left unchanged. Fix it by hand, or move it away (it may "
        "hold other settings and logins you want to keep), then retry."
    )


def _os_error(subject: str, error: OSError) -> LocalConfigError:
    reason = error.strerror or type(error).__name__
    return LocalConfigError(
        f"{subject} cannot be read or written ({reason}); nothing was changed. "
        + remedy(
            error,
            fix="fix its permissions or ownership",
            elsewhere="point the environment at a writable location",
        )
    )
