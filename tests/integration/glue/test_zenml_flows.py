"""ZenML flows in-process: Client() and ZenML's own CLI group, against the real test bed."""

from __future__ import annotations

import base64
import json
import logging
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from testbed.leaks import assert_no_secret
from testbed.local_http import LocalServer, Reply, Seen, basic_challenge, registry_ok
from testbed.unreachable import ResettingListener, SilentListener, closed_port
from testbed.zenml_fixtures import ZenCli, output_of
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.glue.connector import DockerServiceConnector
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.cache import default_cache


def _client() -> Any:
    from zenml.client import Client

    return Client()


def _register(
    name: str, registry: Any, *, password: str | None = None, url: str | None = None
) -> Any:
    return _client().create_service_connector(
        name=name,
        connector_type="docker",
        auth_method="password",
        configuration={
            "username": registry.username,
            "password": password or registry.password,
            "registry": url or registry.url,
        },
    )


def test_our_class_serves_the_docker_type() -> None:
    from zenml.service_connectors.service_connector_registry import service_connector_registry

    spec = service_connector_registry.get_service_connector_type("docker")
    assert spec.connector_class is DockerServiceConnector
    assert spec.supports_auto_configuration
    assert [m.auth_method for m in spec.auth_methods] == ["password"]
    assert [r.resource_type for r in spec.resource_types] == ["docker-registry"]
    fields = spec.auth_methods[0].config_schema["properties"]
    assert list(fields)[:3] == ["username", "password", "registry"]
    assert fields["registry"]["title"] == "Registry server URL. Omit to use DockerHub."


def test_list_types_shows_local(zen: ZenCli) -> None:
    result = zen("service-connector", "list-types", "--type", "docker")
    assert result.exit_code == 0, output_of(result)
    # Narrow consoles (ZenML 0.60 in CliRunner) wrap the name over two table lines.
    assert "Docker Service" in result.output
    assert "docker-registry" in result.output
    assert "✅" in result.output


@pytest.mark.zenml_lines
@pytest.mark.parametrize("registry_fixture", ["htpasswd_registry", "token_registry"])
def test_register_verifies_without_a_daemon(
    request: pytest.FixtureRequest,
    registry_fixture: str,
    unique_name: str,
    no_docker_daemon: None,
    no_podman: None,
) -> None:
    registry = request.getfixturevalue(registry_fixture)
    _, resources = _register(unique_name, registry)
    assert resources.error is None
    assert resources.resources[0].resource_ids == [registry.host]
    verified = _client().verify_service_connector(unique_name)
    assert verified.error is None, verified.error


@pytest.mark.zenml_lines
@pytest.mark.parametrize("registry_fixture", ["htpasswd_registry", "token_registry"])
def test_wrong_password_registers_nothing(
    request: pytest.FixtureRequest, registry_fixture: str, unique_name: str, no_docker_daemon: None
) -> None:
    from zenml.exceptions import AuthorizationException

    registry = request.getfixturevalue(registry_fixture)
    wrong = "definitely-Wrong-pw-1234"
    with pytest.raises(AuthorizationException) as caught:
        _register(unique_name, registry, password=wrong)
    message = str(caught.value)
    assert registry.host in message and f"'{registry.username}'" not in message
    assert_no_secret([message], wrong)
    with pytest.raises(KeyError):
        _client().get_service_connector(unique_name, allow_name_prefix_match=False)


def test_verify_notices_a_password_changed_in_the_registry(
    htpasswd_registry: Any, unique_name: str, no_docker_daemon: None
) -> None:
    user, old = f"u{unique_name[-6:]}", "first-Password-1"
    htpasswd_registry.add_user(user, old)
    _client().create_service_connector(
        name=unique_name,
        connector_type="docker",
        auth_method="password",
        configuration={"username": user, "password": old, "registry": htpasswd_registry.url},
    )
    htpasswd_registry.set_password(user, "second-Password-2")
    # No cache clearing: an explicit verify must ask the registry even within the cache TTL.
    from zenml.exceptions import AuthorizationException

    with pytest.raises(AuthorizationException) as caught:
        _client().verify_service_connector(unique_name)
    message = str(caught.value)
    assert "rejected" in message and htpasswd_registry.host in message
    assert_no_secret([message], old)


def test_interactive_register_prints_the_reference_prompts(
    zen: ZenCli, htpasswd_registry: Any, unique_name: str, no_docker_daemon: None
) -> None:
    answers = "\n".join(
        [
            "",  # name: the one given on the command line
            "",  # description
            "docker",  # type
            "",  # auto-configuration? [y/N]: no
            "y",  # the only auth method
            htpasswd_registry.username,
            htpasswd_registry.password,
            htpasswd_registry.url,
            "",  # insecure: default
            "",  # temporary credentials? [y/N]: no
        ]
    )
    result = zen("service-connector", "register", unique_name, "-in", input=answers + "\n")
    out = " ".join(output_of(result).split())  # the console wraps long prompts
    assert result.exit_code == 0, out
    for line in (
        "Only one resource type is available for this connector (docker-registry).",
        "Only one authentication method is available for this connector (password). "
        "Would you like to use it? [Y/n]:",
        "Please enter the configuration for the Docker username and password/token "
        "authentication method.",
        "[username] Username {string, secret, required}:",
        "[password] Password {string, secret, required}:",
        "[registry] Registry server URL. Omit to use DockerHub. {string, optional}:",
        f"Successfully registered service connector `{unique_name}`",
    ):
        assert line in out
    assert htpasswd_registry.host in out


def test_describe_hides_secrets_unless_asked(
    zen: ZenCli, htpasswd_registry: Any, unique_name: str, no_docker_daemon: None
) -> None:
    _register(unique_name, htpasswd_registry)
    hidden = zen("service-connector", "describe", unique_name)
    assert hidden.exit_code == 0, output_of(hidden)
    assert_no_secret([hidden.output], htpasswd_registry.password)
    shown = zen("service-connector", "describe", unique_name, "-x", shows_secrets=True)
    assert htpasswd_registry.password in shown.output


def test_connect_returns_a_logged_in_client_that_wins_over_helpers(
    htpasswd_registry: Any,
    dockerd: Any,
    tiny_image: str,
    credential_helper: Any,
    docker_config_dir: Path,
    unique_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    # The user's own store says something else for this registry: it must not be used.
    (docker_config_dir / "config.json").write_text(
        json.dumps(
            {
                "auths": {htpasswd_registry.host: {"auth": base64.b64encode(b"x:y").decode()}},
                "credsStore": credential_helper.name,
                "credHelpers": {htpasswd_registry.host: credential_helper.name},
            }
        )
    )
    _register(unique_name, htpasswd_registry)
    connector = _client().get_service_connector_client(unique_name, resource_type="docker-registry")
    client = connector.connect()
    assert isinstance(client, docker.DockerClient)
    target = f"{htpasswd_registry.host}/flows/{unique_name}:1"
    client.images.get(tiny_image).tag(target)
    lines = list(client.images.push(target, stream=True, decode=True))
    assert not [line for line in lines if "error" in line], lines
    client.close()


@pytest.mark.zenml_lines
def test_container_registry_pushes_through_the_connector(
    zen: ZenCli,
    htpasswd_registry: Any,
    dockerd: Any,
    tiny_image: str,
    docker_config_dir: Path,
    unique_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from zenml.enums import StackComponentType

    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    _register(unique_name, htpasswd_registry)
    component = f"cr-{unique_name}"
    uri = f"{htpasswd_registry.host}/team"
    result = zen("container-registry", "register", component, "--flavor=default", f"--uri={uri}")
    assert result.exit_code == 0, output_of(result)
    result = zen("container-registry", "connect", component, "--connector", unique_name)
    assert result.exit_code == 0, output_of(result)

    from zenml.stack import StackComponent

    model = _client().get_stack_component(StackComponentType.CONTAINER_REGISTRY, component)
    registry_component = StackComponent.from_model(model)
    assert registry_component.credentials == (
        htpasswd_registry.username,
        htpasswd_registry.password,
    )
    image = f"{uri}/pushed:{unique_name}"
    dockerd.client().images.get(tiny_image).tag(image)
    push_through_zenml(image, registry_component)
    mark = htpasswd_registry.mark()
    probe = docker.DockerClient(base_url=dockerd.host)
    probe.login(
        htpasswd_registry.username, htpasswd_registry.password, registry=htpasswd_registry.host
    )
    probe.images.pull(f"{uri}/pushed", tag=unique_name)
    assert any(
        path.startswith("/v2/team/pushed/manifests")
        for _, path, _ in htpasswd_registry.requests_since(mark)
    )


def push_through_zenml(image: str, registry_component: Any) -> None:
    """Push as ZenML's image builds do: container engines from 0.94.3, `connect()` before."""
    try:
        from zenml.container_engines import get_container_engine
    except ModuleNotFoundError:  # ZenML < 0.94.3: the component pushes with connect()'s client
        registry_component.push_image(image)
    else:
        get_container_engine().push_image(image, container_registry=registry_component)


@pytest.mark.zenml_lines
def test_service_connector_login_then_docker_cli_pulls_and_logout_undoes_it(
    zen: ZenCli,
    htpasswd_registry: Any,
    dockerd: Any,
    tiny_image: str,
    docker_config_dir: Path,
    unique_name: str,
    no_docker_daemon: None,
) -> None:
    from click.testing import CliRunner

    from testbed.docker_cli import docker_pull, push_tiny_image
    from zenml_docker_connector.cli import main as zenml_docker

    image = push_tiny_image(dockerd, tiny_image, htpasswd_registry)
    _register(unique_name, htpasswd_registry)
    logged_in = zen("service-connector", "login", unique_name)
    out = output_of(logged_in)
    assert logged_in.exit_code == 0, out
    config_path = docker_config_dir / "config.json"
    assert f"WARNING! Your password will be stored unencrypted in {config_path}." in out
    assert_no_secret([out], htpasswd_registry.password)
    pulled = docker_pull(dockerd, docker_config_dir, image)
    assert pulled.returncode == 0, pulled.stderr

    logged_out = CliRunner().invoke(zenml_docker, ["logout", unique_name])
    assert logged_out.exit_code == 0, output_of(logged_out)
    assert htpasswd_registry.host in logged_out.output
    failed = docker_pull(dockerd, docker_config_dir, image)
    assert "no basic auth credentials" in failed.stderr, failed.stderr


@pytest.mark.parametrize("registry_fixture", ["htpasswd_registry", "token_registry"])
@pytest.mark.parametrize("explicit", [True, False], ids=["verify", "cached-verify"])
def test_fifty_parallel_verifies_of_one_connector_agree(
    request: pytest.FixtureRequest, registry_fixture: str, explicit: bool, no_docker_daemon: None
) -> None:
    """`verify()` (register, verify: never cached) and `_verify` (connect, login: cached)."""
    from concurrent.futures import ThreadPoolExecutor

    from zenml.exceptions import AuthorizationException

    from zenml_docker_connector.glue import spec
    from zenml_docker_connector.registry.cache import default_cache

    registry = request.getfixturevalue(registry_fixture)

    def connector(password: str) -> DockerServiceConnector:
        return DockerServiceConnector(
            auth_method="password",
            resource_type="docker-registry",
            config=spec.DockerConnectorConfiguration(
                username=registry.username, password=password, registry=registry.url
            ),
        )

    def verdict(target: DockerServiceConnector) -> str:
        if explicit:
            return str(target.verify().error)
        try:
            return str(target._verify("docker-registry", registry.host))
        except AuthorizationException as error:
            return str(error)

    for password, expected in ((registry.password, None), ("Wrong-Password-123", "rejected")):
        default_cache().clear()
        target = connector(password)
        with ThreadPoolExecutor(50) as pool:
            verdicts = set(pool.map(verdict, [target] * 50))
        assert len(verdicts) == 1, verdicts
        (only,) = verdicts
        if expected is None:
            assert only in ("None", str([registry.host]))
        else:
            assert expected in only and registry.host in only
            assert_no_secret([only], password)


# --- a registry out of reach from here (docs/reachability.md) ------------------------------

UNREACHED_SECRET = "Unreached-Secret-7q"


def _our_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("zenml_docker_connector") and r.levelno == logging.WARNING
    ]


@pytest.mark.parametrize("kind", ["closed-port", "unresolvable"])
def test_register_of_a_registry_out_of_reach_fails_saying_where_and_how_to_skip(
    zen: ZenCli, unique_name: str, kind: str, no_docker_daemon: None
) -> None:
    if kind == "closed-port":
        registry, reason = f"http://127.0.0.1:{closed_port()}", "connection refused"
    else:
        registry, reason = f"{unique_name}.invalid", "the host name does not resolve"
    result = zen.register_docker(
        unique_name, "--username=alice", f"--password={UNREACHED_SECRET}", f"--registry={registry}"
    )
    out = " ".join(output_of(result).split())
    assert result.exit_code != 0, out
    for fragment in (
        parse_registry_reference(registry).resource_id,
        reason,
        "The check ran in this process",
        "`zenml service-connector register <name> --type docker ... --no-verify`",
    ):
        assert fragment in out
    assert_no_secret([out], UNREACHED_SECRET)
    with pytest.raises(KeyError):
        _client().get_service_connector(unique_name, allow_name_prefix_match=False)


def test_clients_of_a_registry_out_of_reach_come_with_one_warning(
    zen: ZenCli,
    unique_name: str,
    caplog: pytest.LogCaptureFixture,
    docker_config_dir: Path,
    no_docker_daemon: None,
    no_podman: None,
) -> None:
    """Registered with `--no-verify`; `get_service_connector_client` and `login` run
    implicit checks: the credentials go out, one warning, the registry asked once."""
    with ResettingListener() as listener:
        registry = f"127.0.0.1:{listener.port}"
        registered = zen.register_docker(
            unique_name,
            "--username=alice",
            f"--password={UNREACHED_SECRET}",
            f"--registry={listener.url}",
            "--no-verify",
        )
        assert registered.exit_code == 0, output_of(registered)
        assert listener.connections == 0
        with caplog.at_level(logging.DEBUG, "zenml_docker_connector"):
            first = _client().get_service_connector_client(
                unique_name, resource_type="docker-registry"
            )
            asked = listener.connections
            second = _client().get_service_connector_client(
                unique_name, resource_type="docker-registry"
            )
            logged_in = zen("service-connector", "login", unique_name)
        assert asked >= 1 and listener.connections == asked  # remembered, not asked again
    for client in (first, second):
        assert isinstance(client, DockerServiceConnector)
        assert client.credentials().secret == UNREACHED_SECRET
    assert logged_in.exit_code == 0, output_of(logged_in)
    assert registry in json.loads((docker_config_dir / "config.json").read_text())["auths"]
    (warning,) = _our_warnings(caplog)
    assert registry in warning and "in this process" in warning, warning
    assert caplog.text.count(f"not asking {registry} again") >= 3
    assert_no_secret([caplog.text, output_of(logged_in)], UNREACHED_SECRET)


def test_a_registry_gone_silent_costs_one_wait_not_one_per_call(
    zen: ZenCli, unique_name: str, caplog: pytest.LogCaptureFixture, no_docker_daemon: None
) -> None:
    """Registered (and verified) while it answered; then it drops every connection attempt
    (a connect timeout, 5 s): the first client waits once, the next one not at all."""
    credentials = Credentials("alice", UNREACHED_SECRET)

    def script(seen: Seen) -> Reply:
        good = seen.headers.get("Authorization") == credentials.basic_header()
        return registry_ok() if good else basic_challenge()

    with LocalServer(script) as server, SilentListener() as silent:
        registered = zen.register_docker(
            unique_name,
            "--username=alice",
            f"--password={UNREACHED_SECRET}",
            f"--registry={server.url}",
        )
        assert registered.exit_code == 0, output_of(registered)
        _point_at(unique_name, silent.url)
        default_cache().clear()  # the verdict of the registration would answer for 60 s
        times = []
        with caplog.at_level(logging.DEBUG, "zenml_docker_connector"):
            for _ in range(2):
                started = time.monotonic()
                _client().get_service_connector_client(unique_name, resource_type="docker-registry")
                times.append(time.monotonic() - started)
    # Without the memory each call would wait twice (ZenML checks the client twice): the
    # first waits once, then every check is answered from memory (1 + 2 of them).
    assert times[0] > 4 and times[1] < 2, times
    registry = f"127.0.0.1:{silent.port}"
    assert caplog.text.count(f"not asking {registry} again") >= 3, caplog.text
    (warning,) = _our_warnings(caplog)
    assert registry in warning and "did not answer in time" in warning


def _point_at(name: str, url: str) -> None:
    """Move a registered connector to another registry URL (the registry "moved away")."""
    from zenml.models import ServiceConnectorUpdate

    connector = _client().get_service_connector(name, expand_secrets=True)
    configuration = {**connector.configuration, "registry": url}
    _client().zen_store.update_service_connector(
        connector.id,
        ServiceConnectorUpdate(
            configuration=configuration, resource_id=parse_registry_reference(url).resource_id
        ),
    )
