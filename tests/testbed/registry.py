"""`docker-registry serve` (distribution 2.8) on a free loopback port, one per auth flavour."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import requests

from testbed.accesslog import AccessLog, RegistryRequest
from testbed.certs import Issued
from testbed.htpasswd import HtpasswdFile
from testbed.net import LOOPBACK, free_port, loopback_session
from testbed.process import die_with_parent, stop_process
from testbed.token_server import TokenServer

Kind = Literal["htpasswd", "tls", "token", "open"]
BASIC_REALM = "testbed-registry"
START_TIMEOUT = 10.0


class RegistryStartError(RuntimeError):
    """The registry did not answer `GET /v2/` in time (its stderr is in the message)."""


@dataclass
class Registry:
    """A running registry; `username`/`password` are a valid user (ignored by `open`)."""

    kind: Kind
    host: str
    url: str
    username: str
    password: str
    directory: Path
    process: subprocess.Popen[bytes]
    access_log: AccessLog = field(repr=False)
    ca_cert_path: Path | None = None
    htpasswd: HtpasswdFile | None = field(default=None, repr=False)
    token_server: TokenServer | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        return int(self.host.rsplit(":", 1)[1])

    @property
    def verify(self) -> str | bool:
        """The `requests` verify argument that trusts this registry."""
        return str(self.ca_cert_path) if self.ca_cert_path else True

    def session(self) -> requests.Session:
        """A proxy-free session that trusts the registry's CA."""
        session = loopback_session()
        session.verify = self.verify
        return session

    def add_user(self, user: str, password: str) -> None:
        """Create (or reset) a user who can pull and push."""
        if self.htpasswd is not None:
            self.htpasswd.set(user, password)
        elif self.token_server is not None:
            self.token_server.add_user(user, password)
        else:
            raise TypeError("the open registry has no users")

    def set_password(self, user: str, password: str) -> None:
        """Change a password; effective for the next request (htpasswd is re-read live)."""
        if self.htpasswd is not None:
            self.htpasswd.set(user, password)
        elif self.token_server is not None:
            self.token_server.set_password(user, password)
        else:
            raise TypeError("the open registry has no users")

    def remove_user(self, user: str) -> None:
        if self.htpasswd is not None:
            self.htpasswd.remove(user)
        elif self.token_server is not None:
            self.token_server.remove_user(user)
        else:
            raise TypeError("the open registry has no users")

    def mark(self) -> int:
        """Position in the request log; pass it to `requests_since`."""
        return self.access_log.mark()

    def requests_since(self, mark: int) -> list[RegistryRequest]:
        """Exactly the (method, path, status) requests the registry answered since `mark`."""
        return self.access_log.requests_since(mark)

    def server_log(self) -> str:
        """The registry's own (logrus) log, for failure messages."""
        return (self.directory / "registry.log").read_text(errors="replace")

    def stop(self) -> None:
        """Terminate the registry and drop its blobs; config and logs stay for post-mortems."""
        stop_process(self.process)
        shutil.rmtree(self.directory / "storage", ignore_errors=True)


def _config(
    kind: Kind,
    directory: Path,
    listen: str,
    htpasswd: HtpasswdFile | None,
    server_cert: Issued | None,
    token_server: TokenServer | None,
) -> dict[str, Any]:
    http: dict[str, Any] = {"addr": listen, "secret": secrets.token_hex(16)}
    if server_cert is not None:
        http["tls"] = {
            "certificate": str(server_cert.cert_path),
            "key": str(server_cert.key_path),
        }
    config: dict[str, Any] = {
        "version": "0.1",
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
        "storage": {
            "filesystem": {"rootdirectory": str(directory / "storage")},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": http,
    }
    if htpasswd is not None:
        config["auth"] = {"htpasswd": {"realm": BASIC_REALM, "path": str(htpasswd.path)}}
    elif token_server is not None:
        config["auth"] = {
            "token": {
                "realm": token_server.realm,
                "service": token_server.service,
                "issuer": token_server.issuer,
                "rootcertbundle": str(token_server.signer.cert_path),
            }
        }
    return config


def _wait_ready(process: subprocess.Popen[bytes], url: str, verify: str | bool) -> bool:
    """True once `GET /v2/` gets any HTTP answer; False if the process died first."""
    deadline = time.monotonic() + START_TIMEOUT
    with loopback_session() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                session.get(f"{url}/v2/", verify=verify, timeout=1)
                return True
            except requests.ConnectionError:
                time.sleep(0.01)
    return False


def start_registry(
    kind: Kind,
    directory: Path,
    *,
    registry_binary: str,
    htpasswd_binary: str | None = None,
    server_cert: Issued | None = None,
    ca_cert_path: Path | None = None,
    token_server: TokenServer | None = None,
    username: str = "testbed",
    password: str | None = None,
    address: tuple[str, int] | None = None,
) -> Registry:
    """Start a registry of `kind` with its files under `directory` (retries a lost port race);
    `address` fixes the loopback address and port instead of a free port on 127.0.0.1.
    A `token` registry given `server_cert` and `ca_cert_path` serves HTTPS too."""
    directory.mkdir(parents=True, exist_ok=True)
    password = password or f"Pw-{secrets.token_hex(10)}"  # no words: 6 in common withhold a text
    htpasswd: HtpasswdFile | None = None
    if kind in ("htpasswd", "tls"):
        if htpasswd_binary is None:
            raise ValueError(f"{kind} registry needs the htpasswd binary")
        htpasswd = HtpasswdFile(directory / "htpasswd", htpasswd_binary)
        htpasswd.set(username, password)
    if kind == "tls" and (server_cert is None or ca_cert_path is None):
        raise ValueError("tls registry needs server_cert and ca_cert_path")
    if kind == "token":
        if token_server is None:
            raise ValueError("token registry needs a started token server")
        token_server.add_user(username, password)
    tls = kind == "tls" or (kind == "token" and server_cert is not None and bool(ca_cert_path))
    scheme = "https" if tls else "http"
    verify: str | bool = str(ca_cert_path) if tls else True
    failure = ""
    ip = address[0] if address else LOOPBACK
    for _attempt in range(1 if address else 3):
        port = address[1] if address else free_port()
        config_path = directory / "config.yml"
        # JSON is YAML: no YAML writer needed.
        config_path.write_text(
            json.dumps(
                _config(
                    kind,
                    directory,
                    f"{ip}:{port}",
                    htpasswd,
                    server_cert if tls else None,
                    token_server if kind == "token" else None,
                ),
                indent=2,
            )
        )
        access_path = directory / "access.log"
        with access_path.open("wb") as stdout, (directory / "registry.log").open("wb") as stderr:
            process = subprocess.Popen(
                [registry_binary, "serve", str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                cwd=directory,
                # distribution reads REGISTRY_* variables as configuration overrides
                # (REGISTRY_AUTH_FILE, set for podman, would reconfigure its auth).
                env={k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")},
                preexec_fn=die_with_parent,
            )
        url = f"{scheme}://{ip}:{port}"
        if _wait_ready(process, url, verify):
            session = loopback_session()
            session.verify = verify

            def send_marker(
                path: str,
                session: requests.Session = session,
                url: str = url,
                process: subprocess.Popen[bytes] = process,
            ) -> None:
                if process.poll() is not None:
                    log = (directory / "registry.log").read_text(errors="replace")
                    raise RegistryStartError(f"registry at {url} exited:\n{log[-2000:]}")
                session.get(f"{url}{path}", timeout=5).close()

            return Registry(
                kind=kind,
                host=f"{ip}:{port}",
                url=url,
                username=username,
                password=password,
                directory=directory,
                process=process,
                access_log=AccessLog(access_path, send_marker),
                ca_cert_path=ca_cert_path if tls else None,
                htpasswd=htpasswd,
                token_server=token_server if kind == "token" else None,
            )
        if process.poll() is None:
            process.kill()
        process.wait(timeout=5)
        failure = (directory / "registry.log").read_text(errors="replace")
        if "address already in use" not in failure:
            break
    raise RegistryStartError(f"{kind} registry did not start:\n{failure[-2000:]}")
