"""Images on a test registry, and the real docker CLI pulling them with a given config dir."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

from testbed.requirements import require_binary
from testbed.secret_scan import observe


def push_tiny_image(dockerd: Any, tiny_image: str, registry: Any) -> str:
    """Push the tiny image to `registry` with docker-py, then drop it locally; returns its name."""
    client = dockerd.client()
    repository = f"{registry.host}/login/img-{uuid.uuid4().hex[:8]}"
    try:
        client.images.get(tiny_image).tag(repository, "1")
        auth = {"username": registry.username, "password": registry.password}
        for line in client.images.push(repository, "1", auth_config=auth, stream=True, decode=True):
            assert "error" not in line, line
        client.images.remove(f"{repository}:1")
    finally:
        client.close()
    return f"{repository}:1"


def docker(dockerd: Any, docker_config_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The docker CLI against `dockerd`, reading credentials from `docker_config_dir`."""
    env = dockerd.env()
    env["DOCKER_CONFIG"] = str(docker_config_dir)
    env["PATH"] = os.environ["PATH"]
    result = subprocess.run(
        [require_binary("docker", "docker.io"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    observe(result.stdout + result.stderr, f"output of `docker {' '.join(args)[:80]}`")
    return result


def docker_pull(
    dockerd: Any, docker_config_dir: Path, image: str
) -> subprocess.CompletedProcess[str]:
    """`docker pull image` (and remove it again when it worked)."""
    result = docker(dockerd, docker_config_dir, "pull", image)
    if result.returncode == 0:
        docker(dockerd, docker_config_dir, "rmi", image)
    return result
