"""A private containerd (the runtime a kubelet drives) and `ctr` against it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testbed.process import die_with_parent, stop_process
from testbed.requirements import require_binary, require_service
from testbed.secret_scan import observe

START_TIMEOUT = 20.0


@dataclass
class Containerd:
    root: Path
    socket: Path
    process: subprocess.Popen[bytes]

    def ctr(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`ctr --address SOCK ARGS`; its output is scanned (the caller hides `--user`)."""
        result = subprocess.run(
            [require_binary("ctr", "containerd"), "--address", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        observe(result.stdout + result.stderr, "output of ctr")
        return result


@pytest.fixture(scope="session")
def containerd() -> Iterator[Containerd]:
    """containerd with its own socket, root and state, and an empty config (no system one)."""
    binary = require_binary("containerd", "containerd")
    root = Path(tempfile.mkdtemp(prefix="tbc-", dir="/tmp"))
    (root / "config.toml").write_text("version = 2\n")
    socket = root / "containerd.sock"
    with (root / "containerd.log").open("wb") as log:
        process = subprocess.Popen(
            [
                *(binary, "--config", str(root / "config.toml"), "--address", str(socket)),
                *("--root", str(root / "root"), "--state", str(root / "state")),
            ],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    daemon = Containerd(root, socket, process)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        if socket.exists() and daemon.ctr("version").returncode == 0:
            break
        time.sleep(0.1)
    else:
        stop_process(process)
        log_text = (root / "containerd.log").read_text(errors="replace")[-2000:]
        shutil.rmtree(root, ignore_errors=True)
        require_service("containerd", f"containerd did not start:\n{log_text}")
    yield daemon
    stop_process(process)
    subprocess.run(["umount", "-R", str(root / "state")], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)
