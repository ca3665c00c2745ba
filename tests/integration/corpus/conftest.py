"""What every corpus runner shares: the files a bad input must leave untouched."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from testbed.corpus import CorpusRun
from testbed.local_stores import isolate_client_files
from testbed.zenml_fixtures import ZenCli


@pytest.fixture(scope="session")
def zenml_store() -> Path:
    """ZenML's home, its store created (the first command would otherwise create it)."""
    from zenml.client import Client

    Client().zen_store.get_store_info()
    return Path(os.environ["ZENML_CONFIG_PATH"])


@pytest.fixture
def watched(
    zenml_store: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    docker_config_dir: Path,
    containers_auth_file: Path,
    no_docker_daemon: None,
    no_podman: str,
) -> tuple[Path, ...]:
    """Client files isolated under tmp_path; returns the roots to fingerprint (ZenML's too)."""
    isolate_client_files(tmp_path, monkeypatch)
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(containers_auth_file))
    return (tmp_path, zenml_store)


@pytest.fixture
def run(
    zen: ZenCli, unique_name: str, new_secret: Callable[..., str], watched: tuple[Path, ...]
) -> CorpusRun:
    return CorpusRun(zen, unique_name, new_secret("corpus password"), watched)
