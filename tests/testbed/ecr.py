"""A local stand-in for Amazon ECR, reached through ZenML's own AWS connector.

- moto's server (`moto_server`) plays the AWS API: STS, and ECR's GetAuthorizationToken,
  which names the registry `https://123456789012.dkr.ecr.us-east-1.amazonaws.com`;
- that name resolves, inside a private mount namespace only (`hosts_namespace`), to a random
  127.x.y.z address, where a distribution registry serves HTTPS on port 443 with a test-CA
  certificate for the name and htpasswd user `AWS` with exactly moto's token as password;
- a dockerd runs inside the namespace, so the daemon resolves the name the same way.
Processes that must see the name (the `zenml` CLI logging in, Python snippets) run through
`EcrBed.run`; the docker CLI only talks to the daemon's socket, so it runs anywhere.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from testbed.dockerd import Dockerd, import_tiny_image, start_dockerd
from testbed.factory import Testbed
from testbed.hosts_namespace import HostsNamespace, start_hosts_namespace
from testbed.moto_server import ECR_HOST, ECR_PASSWORD, ECR_USERNAME, MotoServer
from testbed.registry import Registry, RegistryStartError, start_registry
from testbed.secret_scan import observe

REPOSITORY = "zenml/app"
NO_DAEMON = "unix:///nonexistent.sock"
_DROPPED_PREFIXES = ("ZENML_", "DOCKER_", "AWS_", "REGISTRY_AUTH_FILE", "REQUESTS_CA_BUNDLE")


@dataclass
class EcrBed:
    """The pieces, and how to run a process that sees the ECR name."""

    moto: MotoServer
    namespace: HostsNamespace
    registry: Registry
    dockerd: Dockerd
    image: str

    @property
    def ca_path(self) -> Path:
        assert self.registry.ca_cert_path is not None
        return self.registry.ca_cert_path

    def env(self, home: Path, path: str) -> dict[str, str]:
        """A ZenML client's environment: own home and docker config, moto, the test CA."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES)}
        env.update(self.moto.env())
        env.update(
            ZENML_CONFIG_PATH=str(home / "zenml"),
            ZENML_ANALYTICS_OPT_IN="false",
            ZENML_ENABLE_RICH_TRACEBACK="false",
            ZENML_LOGGING_VERBOSITY="WARN",
            DOCKER_CONFIG=str(home / "docker-config"),
            DOCKER_HOST=NO_DAEMON,
            REGISTRY_AUTH_FILE=str(home / "containers-auth.json"),
            REQUESTS_CA_BUNDLE=str(self.ca_path),
            PATH=path,
            COLUMNS="200",
            TERM="dumb",
            NO_COLOR="1",
        )
        return env

    def run(
        self, argv: list[str], env: dict[str, str], timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`argv` inside the namespace, where the ECR name resolves to the local registry."""
        done = subprocess.run(
            self.namespace.command(argv),
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        observe(done.stdout + done.stderr, f"output of `{' '.join(argv)[-80:]}` (ECR namespace)")
        return done

    def zenml(self, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        executable = str(Path(sys.executable).parent / "zenml")
        return self.run([executable, *args], env)

    def python(self, env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
        return self.run([sys.executable, "-c", code], env)

    def stop(self) -> None:
        """Daemon first (it mounted inside the namespace), then the namespace."""
        self.dockerd.stop()
        self.namespace.stop()


def _loopback_address() -> str:
    """A random 127.x.y.z, so that port 443 is free there even next to other test runs."""
    return f"127.{random.randint(2, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def start_ecr_registry(testbed: Testbed, root: Path, address: str) -> Registry:
    """HTTPS on `address`:443, certificate for the ECR name, user `AWS` with moto's token."""
    cert = testbed.issue_cert("ecr", [ECR_HOST, address])
    registry = start_registry(
        "tls",
        root,
        registry_binary=testbed.registry_binary,
        htpasswd_binary=testbed.htpasswd_binary,
        server_cert=cert,
        ca_cert_path=testbed.ca.cert_path,
        username=ECR_USERNAME,
        password=ECR_PASSWORD,
        address=(address, 443),
    )
    testbed.registries.append(registry)
    return registry


def start_ecr_bed(testbed: Testbed, moto: MotoServer, dockerd_binary: str, root: Path) -> EcrBed:
    """Namespace, registry, daemon; an image pushed as `<ECR name>/zenml/app:1`."""
    moto.client("ecr").create_repository(repositoryName=REPOSITORY)
    for attempt in range(3):
        address = _loopback_address()
        try:
            registry = start_ecr_registry(testbed, root / f"registry-{attempt}", address)
            break
        except RegistryStartError:
            if attempt == 2:
                raise
    namespace = start_hosts_namespace(root / "namespace", {ECR_HOST: address})
    daemon: Dockerd | None = None
    try:
        daemon = start_dockerd(dockerd_binary, prefix=namespace.command())
        image = _push_image(daemon)
    except BaseException:
        if daemon is not None:
            daemon.stop()
        namespace.stop()
        raise
    return EcrBed(moto, namespace, registry, daemon, image)


def _push_image(daemon: Dockerd) -> str:
    """Push the tiny image as moto's user would, then drop it from the daemon."""
    image = f"{ECR_HOST}/{REPOSITORY}:1"
    import_tiny_image(daemon, image)
    client = daemon.client()
    try:
        auth = {"username": ECR_USERNAME, "password": ECR_PASSWORD}
        for line in client.images.push(image, auth_config=auth, stream=True, decode=True):
            assert "error" not in line, line
        client.images.remove(image)
    finally:
        client.close()
    return image
