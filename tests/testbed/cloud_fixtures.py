"""pytest plugin: moto's AWS API server and the local ECR stand-in built on it (`ecr`)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from testbed.dockerd import DockerdStartError
from testbed.ecr import EcrBed, start_ecr_bed
from testbed.factory import Testbed
from testbed.fixtures import dockerd_binary
from testbed.hosts_namespace import NamespaceStartError
from testbed.moto_server import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    MotoServer,
    MotoStartError,
    moto_binary,
    start_moto,
)
from testbed.registry import RegistryStartError
from testbed.requirements import require_service
from testbed.secret_scan import register_secret


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto_server on 127.0.0.1; `.env()` points AWS SDKs at it, `.client(service)` is boto3."""
    register_secret(SECRET_ACCESS_KEY, "AWS secret access key (moto)", [ACCESS_KEY_ID])
    binary = moto_binary()
    if binary is None:
        require_service("moto", "moto_server not installed (pip install 'moto[server]')")
    try:
        server = start_moto(binary, tmp_path_factory.mktemp("moto"))
    except MotoStartError as error:
        require_service("moto", str(error))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ecr(
    testbed: Testbed, moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EcrBed]:
    """ECR as ZenML's AWS connector sees it, served locally (see `testbed.ecr`)."""
    binary = dockerd_binary()
    if os.geteuid() != 0:
        require_service("ecr", "a mount namespace and a private dockerd need root")
    try:
        bed = start_ecr_bed(testbed, moto_server, binary, tmp_path_factory.mktemp("ecr"))
    except (NamespaceStartError, RegistryStartError, DockerdStartError) as error:
        require_service("ecr", str(error))
    yield bed
    bed.stop()
