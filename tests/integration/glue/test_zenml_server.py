"""Against a real ZenML server: where `register` and `verify` actually run.

With a server, ZenML verifies connectors on the server (with the server's class) and hands
clients connector objects they rebuild with their own class. So: a server with our plugin
must check credentials itself with no Docker daemon; a server that still runs ZenML's built-in
connector must accept what our clients send (including our extra `insecure` field) and give it
back in a form our class can use.

What the built-in server does, as pinned down here: it accepts `insecure` without error,
logs "Ignoring unknown attribute ... insecure" and stores the connector without it, so
reading it back gives our default (`insecure=False`). It does not contact the registry at all:
a wrong password registers and `zenml service-connector verify` says it is fine; only our
class on the client (`get_service_connector_client(...).verify()`) tells the truth.

Client processes are fresh interpreters with their own ZenML home; one Python snippet does
several `Client()` calls where the CLI itself is not the point.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from testbed.leaks import assert_no_secret
from testbed.unreachable import ResettingListener, SilentListener, closed_port
from testbed.zenml_server_fixture import Variant, ZenServer, ZenServerPool

pytestmark = pytest.mark.e2e

IGNORED_FIELD_WARNING = "Ignoring unknown attribute in connector"


@pytest.fixture(scope="module", autouse=True)
def _start_both_servers(zenml_server_pool: ZenServerPool) -> None:
    """Both servers boot in ~7 s; booting them side by side halves the wait."""
    zenml_server_pool.prestart("ours", "builtin")


def _new_user(registry: Any) -> tuple[str, str]:
    """A registry user of this test only, so changing its password disturbs nobody."""
    user = f"u{secrets.token_hex(4)}"
    password = f"Pw-{secrets.token_hex(10)}"
    registry.add_user(user, password)
    return user, password


def _register_snippet(name: str, configuration: dict[str, Any]) -> str:
    """Client code: register a docker connector, emit what came back or the error."""
    return f"""
from zenml.client import Client
from zenml.exceptions import AuthorizationException
try:
    model, resources = Client().create_service_connector(
        name={name!r}, connector_type="docker", auth_method="password",
        configuration={configuration!r},
    )
except AuthorizationException as error:
    emit({{"name": {name!r}, "rejected": str(error)}})
else:
    emit({{
        "name": {name!r},
        "error": resources.error if resources else None,
        "resource_ids": [r.resource_ids for r in resources.resources] if resources else None,
    }})
"""


def _exists_snippet(name: str) -> str:
    return f"""
try:
    Client().get_service_connector({name!r}, allow_name_prefix_match=False)
except KeyError:
    emit({{"registered": False}})
else:
    emit({{"registered": True}})
"""


def _token_outcomes(registry: Any, mark: int, user: str) -> list[int]:
    server = registry.token_server
    return [r.status for r in server.requests_since(mark) if r.params.username == user]


# --- a. a server running our connector ----------------------------------------------------


@pytest.mark.parametrize("registry_fixture", ["htpasswd_registry", "token_registry"])
def test_our_server_verifies_credentials_itself(
    request: pytest.FixtureRequest, registry_fixture: str, zenml_server: ZenServer, tmp_path: Path
) -> None:
    """The client runs with our plugin disabled: its own (built-in) class cannot contact a
    registry, so every registry request and every verdict below comes from the server."""
    registry = request.getfixturevalue(registry_fixture)
    user, password = _new_user(registry)
    wrong = f"Wrong-{secrets.token_hex(6)}"
    good_name, bad_name = f"good-{secrets.token_hex(4)}", f"bad-{secrets.token_hex(4)}"
    client = zenml_server.client(tmp_path, plugin=False)
    server_log_start = len(zenml_server.log())

    mark = registry.mark()
    token_mark = registry.token_server.mark() if registry.token_server else 0
    config = {"username": user, "registry": registry.url}
    bad, bad_exists, good = client.results(
        _register_snippet(bad_name, {**config, "password": wrong})
        + _exists_snippet(bad_name)
        + _register_snippet(good_name, {**config, "password": password})
    )
    seen = registry.requests_since(mark)

    assert "rejected" in bad, bad
    assert registry.host in bad["rejected"] and user not in bad["rejected"], bad
    assert bad_exists == {"registered": False}
    assert good["error"] is None, good
    assert good["resource_ids"] == [[registry.host]], good
    assert any(method == "GET" and path == "/v2/" for method, path, _ in seen), seen
    if registry.token_server is not None:
        outcomes = _token_outcomes(registry, token_mark, user)
        assert 401 in outcomes and 200 in outcomes, outcomes
    else:
        statuses = [status for _, path, status in seen if path == "/v2/"]
        assert 401 in statuses and 200 in statuses, seen
    verify_call = "POST /api/v1/service_connectors/verify"
    assert verify_call in zenml_server.wait_for_log(verify_call, server_log_start)
    assert_no_secret([str(bad), str(good), zenml_server.log()], password)
    assert_no_secret([str(bad), zenml_server.log()], wrong)


@pytest.mark.parametrize("registry_fixture", ["htpasswd_registry", "token_registry"])
def test_our_server_verify_notices_a_changed_password(
    request: pytest.FixtureRequest, registry_fixture: str, zenml_server: ZenServer, tmp_path: Path
) -> None:
    """`zenml service-connector verify` right after the password changed in the registry: the
    server verified these credentials seconds ago, and must ask the registry again."""
    registry = request.getfixturevalue(registry_fixture)
    user, password = _new_user(registry)
    name = f"rotated-{secrets.token_hex(4)}"
    client = zenml_server.client(tmp_path, plugin=False)
    config = {"username": user, "password": password, "registry": registry.url}
    (registered,) = client.results(_register_snippet(name, config))
    assert registered.get("error") is None and "rejected" not in registered, registered

    registry.set_password(user, f"Rotated-{secrets.token_hex(6)}")
    mark = registry.mark()
    verified = client.cli("service-connector", "verify", name)
    output = verified.stdout + verified.stderr
    assert verified.returncode != 0, (
        f"the server still calls the old password valid; registry requests during "
        f"`verify`: {registry.requests_since(mark)}\n{output}"
    )
    assert registry.host in output and user not in output, output
    assert_no_secret([output, zenml_server.log()], password)


def test_our_server_keeps_the_insecure_field(
    htpasswd_registry: Any, zenml_server: ZenServer, tmp_path: Path
) -> None:
    """The contrast to the built-in server below: ours stores `insecure` and hands it back."""
    registry = htpasswd_registry
    name = f"ins-{secrets.token_hex(4)}"
    config = {
        "username": registry.username,
        "password": registry.password,
        "registry": registry.url,
        "insecure": True,
    }
    fetch = f"""
connector = Client().get_service_connector({name!r})
instance = Client().get_service_connector_client({name!r})
emit({{
    "stored": connector.configuration.get("insecure"),
    "class": type(instance).__module__ + "." + type(instance).__name__,
    "insecure": instance.config.insecure,
    "verify_error": instance.verify().error,
}})
"""
    registered, fetched = zenml_server.client(tmp_path).results(
        _register_snippet(name, config) + fetch
    )
    assert registered.get("error") is None and "rejected" not in registered, registered
    assert fetched == {
        "stored": True,
        "class": "zenml_docker_connector.glue.connector.DockerServiceConnector",
        "insecure": True,
        "verify_error": None,
    }


def test_our_server_refuses_to_register_a_registry_it_cannot_reach(
    zenml_server: ZenServer, tmp_path: Path
) -> None:
    """An explicit check on the server: the message says the server could not reach it and
    how to register without checking (docs/reachability.md)."""
    closed, unresolvable = f"127.0.0.1:{closed_port()}", f"r-{secrets.token_hex(4)}.invalid"
    password = f"Pw-{secrets.token_hex(10)}"
    code = "".join(
        _register_snippet(
            f"far-{secrets.token_hex(4)}",
            {"username": "alice", "password": password, "registry": url},
        )
        for url in (f"http://{closed}", unresolvable)
    )
    results = zenml_server.client(tmp_path, plugin=False).results(code)
    reasons = ("connection refused", "the host name does not resolve")
    for result, registry, reason in zip(results, (closed, unresolvable), reasons, strict=True):
        message = " ".join(result.get("rejected", "").split())
        assert registry in message and reason in message, result
        assert "The check ran on the ZenML server" in message, message
        assert "--no-verify" in message, message
    assert_no_secret([str(results), zenml_server.log()], password)


def test_our_server_hands_out_clients_of_a_registry_it_cannot_reach_with_one_warning(
    zenml_server: ZenServer, tmp_path: Path
) -> None:
    """Registered with --no-verify; `get_service_connector_client` runs on the server (an
    implicit check): the client gets the credentials and the server logs one warning. A
    second client process is answered from the server's memory: the registry is not asked
    again, and a silent one (connects time out after 5 s) costs no second wait."""
    password = f"Pw-{secrets.token_hex(10)}"
    with ResettingListener() as resetting, SilentListener() as silent:
        urls = {
            f"rst-{secrets.token_hex(4)}": resetting.url,
            f"sil-{secrets.token_hex(4)}": silent.url,
        }
        log_start = len(zenml_server.log())
        client = zenml_server.client(tmp_path, plugin=False)
        first = client.results(
            "".join(_register_unverified_snippet(n, u, password) for n, u in urls.items())
            + _fetch_clients_snippet(list(urls), password)
        )
        asked = resetting.connections
        second = client.results(_fetch_clients_snippet(list(urls), password))
        assert asked >= 1 and resetting.connections == asked  # remembered on the server
    assert first[0]["secret_matches"] and second[0]["secret_matches"], (first, second)
    # [reset, silent] per fetch: the silent one waits one connect timeout (5 s), once.
    waited, again = first[0]["times"], second[0]["times"]
    assert waited[1] < 12 and max(again) < 2, (first, second)
    log = zenml_server.log()[log_start:]
    for url in urls.values():
        registry = url.removeprefix("http://")
        warnings = [
            line for line in log.splitlines() if "handed out unchecked" in line and registry in line
        ]
        assert len(warnings) == 1, log
        assert "cannot be reached on the ZenML server" in warnings[0], warnings
    assert_no_secret([str(first), str(second), log], password)


def _register_unverified_snippet(name: str, url: str, password: str) -> str:
    configuration = {"username": "alice", "password": password, "registry": url}
    return f"""
from zenml.client import Client
Client().create_service_connector(
    name={name!r}, connector_type="docker", auth_method="password",
    configuration={configuration!r}, verify=False, list_resources=False,
)
"""


def _fetch_clients_snippet(names: list[str], password: str) -> str:
    """Client code: fetch each connector's client (timed) and check what came back."""
    return f"""
import time
from zenml.client import Client
times, matches = [], []
for name in {names!r}:
    started = time.monotonic()
    fetched = Client().get_service_connector_client(name, resource_type="docker-registry")
    times.append(time.monotonic() - started)
    matches.append(fetched.config.password.get_secret_value() == {password!r})
emit({{"times": times, "secret_matches": all(matches)}})
"""


# --- b. a server running ZenML's built-in connector, clients with our plugin --------------


def test_builtin_server_accepts_and_drops_our_extra_field(
    htpasswd_registry: Any, builtin_zenml_server: ZenServer, tmp_path: Path
) -> None:
    registry = htpasswd_registry
    server = builtin_zenml_server
    client = server.client(tmp_path)
    names = {"with": f"ins-{secrets.token_hex(4)}", "without": f"plain-{secrets.token_hex(4)}"}
    base = {"username": registry.username, "password": registry.password, "registry": registry.url}
    fetch = """
import inspect
_flag = "expand_secrets" if "expand_secrets" in inspect.signature(
    Client().get_service_connector).parameters else "load_secrets"  # ZenML 0.60
connector = Client().get_service_connector({name!r}, **{{_flag: True}})
instance = Client().get_service_connector_client({name!r})
result = instance.verify()
emit({{
    # ZenML 0.60 keeps the secret fields apart from the configuration, in `secrets`.
    "stored_fields": sorted({{*connector.configuration, *(getattr(connector, "secrets", None) or {{}})}}),
    "class": type(instance).__module__ + "." + type(instance).__name__,
    "insecure": instance.config.insecure,
    "registry": instance.config.registry,
    "verify_error": result.error,
    "verified_ids": [r.resource_ids for r in result.resources],
}})
"""
    server_log_start = len(server.log())
    mark = registry.mark()
    with_field, without_field, fetched_with, fetched_without = client.results(
        _register_snippet(names["with"], {**base, "insecure": True})
        + _register_snippet(names["without"], base)
        + fetch.format(name=names["with"])
        + fetch.format(name=names["without"])
    )
    seen = registry.requests_since(mark)

    for registered in (with_field, without_field):
        assert registered.get("error") is None and "rejected" not in registered, registered
        assert registered["resource_ids"] == [[registry.host]], registered
    warning = f"{IGNORED_FIELD_WARNING} '{names['with']}' configuration insecure"
    log = server.wait_for_log(warning, server_log_start)
    assert warning in log, log
    assert f"{IGNORED_FIELD_WARNING} '{names['without']}'" not in log
    for fetched in (fetched_with, fetched_without):
        assert fetched["stored_fields"] == ["password", "registry", "username"], fetched
        assert fetched["class"] == "zenml_docker_connector.glue.connector.DockerServiceConnector"
        assert fetched["insecure"] is False, "the built-in server does not keep `insecure`"
        assert fetched["registry"] == registry.url
        assert fetched["verify_error"] is None, fetched
        assert fetched["verified_ids"] == [[registry.host]], fetched
    # Those verifications ran on the client, with our class, against the real registry
    # (once: the second connector has the same credentials, so the process cache answers).
    assert ("GET", "/v2/", 200) in seen, seen
    assert_no_secret([str(with_field), str(fetched_with), log], registry.password)


def test_builtin_server_does_not_check_credentials_but_our_client_does(
    token_registry: Any, builtin_zenml_server: ZenServer, tmp_path: Path
) -> None:
    """Pins down why the plugin belongs on the server too: the built-in server accepts
    anything, and only our class on the client notices the wrong password."""
    registry = token_registry
    name = f"wrong-{secrets.token_hex(4)}"
    wrong = f"Wrong-{secrets.token_hex(6)}"
    client = builtin_zenml_server.client(tmp_path)
    config = {"username": registry.username, "password": wrong, "registry": registry.url}
    token_mark = registry.token_server.mark()
    mark = registry.mark()
    registered, server_verdict = client.results(
        _register_snippet(name, config)
        + f"emit({{'error': Client().verify_service_connector({name!r}).error}})\n"
    )
    assert registered.get("error") is None and "rejected" not in registered, registered
    assert server_verdict == {"error": None}
    assert registry.requests_since(mark) == []
    assert registry.token_server.requests_since(token_mark) == []

    (local_verdict,) = client.results(
        "from zenml.client import Client\n"
        f"result = Client().get_service_connector_client({name!r}).verify()\n"
        "emit({'error': result.error})\n"
    )
    assert local_verdict["error"], local_verdict
    assert registry.host in local_verdict["error"], local_verdict
    assert _token_outcomes(registry, token_mark, registry.username).count(401) >= 1
    assert_no_secret([str(local_verdict)], wrong)


def test_builtin_server_connector_connects_with_our_class(
    htpasswd_registry: Any, builtin_zenml_server: ZenServer, dockerd: Any, tmp_path: Path
) -> None:
    registry = htpasswd_registry
    name = f"conn-{secrets.token_hex(4)}"
    base = {"username": registry.username, "password": registry.password, "registry": registry.url}
    client = builtin_zenml_server.client(tmp_path, DOCKER_HOST=dockerd.host)
    mark = registry.mark()
    connect = f"""
docker_client = Client().get_service_connector_client({name!r}).connect()
kind = type(docker_client)
emit({{"type": kind.__module__ + "." + kind.__name__, "ping": docker_client.ping()}})
"""
    registered, connected = client.results(_register_snippet(name, base) + connect)
    assert registered.get("error") is None, registered
    assert connected == {"type": "docker.client.DockerClient", "ping": True}
    # One accepted ping for our verification in connect(), one for the daemon's login.
    seen = registry.requests_since(mark)
    assert [s for m, p, s in seen if m == "GET" and p == "/v2/"].count(200) >= 2, seen


# --- c. list-types through the server ------------------------------------------------------


@pytest.mark.parametrize("variant", ["ours", "builtin"])
def test_list_types_through_the_server(
    variant: Variant, zenml_server_pool: ZenServerPool, tmp_path: Path
) -> None:
    server = zenml_server_pool.get(variant)
    listed = server.client(tmp_path).cli("service-connector", "list-types", "--type", "docker")
    output = listed.stdout + listed.stderr
    assert listed.returncode == 0, output
    # ZenML prints its tables on stderr.
    rows = [line for line in output.splitlines() if "Docker Service Connector" in line]
    assert len(rows) == 1, output
    row = rows[0]
    assert "docker" in row and "docker-registry" in row and "password" in row, row
    assert row.count("✅") == 2, f"LOCAL and REMOTE must both be ✅:\n{output}"
    # The server's own spec says which class it runs; ours advertises `insecure`.
    spec = server.api_get("/service_connector_types/docker")
    fields = spec["auth_methods"][0]["config_schema"]["properties"]
    assert ("insecure" in fields) == (variant == "ours"), sorted(fields)
    assert spec["supports_auto_configuration"] == (variant == "ours")
