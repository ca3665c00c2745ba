"""Atomic replacement: the new content whole, mode set before any byte, nothing left behind;
paths resolved like realpath, except through a symlink someone else may have planted."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from zenml_docker_connector.local.atomic import (
    UntrustedSymlinkError,
    replace_file,
    resolve_for_writing,
)


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


def test_paths_resolve_like_realpath(tmp_path: Path) -> None:
    """Relative and absolute links, `..` after a link, chains and missing parts."""
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "abs").symlink_to(tmp_path / "real" / "sub")
    (tmp_path / "rel").symlink_to(Path("real") / "sub")
    (tmp_path / "chain").symlink_to("rel")
    for given in (
        tmp_path / "abs" / "config.json",
        tmp_path / "chain" / "config.json",
        tmp_path / "rel" / ".." / "sub" / "missing" / "x.json",
        tmp_path / "dangling",
    ):
        assert resolve_for_writing(given) == Path(os.path.realpath(given)), given


def test_a_symlink_loop_is_an_os_error(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        resolve_for_writing(tmp_path / "a")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand a symlink to another user")
@pytest.mark.parametrize(
    ("mode", "owner", "followed"),
    [
        (0o1777, 54321, False),  # another user's link in a sticky /tmp
        (0o0777, 54321, False),  # in any directory others may write to
        (0o1770, 54321, False),  # or a group may write to
        (0o0755, 54321, True),  # only the directory's owner (root, us) could have put it there
        (0o1777, 0, True),  # root's own links are as trusted as root
    ],
)
def test_links_someone_else_may_have_planted_are_refused(
    tmp_path: Path, mode: int, owner: int, followed: bool
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, mode)
    link = shared / "secret.yaml"
    link.symlink_to(tmp_path / "victim")
    os.lchown(link, owner, owner)
    parent = shared / "dir"
    parent.symlink_to(tmp_path)
    os.lchown(parent, owner, owner)
    for given, target in ((link, tmp_path / "victim"), (parent / "x.json", tmp_path / "x.json")):
        if followed:
            assert resolve_for_writing(given) == target
        else:
            with pytest.raises(UntrustedSymlinkError, match="owned by another user"):
                resolve_for_writing(given)
