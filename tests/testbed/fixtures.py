"""pytest plugin: real registries, a token server, dockerd, a credential helper, isolation.

Services are session-scoped and shared; tests take `reg.mark()` before acting and read
`reg.requests_since(mark)` afterwards instead of getting a fresh service each.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.credential_helper import CredentialHelper
from testbed.dockerd import Dockerd, DockerdStartError, import_tiny_image, start_dockerd
from testbed.factory import Testbed
from testbed.isolation import filtered_path
from testbed.registry import Kind, Registry, RegistryStartError
from testbed.requirements import require_binary, require_service
from testbed.token_server import TokenServer


@pytest.fixture(scope="session")
def testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Testbed]:
    """The service tracker; `testbed.registry(kind)` starts an extra, private registry."""
    bed = Testbed(
        root=tmp_path_factory.mktemp("testbed"),
        registry_binary=require_binary("docker-registry", "docker-registry"),
        htpasswd_binary=require_binary("htpasswd", "apache2-utils"),
    )
    yield bed
    bed.stop()


def _start(testbed: Testbed, kind: Kind, token_server: TokenServer | None = None) -> Registry:
    try:
        return testbed.registry(kind, token_server=token_server)
    except RegistryStartError as error:
        require_service("docker-registry", str(error))


@pytest.fixture(scope="session")
def htpasswd_registry(testbed: Testbed) -> Registry:
    """Plain HTTP, htpasswd (bcrypt) Basic auth."""
    return _start(testbed, "htpasswd")


@pytest.fixture(scope="session")
def tls_registry(testbed: Testbed) -> Registry:
    """HTTPS with a test CA (`ca_cert_path`), htpasswd Basic auth."""
    return _start(testbed, "tls")


@pytest.fixture(scope="session")
def token_server(testbed: Testbed) -> TokenServer:
    """The token server behind `token_registry` (also `token_registry.token_server`)."""
    return testbed.token_server()


@pytest.fixture(scope="session")
def token_registry(testbed: Testbed, token_server: TokenServer) -> Registry:
    """Plain HTTP, Bearer token auth through `token_server`."""
    return _start(testbed, "token", token_server)


@pytest.fixture(scope="session")
def open_registry(testbed: Testbed) -> Registry:
    """Plain HTTP, no auth at all."""
    return _start(testbed, "open")


def dockerd_binary() -> str:
    found = shutil.which("dockerd") or shutil.which("dockerd", path="/usr/sbin:/usr/bin")
    if found is None:
        require_service("dockerd", "dockerd not installed (apt-get install docker.io)")
    return found


@pytest.fixture(scope="session")
def dockerd() -> Iterator[Dockerd]:
    """A private daemon: `.host` for DOCKER_HOST, `.client()` for docker-py."""
    binary = dockerd_binary()
    if os.geteuid() != 0:
        require_service("dockerd", "a private dockerd needs root")
    try:
        daemon = start_dockerd(binary)
    except DockerdStartError as error:
        require_service("dockerd", str(error))
    yield daemon
    daemon.stop()


@pytest.fixture(scope="session")
def tiny_image(dockerd: Dockerd) -> str:
    """Name of a one-file image imported into `dockerd` (no network needed)."""
    return import_tiny_image(dockerd)


@pytest.fixture(scope="session")
def _path_farms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("path-farms")


@pytest.fixture
def no_podman(_path_farms: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """PATH keeps every program except podman, skopeo and buildah; returns the new PATH."""
    path = filtered_path(os.environ.get("PATH", os.defpath), _path_farms)
    monkeypatch.setenv("PATH", path)
    return path


@pytest.fixture
def credential_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CredentialHelper:
    """`docker-credential-testbed` first on PATH; reference it as `credsStore: helper.name`."""
    helper = CredentialHelper(
        name="testbed", bin_dir=tmp_path / "helper-bin", state_dir=tmp_path / "helper-state"
    ).install()
    monkeypatch.setenv("PATH", f"{helper.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return helper
