"""pytest plugin: real ZenML servers (uvicorn subprocesses) and client processes talking to them.

Two variants share one code path: `zenml_server` runs our connector (the installed plugin
activates itself through ZenML's init hook, as it would in a server image), and
`builtin_zenml_server` runs ZenML's built-in one (ZENML_DOCKER_CONNECTOR_DISABLE=1 makes our
activation a no-op), which is what users get when only their clients have the plugin.

The server is started the way ZenML's own local deployment does it (uvicorn on
`zenml.zen_server.zen_server_api:app`) but with ZenML's default OAuth2 password scheme and
an auto-activated admin user, so clients authenticate for real with a username and password
given through ZENML_STORE_* environment variables: no `zenml login`, no prompt. Servers run
with DOCKER_HOST pointing nowhere and no podman/skopeo on PATH, like a server container.
Each variant is started once per session; starting one takes ~7 s, so `prestart` lets a
module launch both at once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
import requests

from testbed.isolation import filtered_path
from testbed.net import LOOPBACK, free_port, loopback_session
from testbed.process import die_with_parent
from testbed.requirements import require_service

Variant = Literal["ours", "builtin"]
SERVER_APP = "zenml.zen_server.zen_server_api:app"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 10.0
NO_DAEMON = "unix:///nonexistent.sock"
DISABLE_ENV = "ZENML_DOCKER_CONNECTOR_DISABLE"
OUR_DESCRIPTION_MARK = "zenml-docker-connector implementation"
RESULT_PREFIX = "@@zdc-result@@"

# Environment that ZenML (server and clients) must not inherit from the pytest process.
_DROPPED_PREFIXES = ("ZENML_", "DOCKER_", "REGISTRY_AUTH_FILE")


class ZenServerStartError(RuntimeError):
    """The server process exited or did not answer /health in time (log tail included)."""


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES)}
    env.update(
        ZENML_ANALYTICS_OPT_IN="false",
        ZENML_ENABLE_RICH_TRACEBACK="false",
        ZENML_LOGGING_COLORS_DISABLED="true",
        NO_COLOR="1",
        TERM="dumb",
        COLUMNS="200",
        DOCKER_HOST=NO_DAEMON,
    )
    return env


@dataclass
class ZenServer:
    """A running ZenML server; `client()` gives isolated client processes logged in to it."""

    variant: Variant
    url: str
    username: str
    password: str = field(repr=False)
    directory: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    path_without_podman: str = field(repr=False)

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    def log(self) -> str:
        """Everything the server (uvicorn access log included) wrote so far."""
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, since: int = 0, timeout: float = 10.0) -> str:
        """The log from offset `since`, once it contains `text` (uvicorn writes its access
        line after the response is sent); the log as it is after `timeout` otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log()[since:]
            if text in log or time.monotonic() > deadline:
                return log
            time.sleep(0.05)

    def token(self) -> str:
        """An API access token, fetched the way the REST store does it (OAuth2 password)."""
        with loopback_session() as session:
            response = session.post(
                f"{self.url}/api/v1/login",
                data={"username": self.username, "password": self.password},
                timeout=30,
            )
            response.raise_for_status()
            token: str = response.json()["access_token"]
            return token

    def api_get(self, path: str) -> Any:
        """GET an /api/v1 path as the admin user; the parsed JSON body."""
        with loopback_session() as session:
            response = session.get(
                f"{self.url}/api/v1{path}",
                headers={"Authorization": f"Bearer {self.token()}"},
                timeout=30,
            )
            response.raise_for_status()
            return response.json()

    def docker_type_is_ours(self) -> bool:
        """Which class serves type `docker` inside the server, read from its own spec."""
        spec = self.api_get("/service_connector_types/docker")
        return OUR_DESCRIPTION_MARK in spec.get("description", "")

    def client(self, home: Path, *, plugin: bool = True, **extra_env: str) -> ZenClientProcesses:
        """Client processes with their own ZenML home, DOCKER_CONFIG, no daemon, no podman."""
        home.mkdir(parents=True, exist_ok=True)
        env = _base_env()
        env.update(
            ZENML_CONFIG_PATH=str(home / "zenml"),
            ZENML_STORE_URL=self.url,
            ZENML_STORE_USERNAME=self.username,
            ZENML_STORE_PASSWORD=self.password,
            DOCKER_CONFIG=str(home / "docker-config"),
            REGISTRY_AUTH_FILE=str(home / "containers-auth.json"),
            PATH=self.path_without_podman,
        )
        if not plugin:
            env[DISABLE_ENV] = "1"
        env.update(extra_env)
        return ZenClientProcesses(env=env)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)


@dataclass
class ZenClientProcesses:
    """Runs the `zenml` CLI or Python snippets as fresh processes against one server."""

    env: dict[str, str]

    def cli(
        self, *args: str, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        executable = shutil.which("zenml", path=str(Path(sys.executable).parent))
        if executable is None:
            pytest.fail("the zenml executable is not installed next to this Python")
        return subprocess.run(
            [executable, *args],
            input=input,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def python(self, code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `code` with `emit(obj)` defined: it prints one JSON result line."""
        prelude = (
            "import json as _json\n"
            "def emit(obj):\n"
            f"    print({RESULT_PREFIX!r} + _json.dumps(obj, default=str), flush=True)\n"
        )
        return subprocess.run(
            [sys.executable, "-c", prelude + code],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def results(self, code: str, timeout: float = 120) -> list[Any]:
        """Every `emit`ted object of a snippet that must exit 0 (else the test fails)."""
        done = self.python(code, timeout=timeout)
        if done.returncode != 0:
            pytest.fail(
                f"client snippet exited {done.returncode}:\n{done.stdout[-4000:]}\n"
                f"{done.stderr[-6000:]}",
                pytrace=False,
            )
        return [
            json.loads(line[len(RESULT_PREFIX) :])
            for line in done.stdout.splitlines()
            if line.startswith(RESULT_PREFIX)
        ]


def _server_env(variant: Variant, directory: Path, password: str, path: str) -> dict[str, str]:
    env = _base_env()
    env.update(
        ZENML_CONFIG_PATH=str(directory / "zenml-home"),
        ZENML_LOCAL_STORES_PATH=str(directory / "local-stores"),
        ZENML_STORE_URL=f"sqlite:///{directory / 'zenml.db'}",
        ZENML_SERVER_AUTH_SCHEME="OAUTH2_PASSWORD_BEARER",
        ZENML_SERVER_AUTO_ACTIVATE="true",
        ZENML_DEFAULT_USER_NAME="admin",
        ZENML_DEFAULT_USER_PASSWORD=password,
        ZENML_SERVER_JWT_SECRET_KEY=secrets.token_hex(32),
        ZENML_LOGGING_VERBOSITY="INFO",
        PYTHONUNBUFFERED="1",
        DOCKER_CONFIG=str(directory / "docker-config"),
        PATH=path,
    )
    if variant == "builtin":
        env[DISABLE_ENV] = "1"
    return env


def _healthy(url: str) -> bool:
    try:
        with loopback_session() as session:
            return session.get(f"{url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


class _Launch:
    """One server process on its way up; `wait()` turns it into a `ZenServer`."""

    def __init__(
        self,
        variant: Variant,
        directory: Path,
        path: str,
        *,
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        """`port` fixes the port (a restart on the same address); otherwise a free one.
        `extra_env` reaches the server's environment (which drops every other `ZENML_*`)."""
        self.variant = variant
        self.extra_env = dict(extra_env or {})
        self.directory = directory
        self.path = path
        self.password = f"Zen-{secrets.token_hex(12)}"
        self.attempts = 0
        self.fixed_port = port
        self._spawn()

    def _spawn(self) -> None:
        self.attempts += 1
        self.port = self.fixed_port or free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "server.log").open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    SERVER_APP,
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(self.port),
                    "--log-level",
                    "info",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                env=_server_env(self.variant, self.directory, self.password, self.path)
                | self.extra_env,
                preexec_fn=die_with_parent,
            )

    def _log_tail(self) -> str:
        return (self.directory / "server.log").read_text(errors="replace")[-3000:]

    def wait(self) -> ZenServer:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                tail = self._log_tail()
                if "address already in use" in tail and self.attempts < 3:
                    self._spawn()
                    deadline = time.monotonic() + START_TIMEOUT
                    continue
                raise ZenServerStartError(
                    f"ZenML server ({self.variant}) exited with {self.process.returncode}:\n{tail}"
                )
            if _healthy(self.url):
                return ZenServer(
                    variant=self.variant,
                    url=self.url,
                    username="admin",
                    password=self.password,
                    directory=self.directory,
                    process=self.process,
                    path_without_podman=self.path,
                )
            if time.monotonic() > deadline:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
                raise ZenServerStartError(
                    f"ZenML server ({self.variant}) did not answer {self.url}/health within "
                    f"{START_TIMEOUT:.0f} s:\n{self._log_tail()}"
                )
            time.sleep(0.1)


class ZenServerPool:
    """At most one server per variant per session; variants may start concurrently."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._launches: dict[Variant, _Launch] = {}
        self._servers: dict[Variant, ZenServer] = {}
        self._failures: dict[Variant, str] = {}
        self._path: str | None = None

    def _server_path(self) -> str:
        if self._path is None:
            self._path = filtered_path(os.environ.get("PATH", os.defpath), self.root / "path")
        return self._path

    def prestart(self, *variants: Variant) -> None:
        """Launch servers without waiting; `get` waits for them."""
        for variant in variants:
            if variant not in self._launches and variant not in self._failures:
                try:
                    self._launches[variant] = _Launch(
                        variant, self.root / variant, self._server_path()
                    )
                except OSError as error:
                    self._failures[variant] = f"could not start the server process: {error}"

    def get(self, variant: Variant) -> ZenServer:
        """The running server of `variant`, checked to really run that connector class."""
        if variant in self._servers:
            return self._servers[variant]
        self.prestart(variant)
        if variant in self._failures:
            require_service("zenml-server", self._failures[variant])
        try:
            server = self._launches[variant].wait()
        except ZenServerStartError as error:
            self._failures[variant] = str(error)
            require_service("zenml-server", str(error))
        ours = server.docker_type_is_ours()
        if ours != (variant == "ours"):
            pytest.fail(
                f"the {variant!r} ZenML server serves type `docker` with "
                f"{'our' if ours else 'the built-in'} class; see {server.log_path}",
                pytrace=False,
            )
        self._servers[variant] = server
        return server

    def private(
        self, directory: Path, port: int | None = None, extra_env: dict[str, str] | None = None
    ) -> ZenServer:
        """A server running our connector for one caller alone, who stops it (a test that
        restarts a server must not take the shared ones down); `port` to start it again,
        `extra_env` for a setting of the server's own."""
        launch = _Launch("ours", directory, self._server_path(), port=port, extra_env=extra_env)
        return launch.wait()

    def stop(self) -> None:
        for launch in self._launches.values():
            if launch.process.poll() is None:
                launch.process.terminate()
        for launch in self._launches.values():
            try:
                launch.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                launch.process.kill()
                launch.process.wait(timeout=STOP_TIMEOUT)


def _server_dependencies_missing() -> str | None:
    for module in ("uvicorn", "fastapi", "sqlalchemy"):
        if importlib.util.find_spec(module) is None:
            return f"python module {module!r} missing: pip install 'zenml[server]'"
    return None


@pytest.fixture(scope="session")
def zenml_server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZenServerPool]:
    """The session's ZenML servers; call `.prestart("ours", "builtin")` to overlap start-ups."""
    missing = _server_dependencies_missing()
    if missing is not None:
        require_service("zenml-server", missing)
    pool = ZenServerPool(tmp_path_factory.mktemp("zenml-servers"))
    yield pool
    pool.stop()


@pytest.fixture(scope="session")
def zenml_server(zenml_server_pool: ZenServerPool) -> ZenServer:
    """A ZenML server whose `docker` connector type is ours (activated by the init hook)."""
    return zenml_server_pool.get("ours")


@pytest.fixture(scope="session")
def builtin_zenml_server(zenml_server_pool: ZenServerPool) -> ZenServer:
    """A ZenML server that runs ZenML's built-in `docker` connector."""
    return zenml_server_pool.get("builtin")
