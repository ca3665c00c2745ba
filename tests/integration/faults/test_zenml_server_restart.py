"""A ZenML server restarted between two `zenml service-connector login`s of one client.

The server is this test's own (the session's shared ones must stay up), started again on the
same port over the same database and with a new JWT key, so the client's API token is stale.
The client is the real `zenml` executable with the plugin, as a user runs it.

While the server is down, ZenML 0.98.0's client fails before any connector code runs: its
REST store retries `/api/v1/info`, then the CLI ends in a traceback of ZenML's own
(`RuntimeError: Error connecting to URL '...'`). The plugin cannot word that message; the
test holds what it can: the failure names the server, shows no secret and has no frame of
ours, and once the server is back the same `login` succeeds.

The server can also die in the middle of a login: with the plugin on the server, the server
builds the login's connector client and checks the registry (here through `FaultyProxy`,
whose `on_authorized` hook SIGKILLs the server while that check is on its way). Then the
client's REST store retries for about a minute; a server back by then answers a retry and the
login succeeds, otherwise it ends in ZenML's own `ConnectionError` traceback. In both cases
the docker config is either as before or holds the new credential (mode 0600, no leftovers).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import secrets
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed.faulty_proxy import FaultyProxy
from testbed.hostile import raw_controls
from testbed.leaks import assert_no_secret
from testbed.secret_scan import observe
from testbed.zenml_server_fixture import ZenClientProcesses, ZenServer, ZenServerPool

pytestmark = pytest.mark.timeout(600)


def _run(
    client: ZenClientProcesses, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    done = client.cli(*args, timeout=timeout)
    observe(done.stdout + done.stderr, f"output of `zenml {' '.join(args)}`")
    return done


def _register(client: ZenClientProcesses, name: str, registry: Any, url: str, *extra: str) -> None:
    """`zenml service-connector register NAME --type docker` for `registry`'s user at `url`."""
    credentials = [f"--username={registry.username}", f"--password={registry.password}"]
    arguments = ["--type", "docker", "--auth-method", "password", *credentials]
    registered = _run(
        client, "service-connector", "register", name, *arguments, f"--registry={url}", *extra
    )
    assert registered.returncode == 0, registered.stdout + registered.stderr


def test_login_while_the_server_restarts(
    htpasswd_registry: Any, zenml_server_pool: ZenServerPool, tmp_path: Path
) -> None:
    server = zenml_server_pool.private(tmp_path / "server")
    try:
        client = server.client(tmp_path / "client")
        name = f"restart-{secrets.token_hex(4)}"
        _register(client, name, htpasswd_registry, htpasswd_registry.url)
        first = _run(client, "service-connector", "login", name)
        assert first.returncode == 0, first.stdout + first.stderr

        server.stop()
        down = _run(client, "service-connector", "login", name)
        out = down.stdout + down.stderr
        print("FAULT zenml server down:", out)
        assert down.returncode != 0, out
        assert not raw_controls(out), out
        assert f"Error connecting to URL '{server.url}'" in out, out
        assert "zenml_docker_connector" not in out, out  # ZenML's failure, before our code
        assert_no_secret([out], htpasswd_registry.password, server.password)

        restarted = zenml_server_pool.private(server.directory, int(server.url.rsplit(":", 1)[1]))
        server = dataclasses.replace(restarted, password=server.password)
        again = _run(client, "service-connector", "login", name)
        assert again.returncode == 0, again.stdout + again.stderr
        assert_no_secret([again.stdout + again.stderr], htpasswd_registry.password)
    finally:
        server.stop()


def _killer(server: ZenServer) -> Callable[[], None]:
    """SIGKILL the server and wait until it is gone, before the proxy forwards the request:
    the answer to the server's check has nowhere to go."""

    def kill() -> None:
        server.process.kill()
        server.process.wait(timeout=30)

    return kill


def _client_files(client: ZenClientProcesses) -> tuple[Path, Path]:
    """The docker CLI's config.json and the containers auth.json a login may write."""
    return Path(client.env["DOCKER_CONFIG"]) / "config.json", Path(client.env["REGISTRY_AUTH_FILE"])


def _seed(path: Path) -> bytes:
    """A config.json holding another registry's entry, mode 0600: what must survive."""
    path.parent.mkdir(parents=True, exist_ok=True)
    other = base64.b64encode(b"someone:elses").decode()
    path.write_text(json.dumps({"auths": {"other.example": {"auth": other}}}, indent=1))
    path.chmod(0o600)
    return path.read_bytes()


def _register_unverified(client: ZenClientProcesses, name: str, registry: Any, host: str) -> None:
    """Unverified, so no verdict is cached on the server: the login's check is its first."""
    _register(client, name, registry, f"http://{host}", "--no-verify")


def _assert_zenml_connection_error(out: str, server: ZenServer, *secrets_: str) -> None:
    """ZenML's REST store gave up on the server: its traceback, with no frame of ours."""
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    assert not raw_controls(out), out
    assert f"HTTPConnectionPool(host='{host}', port={port})" in out, out
    assert "requests.exceptions.ConnectionError" in out, out  # raised in ZenML's REST store
    assert "zenml_docker_connector" not in out, out
    assert_no_secret([out], *secrets_)


def _assert_untouched(config: Path, before: bytes, auth_json: Path) -> None:
    """config.json as seeded (mode 0600, no temporary or lock file beside it); no auth.json."""
    assert config.read_bytes() == before
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.json"]
    assert not auth_json.exists() and not list(auth_json.parent.glob(f".{auth_json.name}*"))


def _assert_logged_in(config: Path, auth_json: Path, registry: Any, netloc: str) -> None:
    """The docker CLI's file holds the credential for `netloc` and the other entry, 0600."""
    auths = json.loads(config.read_text())["auths"]
    assert sorted(auths) == [netloc, "other.example"], sorted(auths)
    expected = f"{registry.username}:{registry.password}".encode()
    assert base64.b64decode(auths[netloc]["auth"]) == expected
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.json"]
    if auth_json.exists():  # podman's file too, when a login writes it
        assert netloc in json.loads(auth_json.read_text())["auths"]
        assert stat.S_IMODE(auth_json.stat().st_mode) == 0o600


def _restart(pool: ZenServerPool, server: ZenServer) -> ZenServer:
    """The same port and database (the admin password is the database's, not the new one).
    From the test's main thread: the server dies with the thread that started it."""
    restarted = pool.private(server.directory, int(server.url.rsplit(":", 1)[1]))
    return dataclasses.replace(restarted, password=server.password)


@dataclasses.dataclass
class _MidLogin:
    """A private server, its client and an unverified connector whose registry is behind
    `proxy`; `config` seeded with another entry (`before`). `server` is the one running."""

    server: ZenServer
    client: ZenClientProcesses
    name: str
    proxy: FaultyProxy
    config: Path
    auth_json: Path
    before: bytes


@contextlib.contextmanager
def _mid_login(
    registry: Any, pool: ZenServerPool, tmp_path: Path, prefix: str
) -> Iterator[_MidLogin]:
    """The bed of a server killed during a login; whichever server runs at the end stops."""
    server = pool.private(tmp_path / "server")
    ip, port = registry.host.rsplit(":", 1)
    with FaultyProxy((ip, int(port))) as proxy:
        bed: _MidLogin | None = None
        try:
            client = server.client(tmp_path / "client")
            name = f"{prefix}-{secrets.token_hex(4)}"
            _register_unverified(client, name, registry, proxy.netloc)
            config, auth_json = _client_files(client)
            bed = _MidLogin(server, client, name, proxy, config, auth_json, _seed(config))
            yield bed
        finally:
            (bed.server if bed is not None else server).stop()


def test_server_killed_mid_login_and_restarted_while_the_client_retries(
    htpasswd_registry: Any, zenml_server_pool: ZenServerPool, tmp_path: Path
) -> None:
    """The server builds the login's connector client and so checks the registry; it is
    killed (SIGKILL) when that check's authenticated ping passes the proxy. While it is down
    the docker config is as before (ZenML's client retries: 0 + 2 + 4 + 8 + 16 + 32 s of
    back-off); it is then started again on the same port and database (a start takes ~8 s
    here), a retry reaches it, it checks again, and the same login succeeds. A start slower
    than the retries ends in ZenML's own traceback (`requests.exceptions.ConnectionError`,
    which `login` does not catch) with the file untouched; either way the next login
    succeeds."""
    registry = htpasswd_registry
    with _mid_login(registry, zenml_server_pool, tmp_path, "restarted") as bed:
        killed = threading.Event()
        kill = _killer(bed.server)
        bed.proxy.on_authorized = lambda: (kill(), killed.set())
        started = time.monotonic()
        outcome: list[subprocess.CompletedProcess[str]] = []
        login = threading.Thread(
            target=lambda: outcome.append(
                _run(bed.client, "service-connector", "login", bed.name, timeout=300)
            )
        )
        login.start()
        assert killed.wait(timeout=120), "the server never checked the registry"
        assert bed.server.process.returncode == -signal.SIGKILL and login.is_alive()
        _assert_untouched(bed.config, bed.before, bed.auth_json)  # what the kill left
        dead, bed.server = bed.server, _restart(zenml_server_pool, bed.server)
        login.join(timeout=330)
        (done,) = outcome
        out = done.stdout + done.stderr
        took = time.monotonic() - started
        print(f"FAULT zenml server restarted mid-login ({took:.1f} s, exit {done.returncode}):")
        print(out)
        if done.returncode == 0:
            _assert_logged_in(bed.config, bed.auth_json, registry, bed.proxy.netloc)
        else:
            _assert_zenml_connection_error(out, dead, registry.password, bed.server.password)
            _assert_untouched(bed.config, bed.before, bed.auth_json)
        assert_no_secret([out], registry.password, bed.server.password)
        again = _run(bed.client, "service-connector", "login", bed.name)
        assert again.returncode == 0, again.stdout + again.stderr
        _assert_logged_in(bed.config, bed.auth_json, registry, bed.proxy.netloc)
