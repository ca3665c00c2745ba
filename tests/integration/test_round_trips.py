"""Round trips on every path that checks a connector, counted over TLS (issue 18, item 3).

A round trip here is a TCP handshake, a TLS handshake (1.3: one round trip; every handshake's
version is asserted) or an HTTP request: what a client 40 ms away waits for. Handshakes are
counted by proxies in front of the registry and the token host (`testbed.round_trips`),
requests by the registry's access log and the token server's log. From cold (no verdict,
no remembered challenge) the minimum of one check is 4 for Basic (1 TCP + 1 TLS + the ping
and the authenticated ping) and 7 for token auth with a separate token host (2 TCP + 2 TLS +
ping, token, authenticated ping); each path must cost that, however often ZenML calls
`_verify` within it. benchmarks/paths.py counts the same paths behind a delayed link.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from testbed.helper_env import runtime_dir
from testbed.round_trips import TLS_1_3, CountedRegistry, RoundTripBeds, RoundTrips
from testbed.secret_scan import observe
from testbed.zenml_fixtures import ZenCli, register_docker_connector
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.cache import AuthCache, default_cache
from zenml_docker_connector.registry.verification import verify_registry_access

__all__ = ["runtime_dir"]  # a fixture of the helper tests, used here too

BIN = Path(sys.executable).parent
REPOSITORY = "team/app"
COLD = {"basic": (1, 1, 2), "token": (2, 2, 3)}
"""(TCP, TLS, HTTP) of one cold check; the sums are `testbed.round_trips.MINIMUM`."""


@pytest.fixture(params=["basic", "token"])
def bed(
    request: pytest.FixtureRequest, tls_round_trip_beds: RoundTripBeds, isolated_client_files: Path
) -> CountedRegistry:
    """One of the counted TLS registries, trusted through certs.d in the test's own
    XDG_CONFIG_HOME (child processes inherit it), every client file isolated; cold."""
    tls_round_trip_beds.trust_in(Path(os.environ["XDG_CONFIG_HOME"]))
    default_cache().clear()
    return tls_round_trip_beds.registries[request.param]


def assert_cold_minimum(found: RoundTrips, bed: CountedRegistry) -> None:
    assert found.parts == COLD[bed.kind], found
    assert found.total == bed.minimum
    assert found.versions == (TLS_1_3,) * found.tls, found


def test_verification(bed: CountedRegistry) -> None:
    """The check itself: the registry connection is kept for both pings; warm, nothing."""
    reference = parse_registry_reference(bed.url)
    credentials, cache = Credentials(bed.username, bed.password), AuthCache()
    with bed.counting() as cold:
        report = verify_registry_access(reference, credentials, cache=cache)
    assert report.tls.startswith("TLS") and not report.cached
    assert_cold_minimum(cold[0], bed)
    with bed.counting() as warm:
        assert verify_registry_access(reference, credentials, cache=cache).cached
    assert warm[0].total == 0


def test_connector_client_and_connect(bed: CountedRegistry, no_docker_daemon: None) -> None:
    """`get_connector_client()` + `connect()` call `_verify` three times: one check."""
    from zenml.exceptions import AuthorizationException

    from zenml_docker_connector.glue import spec
    from zenml_docker_connector.glue.connector import DockerServiceConnector

    connector = DockerServiceConnector(
        auth_method="password",
        resource_type="docker-registry",
        config=spec.DockerConnectorConfiguration(
            username=bed.username, password=bed.password, registry=bed.url
        ),
    )
    with bed.counting() as counted:
        client = connector.get_connector_client()
        with pytest.raises(AuthorizationException, match="No Docker daemon answered"):
            client.connect()  # verified; no daemon to hand a client out
    assert_cold_minimum(counted[0], bed)


def test_zenml_service_connector_verify(
    bed: CountedRegistry, zen: ZenCli, unique_name: str
) -> None:
    """`zenml service-connector verify`: an explicit check (no cached verdict is read)."""
    register_docker_connector(unique_name, bed)
    with bed.counting() as counted:
        result = zen("service-connector", "verify", unique_name)
    assert result.exit_code == 0, result.output
    assert_cold_minimum(counted[0], bed)


def test_zenml_service_connector_login(bed: CountedRegistry, zen: ZenCli, unique_name: str) -> None:
    """`zenml service-connector login`: ZenML verifies, then logs in; one check for both."""
    register_docker_connector(unique_name, bed)
    with bed.counting() as counted:
        result = zen("service-connector", "login", unique_name)
    assert result.exit_code == 0, result.output
    assert_cold_minimum(counted[0], bed)


def test_doctor_with_a_repository_and_push(
    bed: CountedRegistry, unique_name: str, no_docker_daemon: None
) -> None:
    """`zenml-docker doctor -r team/app --push`. Token: the repository scope rides on the
    token request and the token's `access` claim answers it, so 7. Basic: 5, one request
    over the minimum, which is the repository check itself (`GET /v2/team/app/tags/list`):
    Basic carries no scopes, so only a request on the repository tells whether it may be
    read, and the authenticated `GET /v2/` before it is what tells wrong credentials from a
    repository the user may not see (registries answer both with 401 or 403)."""
    from zenml_docker_connector.cli import main

    register_docker_connector(unique_name, bed)
    arguments = ["doctor", unique_name, "--repository", REPOSITORY, "--push"]
    server = bed.token_server
    token_mark = server.mark() if server is not None else 0
    with bed.counting() as counted:
        result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    found = counted[0]
    if server is not None:
        assert_cold_minimum(found, bed)
        (token_request,) = server.requests_since(token_mark)
        assert token_request.params.scopes == (f"repository:{REPOSITORY}:pull,push",)
    else:
        assert found.parts == (1, 1, 3) and found.total == bed.minimum + 1, found
        assert found.requests[-1].startswith(f"GET /v2/{REPOSITORY}/tags/list")
        assert found.versions == (TLS_1_3,)


def test_pull_secret(bed: CountedRegistry, unique_name: str) -> None:
    """`zenml-docker pull-secret`: the connector's client is built (ZenML's `_verify`
    calls) and checked once more before the Secret is printed; one check in all."""
    from zenml_docker_connector.cli import main

    register_docker_connector(unique_name, bed)
    with bed.counting() as counted:
        result = CliRunner().invoke(main, ["pull-secret", unique_name])
    assert result.exit_code == 0, result.output
    assert "kind: Secret" in result.stdout
    assert_cold_minimum(counted[0], bed)


def _helper_get(host: str) -> subprocess.CompletedProcess[str]:
    """`docker-credential-zenml get` as docker runs it (its stdout holds the secret)."""
    helper = str(BIN / "docker-credential-zenml")
    result = subprocess.run(
        [helper, "get"], input=host, capture_output=True, text=True, timeout=120
    )
    observe(result.stderr, "stderr of docker-credential-zenml get")
    return result


def test_credential_helper_get(
    bed: CountedRegistry,
    unique_name: str,
    runtime_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`docker-credential-zenml get`: cold, its child process asks ZenML for the connector's
    client, which verifies it (ZenML's `get_connector_client` ends with `_verify`): one
    check. Warm, the helper's own cache answers: no round trip at all. (`configure-docker`
    before it checks the connector once too, in this process.)"""
    from zenml_docker_connector.cli import main
    from zenml_docker_connector.helper import mapping

    monkeypatch.setenv(mapping.MAPPING_ENV, str(tmp_path / "zenml-config" / "mapping.json"))
    register_docker_connector(unique_name, bed)
    with bed.counting() as configuring:
        configured = CliRunner().invoke(main, ["configure-docker", unique_name])
    assert configured.exit_code == 0, configured.output
    assert_cold_minimum(configuring[0], bed)  # configure-docker checks the connector once
    for entry in runtime_dir.rglob("*.json"):  # cold: drop whatever configure-docker cached
        entry.unlink()
    with bed.counting() as cold:
        first = _helper_get(bed.host)
    assert first.returncode == 0, first.stdout
    assert json.loads(first.stdout)["Username"] == bed.username
    assert_cold_minimum(cold[0], bed)
    with bed.counting() as warm:
        second = _helper_get(bed.host)
    same = second.stdout == first.stdout  # not compared in the assert: it holds the secret
    assert second.returncode == 0 and same
    assert warm[0].total == 0, warm[0]
