"""Demo helpers on the Docker side: a daemon to push with, an image to push, the catalog.

The daemon is the one this environment already uses when it answers; else, as root, a
private dockerd started the way the test bed does it (`tests/testbed/dockerd.py`: vfs storage,
no networking, everything under a temporary directory, stopped afterwards); else none, and
the caller is told why.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _configured_daemon_answers() -> bool:
    import docker

    try:
        probe = docker.from_env(timeout=5)
        try:
            return bool(probe.ping())
        finally:
            probe.close()
    except Exception:  # noqa: BLE001 - any failure means "no daemon here"
        return False


@contextmanager
def docker_daemon() -> Iterator[tuple[str | None, str]]:
    """(DOCKER_HOST, which daemon) while it runs, or (None, why there is none)."""
    if _configured_daemon_answers():
        yield os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"), "the one this environment uses"
        return
    binary = shutil.which("dockerd") or shutil.which("dockerd", path="/usr/sbin:/usr/bin")
    if binary is None:
        yield (
            None,
            "no Docker daemon answers and dockerd is not installed (apt-get install docker.io)",
        )
        return
    if os.geteuid() != 0:
        yield None, "no Docker daemon answers, and starting a private dockerd needs root"
        return
    sys.path.insert(0, str(REPO / "tests"))
    from testbed.dockerd import DockerdStartError, start_dockerd

    try:
        daemon = start_dockerd(binary)
    except DockerdStartError as error:
        yield None, f"a private dockerd did not start: {str(error).splitlines()[0]}"
        return
    try:
        yield daemon.host, f"a private dockerd started for this demo ({daemon.root})"
    finally:
        daemon.stop()


def import_image(docker_host: str, image: str) -> None:
    """A one-file image under `image`, made from a tar file: no download needed."""
    import docker

    sys.path.insert(0, str(REPO / "tests"))
    from testbed.dockerd import tiny_tar

    repository, _, tag = image.rpartition(":")
    client = docker.DockerClient(base_url=docker_host, timeout=60)
    try:
        client.api.import_image_from_data(tiny_tar(), repository=repository, tag=tag)
    finally:
        client.close()


def remove_image(docker_host: str, image: str) -> None:
    import docker

    client = docker.DockerClient(base_url=docker_host, timeout=60)
    try:
        client.images.remove(image)
    finally:
        client.close()


def catalog(url: str, user: str, password: str) -> str:
    """The registry's own answer: repositories, and the tags of each."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()

    def get(path: str) -> dict[str, object]:
        headers = {"Authorization": f"Basic {token}"}
        request = urllib.request.Request(f"{url}{path}", headers=headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            answer: dict[str, object] = json.load(response)
            return answer

    lines = []
    repositories = get("/v2/_catalog").get("repositories") or []
    assert isinstance(repositories, list)
    lines.append(f"GET {url}/v2/_catalog -> {json.dumps({'repositories': repositories})}")
    for name in repositories:
        tags = get(f"/v2/{name}/tags/list")
        lines.append(f"GET {url}/v2/{name}/tags/list -> {json.dumps(tags)}")
    return "\n".join(lines)
