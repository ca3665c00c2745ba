"""Atomic replacement: the new content whole, mode set before any byte, nothing left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from zenml_docker_connector.local.atomic import replace_file


def test_the_file_is_replaced_whole_with_the_mode_asked_for(tmp_path: Path) -> None:
    target = tmp_path / "config.json"
    target.write_text("old")
    target.chmod(0o644)
    old_umask = os.umask(0o077)
    try:
        replace_file(target, b"new", 0o600)
    finally:
        os.umask(old_umask)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_a_failed_replacement_changes_nothing_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "in-the-way"
    target.mkdir()
    (target / "kept").write_text("x")
    with pytest.raises(OSError):
        replace_file(target, b"new", 0o600)  # a directory cannot be replaced by a file
    assert (target / "kept").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in-the-way"]


def test_a_missing_directory_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        replace_file(tmp_path / "missing" / "f", b"x", 0o600)
