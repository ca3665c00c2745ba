"""A private dockerd (vfs storage, no networking) on a unix socket in a short temp dir."""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testbed.net import wait_for
from testbed.process import die_with_parent

START_TIMEOUT = 30.0
TINY_IMAGE = "testbed/tiny:1"
# dockerd runs containerd and runc from PATH, so they must be found even under a narrow PATH.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class DockerdStartError(RuntimeError):
    """dockerd did not answer `/_ping` in time (its log is in the message)."""


def ping(socket_path: Path, timeout: float = 1.0) -> bool:
    """GET /_ping over the unix socket; True if the daemon answered OK."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(socket_path))
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
    except OSError:
        return False
    return answer.startswith(b"HTTP/1.") and b" 200 " in answer.split(b"\r\n", 1)[0]


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time): the start time tells a reused pid apart."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = (int(fields[1]), fields[19])
    return table


def _descendants(pid: int) -> set[tuple[int, str]]:
    """All descendants of `pid` (dockerd starts containerd, which starts shims)."""
    table = _process_table()
    found: set[tuple[int, str]] = set()
    queue = [pid]
    while queue:
        parent = queue.pop()
        for child, (ppid, started) in table.items():
            if ppid == parent:
                found.add((child, started))
                queue.append(child)
    return found


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root)
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def _detach(mount_point: str) -> None:
    """umount2(MNT_DETACH): dockerd bind-mounts its data root and, if it dies early, leaves it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.umount2(mount_point.encode(), 2)


@dataclass
class Dockerd:
    """A running daemon. `host` is the DOCKER_HOST value; `root` holds everything it wrote."""

    root: Path
    process: subprocess.Popen[bytes]
    socket_path: Path
    children: set[tuple[int, str]] = field(default_factory=set)

    @property
    def host(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def log_path(self) -> Path:
        return self.root / "dockerd.log"

    def client(self) -> Any:
        """A new docker-py client for this daemon (the caller closes it)."""
        import docker

        return docker.DockerClient(base_url=self.host, timeout=120)

    def env(self) -> dict[str, str]:
        """os.environ with DOCKER_HOST pointing here, for docker CLI subprocesses."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env["DOCKER_HOST"] = self.host
        return env

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Stop dockerd and its containerd, unmount what it mounted, delete its files."""
        self.children.update(_descendants(self.process.pid))
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        table = _process_table()
        for pid, started in self.children:
            if pid in table and table[pid][1] == started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for point in _mounts_under(self.root):
            _detach(point)
        shutil.rmtree(self.root, ignore_errors=True)


def start_dockerd(binary: str, prefix: Sequence[str] = ()) -> Dockerd:
    """Start dockerd in a fresh /tmp dir; short, because unix socket paths max out at 107.
    `prefix` runs it through another program first (e.g. into a namespace, `hosts_namespace`)."""
    root = Path(tempfile.mkdtemp(prefix="tbd-", dir="/tmp"))
    socket_path = root / "docker.sock"
    config = root / "daemon.json"
    config.write_text("{}\n")  # never pick up /etc/docker/daemon.json
    command = [
        *prefix,
        binary,
        "--storage-driver=vfs",
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        f"--config-file={config}",
        f"--data-root={root / 'data'}",
        f"--exec-root={root / 'exec'}",
        f"--pidfile={root / 'docker.pid'}",
        f"--host=unix://{socket_path}",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["PATH"] = os.pathsep.join(filter(None, (os.environ.get("PATH"), SYSTEM_PATH)))
    with (root / "dockerd.log").open("wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    daemon = Dockerd(root=root, process=process, socket_path=socket_path)
    ready = wait_for(
        lambda: process.poll() is not None or ping(socket_path), START_TIMEOUT, interval=0.05
    )
    if not ready or process.poll() is not None:
        message = daemon.log()[-3000:]
        daemon.stop()
        raise DockerdStartError(f"dockerd did not answer /_ping:\n{message}")
    daemon.children.update(_descendants(process.pid))
    return daemon


def tiny_tar() -> bytes:
    """A root filesystem with one small text file: enough for an image, no download."""
    content = b"zenml-docker-connector testbed\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("testbed.txt")
        info.size = len(content)
        info.mtime = 1_700_000_000  # fixed: the same image id every run
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def import_tiny_image(daemon: Dockerd, name: str = TINY_IMAGE) -> str:
    """`docker import` the tiny root filesystem as `name` and return `name`."""
    repository, _, tag = name.rpartition(":")
    client = daemon.client()
    try:
        client.api.import_image_from_data(tiny_tar(), repository=repository, tag=tag)
        client.images.get(name)
    finally:
        client.close()
    return name
