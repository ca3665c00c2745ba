"""moto's AWS API server on a free loopback port: STS and ECR for ZenML's AWS connector.

moto answers ECR's GetAuthorizationToken with user `AWS`, password
`<registry id>-auth-token` and the proxy endpoint `https://<id>.dkr.ecr.<region>.amazonaws.com`
(see `hosts_namespace` for how that name reaches a local registry). Clients find it through
`env()`: AWS_ENDPOINT_URL, dummy keys, no config files and no instance metadata, so no
request can leave the machine.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from testbed.net import LOOPBACK, free_port, loopback_session, wait_for
from testbed.process import die_with_parent, stop_process

ACCOUNT_ID = "123456789012"  # moto's fixed account
REGION = "us-east-1"
ECR_HOST = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com"
ECR_USERNAME = "AWS"
ECR_PASSWORD = f"{ACCOUNT_ID}-auth-token"
ACCESS_KEY_ID = "AKIAZENMLDOCKERTEST1"
SECRET_ACCESS_KEY = "zenml-docker-connector-moto-secret"
START_TIMEOUT = 30.0


class MotoStartError(RuntimeError):
    """moto_server did not answer in time (its output is in the message)."""


@dataclass
class MotoServer:
    """A running moto server; `client(service)` is a boto3 client bound to it."""

    url: str
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path

    def env(self) -> dict[str, str]:
        """Environment for AWS SDK clients (boto3, ZenML's AWS connector) that use it."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def stop(self) -> None:
        stop_process(self.process, timeout=10)


def moto_binary() -> str | None:
    """`moto_server` next to this Python (pip installs it there), else on PATH."""
    return shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which(
        "moto_server"
    )


def _answers(url: str) -> bool:
    try:
        with loopback_session() as session:
            return session.get(f"{url}/moto-api/", timeout=2).status_code < 500
    except requests.RequestException:
        return False


def start_moto(binary: str, directory: Path) -> MotoServer:
    """Start moto_server on 127.0.0.1 (retries a lost port race)."""
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / "moto.log"
    for _attempt in range(3):
        port = free_port()
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [binary, "-H", LOOPBACK, "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        server = MotoServer(url=f"http://{LOOPBACK}:{port}", process=process, log_path=log_path)
        wait_for(lambda s=server: s.process.poll() is not None or _answers(s.url), START_TIMEOUT)
        if process.poll() is None and _answers(server.url):
            return server
        server.stop()
        if "Address already in use" not in log_path.read_text(errors="replace"):
            break
    raise MotoStartError(f"moto_server did not start:\n{log_path.read_text()[-2000:]}")
