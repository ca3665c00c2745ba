"""TLS registries for the round-trip benchmark, and the three clients that log in to them.

Two registries from the test bed, both HTTPS with certificates from one test CA:
distribution with htpasswd (Basic), and distribution with token auth whose token service
(the test bed's, HTTPS too) listens on its own loopback address and port, as a real token
host does. How each client is told to trust the CA, the way a user would:

- ours: the `certs.d` directory Docker documents, here `$XDG_CONFIG_HOME/docker/certs.d/
  <host:port>/ca.crt` (the rootless location; the caller points XDG_CONFIG_HOME at this bed's
  directory), added to the system bundle, for the registry and for the token host;
- `skopeo login --cert-dir` with the same `ca.crt`;
- `docker login`: nothing to configure. The docker CLI treats every registry that resolves to
  127.0.0.0/8 or ::1 as insecure (its built-in default), so it makes the same TLS handshakes
  but skips verifying the certificate, and reads no certs.d for it.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bed import Action, Prepare, base_env, login_command, ours
from netns import Delay

from testbed.factory import Testbed
from testbed.registry import Registry

TOKEN_HOST = "127.0.0.2"
KINDS = {"basic": "Basic over TLS", "token": f"Token over TLS (token host {TOKEN_HOST})"}
CLIENTS = ("ours, in-process", "docker login", "skopeo login")


@dataclass
class TLSBed:
    """The running TLS registries by kind, and the trust each client is given."""

    registries: dict[str, Registry]
    scratch: Path
    config_home: Path
    """XDG_CONFIG_HOME for our verifier: `docker/certs.d/<host:port>/ca.crt` for each host."""
    cert_dir: Path
    """skopeo's --cert-dir (the CA as ca.crt)."""
    env: dict[str, str]


def _trust(testbed: Testbed, registries: dict[str, Registry], scratch: Path) -> tuple[Path, Path]:
    """certs.d entries for every registry and token host, and skopeo's cert dir."""
    config_home, cert_dir = scratch / "config", scratch / "cert-dir"
    hosts = [registry.host for registry in registries.values()]
    hosts += [r.token_server.url.split("://")[1] for r in registries.values() if r.token_server]
    for directory in [cert_dir, *(config_home / "docker" / "certs.d" / h for h in hosts)]:
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(testbed.ca.cert_path, directory / "ca.crt")
    return config_home, cert_dir


@contextlib.contextmanager
def started(scratch: Path) -> Iterator[TLSBed]:
    """Start the Basic and the token registry over TLS (and the token host); stop all."""
    registry, htpasswd = (shutil.which(name) or name for name in ("docker-registry", "htpasswd"))
    testbed = Testbed(scratch / "testbed", registry_binary=registry, htpasswd_binary=htpasswd)
    try:
        registries = {
            "basic": testbed.registry("tls"),
            "token": testbed.tls_token_registry("token-tls", TOKEN_HOST),
        }
        config_home, cert_dir = _trust(testbed, registries, scratch)
        yield TLSBed(registries, scratch, config_home, cert_dir, base_env(scratch))
    finally:
        testbed.stop()


def cli_login(tool: str, registry: Registry, bed: TLSBed) -> Prepare:
    """`docker login` (client-side: DOCKER_HOST names no daemon) or `skopeo login
    --cert-dir`, each into a fresh config directory; the password on stdin."""
    return login_command(tool, registry, bed.scratch, bed.env, ["--cert-dir", str(bed.cert_dir)])


def contenders(registry: Registry, bed: TLSBed) -> dict[str, Prepare]:
    """The three clients of `CLIENTS`, each cold on every run (ours: a fresh `AuthCache`).

    Ours is given the registry as `https://host:port`, as a remote registry behaves: named
    bare, a loopback registry is tried over plain HTTP first (a loopback-only rule), which
    would add a TCP connection and a request. docker and skopeo try HTTPS first anyway."""
    docker, skopeo = (cli_login(tool, registry, bed) for tool in ("docker", "skopeo"))
    return dict(zip(CLIENTS, (ours(registry, registry.url), docker, skopeo), strict=True))


def counted(registry: Registry, delay: Delay, action: Action) -> dict[str, Any]:
    """One run of `action`: its handshakes (from delay.c) and requests (from the logs)."""
    server = registry.token_server
    mark, token_mark = registry.mark(), server.mark() if server is not None else 0
    before, error = delay.count(), None
    try:
        action()
    except Exception as problem:  # noqa: BLE001 - shown in the table, not fatal
        error = f"{type(problem).__name__}: {problem}"
    seen = delay.count() - before
    requests = [f"{r.method} {r.path} {r.status}" for r in registry.requests_since(mark)]
    if server is not None:
        requests += [f"token {t.method} {t.status}" for t in server.requests_since(token_mark)]
    return {"tcp": seen.syn, "tls": seen.hello, "http": len(requests), "requests": requests,
            "error": error}  # fmt: skip
