"""`update_json_file` across processes and users: the flock keeps every writer's entry, a
held lock is waited for a bounded time, and another user's symlink in a shared directory is
not followed (issue 19).

The single-process behaviour (modes, symlinks, corrupt files, threads) is unit-tested in
tests/unit/local/test_json_files.py.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from testbed.local_stores import RICH_CONFIG
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local import json_files
from zenml_docker_connector.local.json_files import update_json_file

OTHER_UID = 54321
"""A user that is not us (the test runs as root, which may hand a symlink to anyone)."""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


_CHILD = """
import sys, time
from pathlib import Path
from zenml_docker_connector.local.json_files import update_json_file
path, i, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
while not go.exists():
    time.sleep(0.005)
def mutate(data):
    data.setdefault("auths", {})[f"proc{i}.example:5000"] = {"auth": "dTpw"}
    time.sleep(0.002)  # widen the read-modify-write window
update_json_file(path, mutate)
"""


def test_fifty_processes_lose_no_entry(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(RICH_CONFIG)
    go = tmp_path / "go"
    children = [
        subprocess.Popen([sys.executable, "-c", _CHILD, str(path), str(i), str(go)])
        for i in range(50)
    ]
    go.touch()
    assert [child.wait(timeout=120) for child in children] == [0] * 50
    auths = json.loads(path.read_text())["auths"]
    assert {f"proc{i}.example:5000" for i in range(50)} <= set(auths)
    assert len(auths) == 53
    assert _mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def _sticky_directory(tmp_path: Path) -> Path:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    return shared


@pytest.mark.parametrize("name", ["config.json", "auth.json"])
def test_another_users_symlink_in_a_sticky_directory_is_not_followed(
    tmp_path: Path, name: str
) -> None:
    """`fs.protected_symlinks` does not cover a path we resolve ourselves: we refuse."""
    if os.geteuid() != 0:
        pytest.skip("needs root to hand a symlink to another user")
    victim = tmp_path / "victim.json"
    victim.write_text(RICH_CONFIG)
    before = victim.stat()
    link = _sticky_directory(tmp_path) / name
    link.symlink_to(victim)
    os.lchown(link, OTHER_UID, OTHER_UID)

    with pytest.raises(LocalConfigError, match="symbolic link owned by another user") as caught:
        update_json_file(link, lambda data: data.update(planted=True), what="client file")

    assert str(link) in str(caught.value)
    assert victim.read_text() == RICH_CONFIG and victim.stat().st_ino == before.st_ino
    assert link.is_symlink() and sorted(p.name for p in link.parent.iterdir()) == [name]


def test_our_own_symlink_in_a_sticky_directory_is_followed(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("{}")
    link = _sticky_directory(tmp_path) / "config.json"
    link.symlink_to(target)
    update_json_file(link, lambda data: data.update(a=1))
    assert link.is_symlink() and json.loads(target.read_text()) == {"a": 1}


_HOLDER = """
import sys, time
from pathlib import Path
from zenml_docker_connector.local.json_files import update_json_file
def hold(data):
    Path(sys.argv[2]).touch()
    time.sleep(60)
update_json_file(Path(sys.argv[1]), hold)
"""


def _outcome(path: Path, seconds: float) -> tuple[bool, Exception | None]:
    """(did an update finish within `seconds`, what it raised)."""
    raised: list[Exception | None] = [None]

    def update() -> None:
        try:
            update_json_file(path, lambda data: data.update(mine=True))
        except Exception as error:  # noqa: BLE001 - reported to the test
            raised[0] = error

    worker = threading.Thread(target=update, daemon=True)
    worker.start()
    worker.join(seconds)
    return not worker.is_alive(), raised[0]


def test_a_held_lock_is_waited_for_a_bounded_time_naming_the_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_files, "LOCK_WAIT_SECONDS", 1.0, raising=False)
    path = tmp_path / "config.json"
    path.write_text(RICH_CONFIG)
    holding = tmp_path / "holding"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path), str(holding)])
    try:
        while not holding.exists():
            assert holder.poll() is None
            time.sleep(0.01)
        finished, raised = _outcome(path, 15)
    finally:
        holder.kill()
        holder.wait(10)
    assert finished, "the update waited for the lock for more than 15 s"
    assert isinstance(raised, LocalConfigError), raised
    message = str(raised)
    assert f"process {holder.pid}" in message and "config.json.lock" in message
    assert path.read_text() == RICH_CONFIG
    assert _outcome(path, 15) == (True, None)  # a killed holder leaves nothing in the way
    assert json.loads(path.read_text())["mine"] is True


def test_a_lock_held_by_another_tool_says_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_files, "LOCK_WAIT_SECONDS", 0.5, raising=False)
    path = tmp_path / "config.json"
    descriptor = os.open(path.with_name("config.json.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    try:
        finished, raised = _outcome(path, 15)
    finally:
        os.close(descriptor)
    assert finished, "the update waited for the lock for more than 15 s"
    assert isinstance(raised, LocalConfigError) and "another process" in str(raised), raised
    assert not path.exists()
