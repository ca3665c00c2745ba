"""Manifest text (YAML, JSON) and the private file it is written to."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from zenml_docker_connector.errors import DockerConnectorError
from zenml_docker_connector.kubernetes.render import render, write_private_file

MANIFEST = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {
        "name": "regcred",
        "annotations": {"zenml.io/service-connector-name": "a: b # not a comment\n- [x]"},
    },
    "type": "kubernetes.io/dockerconfigjson",
    "data": {".dockerconfigjson": "eyJhdXRocyI6e319"},
}


@pytest.mark.parametrize("output", ["yaml", "json"])
def test_both_formats_read_back_to_the_same_manifest(output: str) -> None:
    text = render(MANIFEST, output)
    assert text.endswith("\n")
    parsed = yaml.safe_load(text) if output == "yaml" else json.loads(text)
    assert parsed == MANIFEST


def test_yaml_keeps_kubernetes_field_order() -> None:
    lines = render(MANIFEST, "yaml").splitlines()
    assert lines[:2] == ["apiVersion: v1", "kind: Secret"]


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="yaml, json"):
        render(MANIFEST, "toml")


def test_file_is_private_and_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("old content that is longer than the new one " * 10)
    os.chmod(path, 0o644)

    written = write_private_file(path, "new\n")

    assert written == path and path.read_text() == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.yaml"]  # no temporary left


def test_a_symlinked_file_keeps_its_link(tmp_path: Path) -> None:
    target = tmp_path / "real.yaml"
    target.write_text("x")
    link = tmp_path / "link.yaml"
    link.symlink_to(target)

    write_private_file(link, "y\n")

    assert link.is_symlink() and target.read_text() == "y\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DockerConnectorError, match="does not exist"):
        write_private_file(tmp_path / "nope" / "secret.yaml", "x")


def test_a_failed_replace_writes_nothing_and_leaves_no_temporary(tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(DockerConnectorError, match="nothing was written"):
        write_private_file(tmp_path / "secret.yaml", "x")
    assert [p.name for p in tmp_path.iterdir()] == ["secret.yaml"]
