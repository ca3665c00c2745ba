"""SIGKILL at random points while each kind of file we write is being written (issue 19).

A forked child loops writes of one file (every other entry kept, each write one version
further) and says on stdout which versions finished; the parent kills it 0-30 ms after the
fork. After each kill the file must be the last finished version ("old") or the one in flight
("new"), valid, with every other entry and mode 0600, and the next write must succeed. Temporary
files a kill leaves are unlocked, so a later write sweeps them once `STALE_AFTER` has passed:
none may accumulate.
"""

from __future__ import annotations

import fcntl
import os
import random
import signal
import stat
import time
from collections import Counter
from pathlib import Path

import pytest

from testbed import crash_writers
from zenml_docker_connector.helper import files as helper_files
from zenml_docker_connector.local import atomic

SEED = 19_2026
KILLS_PER_KIND = 44
"""5 kinds x 44 = 220 kills, over the 200 the issue asks for."""
FILE_NAMES = {
    "docker-config": "config.json",
    "podman-auth": "auth.json",
    "pull-secret": "pull-secret.yaml",
    "helper-mapping": "docker-credential-mapping.json",
    "helper-cache": "0000--127.0.0.1_3a5999.json",
}


def _leftovers(directory: Path, target: Path) -> list[str]:
    """Names beside `target` that are not it: temporaries and lock files."""
    return sorted(p.name for p in directory.iterdir() if p.name != target.name)


def _temporaries(directory: Path, target: Path) -> list[str]:
    return [name for name in _leftovers(directory, target) if name.endswith(".tmp")]


def _fork_writer(kind: str, path: Path, start: int) -> tuple[int, int]:
    """A forked child (already importing everything) looping writes; (pid, read end)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_end)
            n = start
            while True:
                n += 1
                crash_writers.write(kind, path, n)
                os.write(write_end, f"{n}\n".encode())
        finally:
            os._exit(1)
    os.close(write_end)
    return pid, read_end


def _read_all(descriptor: int) -> str:
    chunks = []
    while chunk := os.read(descriptor, 65536):
        chunks.append(chunk)
    os.close(descriptor)
    return b"".join(chunks).decode()


def _kill_once(kind: str, path: Path, start: int, delay: float) -> tuple[str, int]:
    """One writer killed `delay` s after it starts; ('old' | 'new', version found)."""
    pid, finished = _fork_writer(kind, path, start)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    versions = [int(line) for line in _read_all(finished).split()]
    assert os.WIFSIGNALED(status), f"{kind}: the writer ended on its own (status {status})"
    last = versions[-1] if versions else start
    found = crash_writers.version(kind, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{kind}: mode changed"
    assert found in (last, last + 1), f"{kind}: version {found}, finished {last}"
    return ("old" if found == last else "new"), found


def _run_kind(kind: str, directory: Path, rng: random.Random) -> tuple[Counter[str], int]:
    """Every kill of one kind; returns the outcomes and the most temporaries seen at once."""
    directory.mkdir(mode=0o700)
    path = directory / FILE_NAMES[kind]
    crash_writers.initial(kind, path)
    outcomes: Counter[str] = Counter()
    most_temporaries, version = 0, crash_writers.version(kind, path)
    for _ in range(KILLS_PER_KIND):
        before = set(_temporaries(directory, path))
        outcome, version = _kill_once(kind, path, version, rng.uniform(0.0, 0.030))
        outcomes[outcome] += 1
        left = set(_temporaries(directory, path))
        outcomes["left a temporary"] += bool(left - before)
        most_temporaries = max(most_temporaries, len(left))
        version += 1  # the next write, here: it must succeed and be whole
        crash_writers.write(kind, path, version)
        assert crash_writers.version(kind, path) == version
    time.sleep(max(atomic.STALE_AFTER, helper_files.STALE_AFTER) + 0.1)
    crash_writers.write(kind, path, version + 1)
    assert _temporaries(directory, path) == [], f"{kind}: stale temporary files were kept"
    return outcomes, most_temporaries


def test_sigkill_during_writes_leaves_every_file_whole(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    print(f"\ncrash-safety seed {SEED} ({KILLS_PER_KIND} kills per file kind)")
    total: Counter[str] = Counter()
    for kind in crash_writers.KINDS:
        outcomes, most = _run_kind(kind, tmp_path / kind, rng)
        total.update(outcomes)
        print(
            f"{kind}: {outcomes['old'] + outcomes['new']} kills, old {outcomes['old']}, new "
            f"{outcomes['new']}; {outcomes['left a temporary']} left a temporary file, at "
            f"most {most} at once before the sweep, none after"
        )
    kills = total["old"] + total["new"]
    print(
        f"total: {kills} kills, old {total['old']}, new {total['new']}, "
        f"{total['left a temporary']} left a temporary file (all swept)"
    )
    assert kills >= 200


@pytest.mark.parametrize("kind", ["docker-config", "helper-cache"])
def test_a_temporary_file_in_use_is_not_swept(tmp_path: Path, kind: str) -> None:
    """A live writer's temporary (flocked) survives another write, however old it is."""
    path = tmp_path / FILE_NAMES[kind]
    crash_writers.initial(kind, path)
    name = (
        f".{path.name}{atomic.TEMP_MARK}live.tmp"
        if kind == "docker-config"
        else (f"{path.name}.1-live.tmp")
    )
    live = tmp_path / name
    live.write_bytes(b"half")
    os.utime(live, (1, 1))
    descriptor = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        crash_writers.write(kind, path, 5)
        assert live.exists()
    finally:
        os.close(descriptor)
    crash_writers.write(kind, path, 6)
    assert not live.exists()
    assert crash_writers.version(kind, path) == 6
