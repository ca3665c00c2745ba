"""A ZenML server restarted between two `zenml service-connector login`s of one client.

The server is this test's own (the session's shared ones must stay up), started again on the
same port over the same database and with a new JWT key, so the client's API token is stale.
The client is the real `zenml` executable with the plugin, as a user runs it.

While the server is down, ZenML 0.98.0's client fails before any connector code runs: its
REST store retries `/api/v1/info`, then the CLI ends in a traceback of ZenML's own
(`RuntimeError: Error connecting to URL '...'`). The plugin cannot word that message; the
test holds what it can: the failure names the server, shows no secret and has no frame of
ours, and once the server is back the same `login` succeeds.
"""

from __future__ import annotations

import dataclasses
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest

from testbed.hostile import raw_controls
from testbed.leaks import assert_no_secret
from testbed.secret_scan import observe
from testbed.zenml_server_fixture import ZenClientProcesses, ZenServerPool

pytestmark = pytest.mark.timeout(600)


def _run(client: ZenClientProcesses, *args: str) -> subprocess.CompletedProcess[str]:
    done = client.cli(*args)
    observe(done.stdout + done.stderr, f"output of `zenml {' '.join(args)}`")
    return done


def test_login_while_the_server_restarts(
    htpasswd_registry: Any, zenml_server_pool: ZenServerPool, tmp_path: Path
) -> None:
    server = zenml_server_pool.private(tmp_path / "server")
    try:
        client = server.client(tmp_path / "client")
        name = f"restart-{secrets.token_hex(4)}"
        registered = _run(
            client,
            "service-connector",
            "register",
            name,
            "--type",
            "docker",
            "--auth-method",
            "password",
            f"--username={htpasswd_registry.username}",
            f"--password={htpasswd_registry.password}",
            f"--registry={htpasswd_registry.url}",
        )
        assert registered.returncode == 0, registered.stdout + registered.stderr
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
