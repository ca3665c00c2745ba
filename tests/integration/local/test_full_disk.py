"""A full disk and a read-only file system: one clear line naming the file and what to do,
and the file untouched (issue 19).

Each case mounts its own 64 KiB tmpfs (root only: elsewhere it skips, under CI=true it fails),
and always unmounts it. `chmod 0500` would not stop root, so read-only is a real `ro` remount.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import crash_writers
from testbed.requirements import require_binary, require_service
from zenml_docker_connector.errors import DockerConnectorError

KINDS = {"docker-config": "config.json", "pull-secret": "pull-secret.yaml"}
ADVICE = {"full": "free space", "read-only": "remount it writable"}


def _mount(*arguments: str) -> None:
    result = subprocess.run(
        [require_binary("mount"), *arguments], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        require_service("mount", f"mount {' '.join(arguments)} failed: {result.stderr.strip()}")


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs of our own at tmp_path/fs, unmounted whatever happens."""
    if os.geteuid() != 0:
        require_service("mount", "mounting a tmpfs needs root")
    directory = tmp_path / "fs"
    directory.mkdir()
    _mount("-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(directory))
    try:
        yield directory
    finally:
        subprocess.run(["umount", str(directory)], check=False, capture_output=True)
        if os.path.ismount(directory):
            subprocess.run(["umount", "-l", str(directory)], check=False, capture_output=True)


def _fill(directory: Path) -> None:
    """Write a filler file until the file system has no byte left."""
    with open(directory / "filler", "wb", buffering=0) as handle:
        block = b"\0" * 4096
        with contextlib.suppress(OSError):
            while True:
                handle.write(block)
    probe = directory / "probe"
    with pytest.raises(OSError) as refused:
        probe.write_bytes(b"x" * 4096)
    probe.unlink(missing_ok=True)
    assert refused.value.errno == errno.ENOSPC


@pytest.mark.parametrize("fault", sorted(ADVICE))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_write_that_cannot_happen_says_so_and_leaves_the_file(
    small_tmpfs: Path, kind: str, fault: str
) -> None:
    path = small_tmpfs / KINDS[kind]
    crash_writers.initial(kind, path)
    before, mode = path.read_bytes(), path.stat().st_mode
    if fault == "full":
        _fill(small_tmpfs)
    else:
        _mount("-o", "remount,ro", str(small_tmpfs))
    names = sorted(p.name for p in small_tmpfs.iterdir())

    with pytest.raises(DockerConnectorError) as failed:
        crash_writers.write(kind, path, 1)

    message = str(failed.value)
    print(f"\n{kind}, {fault}: {message}")
    assert "\n" not in message
    assert str(path) in message
    assert ADVICE[fault] in message.lower(), message
    assert "retry" in message
    assert path.read_bytes() == before
    assert path.stat().st_mode == mode
    assert sorted(p.name for p in small_tmpfs.iterdir()) == names  # no temporary, no lock
