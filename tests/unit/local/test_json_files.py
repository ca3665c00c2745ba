"""`json_files`: locking, atomic replace, modes, symlinks, corrupt files, key order.

Fifty threads race here; fifty processes race in tests/integration/local/test_json_files.py.
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from testbed.local_stores import RICH_CONFIG
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local.json_files import (
    MAX_FILE_BYTES,
    parse_json_text,
    read_json,
    update_json_file,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _add(key: str, value: Any) -> Any:
    def mutate(data: dict[str, Any]) -> None:
        data.setdefault("auths", {})[key] = value

    return mutate


def test_creates_file_0600_and_directory_0700(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "config.json"
    old_umask = os.umask(0o022)
    try:
        assert update_json_file(path, lambda data: data.update(a=1) or "done") == "done"
    finally:
        os.umask(old_umask)
    assert json.loads(path.read_text()) == {"a": 1}
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert _mode(path.parent.parent) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.json"]  # no lock left


def test_existing_directory_mode_is_kept_and_loose_file_mode_is_tightened(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    path = tmp_path / "config.json"
    path.write_text('{"auths": {}}')
    path.chmod(0o644)
    update_json_file(path, _add("r.example", {"auth": "eDp5"}))
    assert _mode(path) == 0o600
    assert _mode(tmp_path) == 0o755


def test_every_other_key_and_the_key_order_survive(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(RICH_CONFIG)
    before = json.loads(RICH_CONFIG)
    update_json_file(path, _add("new.example:5000", {"auth": "bjpw"}))
    after = json.loads(path.read_text())
    assert list(after) == list(before)
    assert list(after["auths"]) == [*before["auths"], "new.example:5000"]
    after["auths"].pop("new.example:5000")
    assert after == before
    assert json.dumps(after) == json.dumps(before)  # order, big ints, floats, unicode
    assert "\u2603" in path.read_text(encoding="utf-8")


def test_replacing_an_existing_entry_keeps_its_position(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(RICH_CONFIG)
    update_json_file(path, _add("zeta.example", {"auth": "bjpw"}))
    assert list(json.loads(path.read_text())["auths"]) == [
        "https://index.docker.io/v1/",
        "zeta.example",
        "alpha.example",
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"auths": {"a": {"auth": "x"}},', "is not valid JSON"),
        (b"[1, 2, 3]", "is not a JSON object"),
        (b'"just a string"', "is not a JSON object"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_a_corrupt_file_is_refused_and_left_byte_identical(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(content)
    path.chmod(0o644)
    before = path.stat()
    called = []
    with pytest.raises(LocalConfigError) as caught:
        update_json_file(path, called.append, what="docker config file")
    message = str(caught.value)
    assert str(path) in message and problem in message
    assert "left unchanged" in message and "retry" in message
    assert called == []
    assert path.read_bytes() == content
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns, _mode(path)) == (
        before.st_ino,
        before.st_mtime_ns,
        0o644,
    )
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_empty_file_counts_as_empty_object(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("  \n")
    update_json_file(path, lambda data: data.update(a=1))
    assert json.loads(path.read_text()) == {"a": 1}


def test_a_failing_mutation_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(RICH_CONFIG)

    def boom(data: dict[str, Any]) -> None:
        data["auths"].clear()
        raise RuntimeError("helper failed")

    with pytest.raises(RuntimeError):
        update_json_file(path, boom)
    assert path.read_text() == RICH_CONFIG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_no_change_means_no_write_and_no_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(RICH_CONFIG)
    inode = path.stat().st_ino
    update_json_file(path, lambda data: None)
    assert path.read_text() == RICH_CONFIG and path.stat().st_ino == inode

    missing = tmp_path / "absent" / "config.json"
    assert update_json_file(missing, lambda data: len(data), create_missing=False) == 0
    assert not missing.parent.exists()


def test_a_symlinked_file_stays_a_symlink_and_its_target_is_updated(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "docker-config.json"
    target.write_text(RICH_CONFIG)
    config_dir = tmp_path / "docker"
    config_dir.mkdir()
    link = config_dir / "config.json"
    link.symlink_to(Path("..") / "dotfiles" / "docker-config.json")  # relative, like stow

    update_json_file(link, _add("linked.example", {"auth": "bDpw"}))

    assert link.is_symlink()
    assert os.readlink(link) == str(Path("..") / "dotfiles" / "docker-config.json")
    assert json.loads(target.read_text())["auths"]["linked.example"] == {"auth": "bDpw"}
    assert _mode(target) == 0o600
    assert sorted(p.name for p in config_dir.iterdir()) == ["config.json"]
    linked = read_json(link, what="docker config file")
    assert isinstance(linked, dict) and linked["auths"]["linked.example"] == {"auth": "bDpw"}


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "config.json"
    link.symlink_to(tmp_path / "store" / "real.json")
    update_json_file(link, lambda data: data.update(a=1))
    assert link.is_symlink()
    assert json.loads((tmp_path / "store" / "real.json").read_text()) == {"a": 1}


def test_a_directory_in_place_of_the_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.mkdir()
    with pytest.raises(LocalConfigError, match="is a directory"):
        update_json_file(path, lambda data: data.update(a=1))


def test_an_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root ignores permissions; a read-only bind is not available here, so use a file
        # where a directory is expected instead.
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("x")
        with pytest.raises(LocalConfigError, match="cannot be read or written"):
            update_json_file(blocker / "config.json", lambda data: data.update(a=1))
        return
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(LocalConfigError, match="cannot be read or written"):
            update_json_file(tmp_path / "config.json", lambda data: data.update(a=1))
    finally:
        tmp_path.chmod(0o700)


def test_fifty_threads_lose_no_entry(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(RICH_CONFIG)
    barrier = threading.Barrier(50)

    def worker(i: int) -> None:
        barrier.wait()
        update_json_file(path, _add(f"thread{i}.example:5000", {"auth": "dTpw"}))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    auths = json.loads(path.read_text())["auths"]
    assert {f"thread{i}.example:5000" for i in range(50)} <= set(auths)
    assert len(auths) == 53
    assert _mode(path) == 0o600


def test_read_json_reads_any_json_value_and_none_for_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    assert read_json(path, what="containers auth file") is None
    path.write_text("[1, 2]")
    assert read_json(path, what="containers auth file") == [1, 2]
    path.write_bytes(b"\xef\xbb\xbf{}")  # a UTF-8 byte order mark, as Windows editors write
    assert read_json(path, what="containers auth file") == {}


def test_read_json_errors_name_the_file_and_the_problem_never_the_content(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text('{"auths": {"r": {"auth": "c2VjcmV0"}}')
    with pytest.raises(LocalConfigError) as caught:
        read_json(path, what="containers auth file")
    message = str(caught.value)
    assert f"The containers auth file {path} is not valid JSON" in message
    assert "left unchanged" in message and "c2VjcmV0" not in message
    path.unlink()
    path.mkdir()
    with pytest.raises(LocalConfigError, match="is a directory, not a regular file"):
        read_json(path, what="containers auth file")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", {}), ("  \n", {}), (b"{}", {}), ('{"a": [1]}', {"a": [1]}), ("3", 3)],
)
def test_parse_json_text(raw: str | bytes, expected: object) -> None:
    assert parse_json_text(raw, label="The environment variable X") == expected


def test_parse_json_text_errors_use_the_label() -> None:
    with pytest.raises(LocalConfigError, match=r"^The environment variable X is not valid JSON"):
        parse_json_text('{"auths": ', label="The environment variable X")
    with pytest.raises(LocalConfigError, match=r"^The environment variable X is not UTF-8 text"):
        parse_json_text(b"\xff", label="The environment variable X")


# --- files that hang or redirect writes ------------------------------------------------------


@pytest.mark.timeout(20)
def test_a_fifo_in_place_of_the_file_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    os.mkfifo(path)
    with pytest.raises(LocalConfigError) as caught:
        update_json_file(path, _add("r.example", {}), what="docker config file")
    message = str(caught.value)
    assert f"The docker config file {path} is a FIFO (named pipe), not a regular file" in message
    with pytest.raises(LocalConfigError, match="is a FIFO"):
        read_json(path, what="docker config file")
    assert stat.S_ISFIFO(os.lstat(path).st_mode)
    # The lock was released: once the FIFO is gone, the next update works.
    path.unlink()
    update_json_file(path, _add("r.example", {}))
    assert json.loads(path.read_text()) == {"auths": {"r.example": {}}}


def test_a_symlinked_lock_file_is_refused_and_its_target_not_created(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(RICH_CONFIG)
    planted = tmp_path / "elsewhere" / "created-by-login"
    planted.parent.mkdir()
    (tmp_path / "config.json.lock").symlink_to(planted)
    with pytest.raises(LocalConfigError) as caught:
        update_json_file(path, _add("r.example", {}), what="docker config file")
    message = str(caught.value)
    assert f"The lock file {tmp_path / 'config.json.lock'}" in message
    assert "is a symbolic link" in message and "remove it" in message
    assert not planted.exists()
    assert path.read_text() == RICH_CONFIG


@pytest.mark.timeout(20)
def test_a_fifo_lock_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    os.mkfifo(tmp_path / "config.json.lock")
    with pytest.raises(LocalConfigError, match="is a FIFO"):
        update_json_file(path, _add("r.example", {}), what="docker config file")
    assert not path.exists()


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(LocalConfigError, match=f"larger than {MAX_FILE_BYTES // 2**20} MiB"):
        read_json(path, what="docker config file")
    with pytest.raises(LocalConfigError, match="larger than"):
        update_json_file(path, _add("r.example", {}))
    assert path.stat().st_size == MAX_FILE_BYTES + 1


def test_a_device_in_place_of_the_file_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "config.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(LocalConfigError, match="is a character device, not a regular file"):
        read_json(link, what="docker config file")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("[" * 100_000 + "]" * 100_000, "is nested too deeply"),
        ('{"n": ' + "9" * 5_000 + "}", "is not valid JSON (a number"),
    ],
)
def test_json_python_cannot_hold_is_a_clear_error(raw: str, problem: str) -> None:
    with pytest.raises(LocalConfigError, match=re.escape(problem)):
        parse_json_text(raw, label="The docker config file /x/config.json")


def test_a_lone_surrogate_escape_survives_a_rewrite(tmp_path: Path) -> None:
    """JSON may escape half a UTF-16 pair; UTF-8 cannot hold it, the JSON escape can."""
    path = tmp_path / "config.json"
    path.write_text('{"note": "\\ud800", "auths": {}}')
    update_json_file(path, _add("r.example", {}))
    data = json.loads(path.read_text())
    assert data == {"note": "\ud800", "auths": {"r.example": {}}}


def test_a_symlink_to_a_device_is_refused_before_any_lock_is_made(tmp_path: Path) -> None:
    link = tmp_path / "config.json"
    link.symlink_to("/dev/null")
    with pytest.raises(LocalConfigError, match="is a character device, not a regular file"):
        update_json_file(link, _add("r.example", {}), what="docker config file")
    assert not Path("/dev/null.lock").exists()
