"""The real podman CLI pulling with a given auth file, in a throw-away storage root."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from testbed.requirements import require_binary, require_service


def podman_pull(work_dir: Path, authfile: Path, image: str) -> subprocess.CompletedProcess[str]:
    """`podman pull --authfile authfile image`, daemon-less, storage under `work_dir`.

    Plain HTTP (`--tls-verify=false`) because the test registries listen on loopback
    without TLS; the vfs driver needs no kernel overlay support. Root only, like dockerd.
    Podman refuses a run root longer than 50 characters, so that one lives briefly in /tmp.
    """
    podman = require_binary("podman", "podman")
    if os.geteuid() != 0:
        require_service("podman", "a podman storage root in a temporary directory needs root")
    env = {k: v for k, v in os.environ.items() if k != "REGISTRY_AUTH_FILE"}
    with tempfile.TemporaryDirectory(prefix="pm-", dir="/tmp", ignore_cleanup_errors=True) as run:
        return _run(podman, work_dir / "podman-root", Path(run), authfile, image, env)


def _run(
    podman: str, root: Path, runroot: Path, authfile: Path, image: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    command = [
        podman,
        "--root",
        str(root),
        "--runroot",
        str(runroot),
        "--storage-driver",
        "vfs",
        "pull",
        "--quiet",
        "--tls-verify=false",
        "--authfile",
        str(authfile),
        image,
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
