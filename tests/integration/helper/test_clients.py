"""`configure-docker`, `exec` and `docker-credential-zenml` with the real clients and ZenML.

The docker CLI (against a private dockerd) runs the helper on the client side for every push
and pull, podman and skopeo read `credHelpers` from the auth file; ZenML is the in-process
test store, which the helper's child process opens through the same ZENML_CONFIG_PATH.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from testbed.docker_cli import docker
from testbed.leaks import assert_no_secret
from testbed.podman_cli import podman_pull
from testbed.requirements import require_binary
from testbed.secret_scan import observe
from testbed.zenml_fixtures import register_docker_connector
from zenml_docker_connector.cli import main
from zenml_docker_connector.helper import cache, mapping

BIN = Path(sys.executable).parent
HELPER = str(BIN / "docker-credential-zenml")


@pytest.fixture(scope="module", autouse=True)
def _registries_started_first(htpasswd_registry: Any, token_registry: Any) -> None:
    """docker-registry reads REGISTRY_* variables: start it before REGISTRY_AUTH_FILE is set."""


@pytest.fixture
def served_env(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    runtime_dir: Path,
    docker_config_dir: Path,
    containers_auth_file: Path,
) -> Path:
    """Every client file under tmp_path, a mapping of the test's own, the helper on PATH."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv(mapping.MAPPING_ENV, str(tmp_path / "zenml-config" / "mapping.json"))
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("DOCKER_AUTH_CONFIG", raising=False)
    return tmp_path


def configure(*args: str) -> Any:
    result = CliRunner().invoke(main, ["configure-docker", *args], catch_exceptions=False)
    return result


def helper(action: str, stdin: str) -> subprocess.CompletedProcess[str]:
    """The helper as docker runs it; stdout is only observed when it holds no credential."""
    result = subprocess.run(
        [HELPER, action], input=stdin, capture_output=True, text=True, timeout=120
    )
    observe(result.stderr, f"stderr of docker-credential-zenml {action}")
    if result.returncode != 0:
        observe(result.stdout, f"stdout of docker-credential-zenml {action}")
    return result


def assert_one_line_failure(result: subprocess.CompletedProcess[str], *secrets: str) -> None:
    assert result.returncode == 1
    assert result.stdout.count("\n") == 1 and "Traceback" not in result.stdout + result.stderr
    assert_no_secret([result.stdout, result.stderr], *secrets)


def client_texts(root: Path) -> list[str]:
    """Every file under `root` (the client files, the mapping, HOME), as text."""
    return [
        path.read_bytes().decode("latin-1")
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink()
    ]


@pytest.mark.parametrize("kind", ["htpasswd", "token"])
def test_configured_clients_push_and_pull_with_no_secret_in_their_files(
    kind: str,
    request: pytest.FixtureRequest,
    served_env: Path,
    dockerd: Any,
    tiny_image: str,
    docker_config_dir: Path,
    containers_auth_file: Path,
    unique_name: str,
) -> None:
    registry = request.getfixturevalue(f"{kind}_registry")
    register_docker_connector(unique_name, registry)
    result = configure(unique_name)
    assert result.exit_code == 0, result.output
    config = json.loads((docker_config_dir / "config.json").read_text())
    assert config["credHelpers"] == {registry.host: "zenml"}
    assert json.loads(containers_auth_file.read_text())["credHelpers"] == {registry.host: "zenml"}
    mapping_file = Path(mapping.mapping_path())
    assert mapping_file.stat().st_mode & 0o777 == 0o600

    image = f"{registry.host}/helper/img-{uuid.uuid4().hex[:8]}:1"
    assert docker(dockerd, docker_config_dir, "tag", tiny_image, image).returncode == 0
    pushed = docker(dockerd, docker_config_dir, "push", image)
    assert pushed.returncode == 0, pushed.stderr
    docker(dockerd, docker_config_dir, "rmi", image)
    pulled = docker(dockerd, docker_config_dir, "pull", image)
    assert pulled.returncode == 0, pulled.stderr
    docker(dockerd, docker_config_dir, "rmi", image)
    # A build whose base is only in the registry (buildx cannot be installed here: `docker
    # build` + `docker push` on the same daemon stand in): the CLI hands the daemon the
    # helper's credentials for the base and the push.
    context = served_env / f"build-{kind}"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {image}\nLABEL zdc.built=yes\n")
    built = f"{registry.host}/helper/built-{uuid.uuid4().hex[:8]}:1"
    build = docker(dockerd, docker_config_dir, "build", "-t", built, str(context))
    assert build.returncode == 0, build.stderr
    pushed_build = docker(dockerd, docker_config_dir, "push", built)
    assert pushed_build.returncode == 0, pushed_build.stderr
    docker(dockerd, docker_config_dir, "rmi", built, image)

    podman = podman_pull(served_env, containers_auth_file, image)
    assert podman.returncode == 0, podman.stderr
    skopeo = subprocess.run(
        [
            *(require_binary("skopeo", "skopeo"), "inspect", "--tls-verify=false"),
            *("--authfile", str(containers_auth_file), f"docker://{image}"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert skopeo.returncode == 0, skopeo.stderr
    assert_no_secret(client_texts(served_env), registry.password, usernames=[registry.username])


def test_docker_login_and_logout_still_work_for_a_served_registry(
    served_env: Path,
    dockerd: Any,
    htpasswd_registry: Any,
    docker_config_dir: Path,
    unique_name: str,
) -> None:
    registry = htpasswd_registry
    register_docker_connector(unique_name, registry)
    assert configure(unique_name).exit_code == 0
    login = subprocess.run(
        ["docker", "login", registry.host, "-u", registry.username, "--password-stdin"],
        input=registry.password,
        env={**dockerd.env(), "DOCKER_CONFIG": str(docker_config_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    observe(login.stdout + login.stderr, "docker login")
    assert login.returncode == 0, login.stderr
    assert "Login Succeeded" in login.stdout
    assert_no_secret(client_texts(served_env), registry.password, usernames=[registry.username])
    logout = docker(dockerd, docker_config_dir, "logout", registry.host)
    assert logout.returncode == 0, logout.stderr
    assert "WARNING" not in logout.stderr
    # The helper still serves the registry after the logout.
    got = helper("get", registry.host)
    assert got.returncode == 0 and json.loads(got.stdout)["Username"] == registry.username


def test_undo_removes_what_configure_set_and_keeps_the_rest(
    served_env: Path, htpasswd_registry: Any, docker_config_dir: Path, unique_name: str
) -> None:
    (docker_config_dir / "config.json").write_text(
        json.dumps({"credHelpers": {"gcr.io": "gcloud"}, "proxies": {"default": {}}})
    )
    register_docker_connector(unique_name, htpasswd_registry)
    assert configure(unique_name).exit_code == 0
    undone = configure("--undo", unique_name)
    assert undone.exit_code == 0 and "no longer served" in undone.output
    config = json.loads((docker_config_dir / "config.json").read_text())
    assert config == {"credHelpers": {"gcr.io": "gcloud"}, "proxies": {"default": {}}}
    assert json.loads(Path(mapping.mapping_path()).read_text())["registries"] == {}
    assert (
        helper("get", htpasswd_registry.host).stdout == "credentials not found in native keychain\n"
    )
    assert "Nothing to undo" in configure("--undo", unique_name).output


def test_the_mapping_lives_in_zenmls_config_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    from zenml.utils.io_utils import get_global_config_directory

    monkeypatch.delenv(mapping.MAPPING_ENV, raising=False)
    assert mapping.zenml_config_directory() == get_global_config_directory()
    monkeypatch.delenv("ZENML_CONFIG_PATH")
    assert mapping.zenml_config_directory() == get_global_config_directory()


# --- exec -------------------------------------------------------------------------------


def zenml_docker(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "zenml-docker"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_exec_runs_a_pull_and_leaves_nothing_behind(
    served_env: Path,
    dockerd: Any,
    tiny_image: str,
    htpasswd_registry: Any,
    docker_config_dir: Path,
    unique_name: str,
) -> None:
    registry = htpasswd_registry
    register_docker_connector(unique_name, registry)
    image = f"{registry.host}/helper/exec-{uuid.uuid4().hex[:8]}:1"
    script = (
        'echo "$DOCKER_CONFIG" > "$1"; docker tag "$2" "$3" && docker push "$3" >/dev/null '
        '&& docker rmi "$3" >/dev/null && docker pull "$3" >/dev/null && exit 7'
    )
    seen = served_env / "seen"
    process = zenml_docker(
        "exec",
        unique_name,
        "--",
        "sh",
        "-c",
        script,
        "sh",
        str(seen),
        tiny_image,
        image,
        env={**dockerd.env(), "PATH": os.environ["PATH"]},
    )
    out, err = process.communicate(timeout=300)
    observe(out + err, "zenml-docker exec")
    assert process.returncode == 7, err
    private = Path(seen.read_text().strip())
    assert private.name.startswith("zenml-docker-exec-") and not private.exists()
    assert not (docker_config_dir / "config.json").exists(), "the user's files are untouched"
    assert_no_secret(client_texts(served_env), registry.password, usernames=[registry.username])


def test_exec_cleans_up_when_terminated(
    served_env: Path, htpasswd_registry: Any, unique_name: str
) -> None:
    register_docker_connector(unique_name, htpasswd_registry)
    seen = served_env / "seen"
    process = zenml_docker(
        "exec",
        unique_name,
        "--",
        "sh",
        "-c",
        'echo "$DOCKER_CONFIG" > "$1"; exec sleep 60',
        "sh",
        str(seen),
    )
    deadline = time.monotonic() + 120
    while not (seen.exists() and seen.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    private = Path(seen.read_text().strip())
    assert private.is_dir() and private.stat().st_mode & 0o777 == 0o700
    assert json.loads((private / "config.json").read_text())["credHelpers"] == {
        htpasswd_registry.host: "zenml"
    }
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    observe(out + err, "zenml-docker exec (terminated)")
    assert process.returncode == 128 + signal.SIGTERM
    assert not private.exists()


# --- failures through the real ZenML ------------------------------------------------------


def test_a_deleted_connector_fails_in_one_line(
    served_env: Path, htpasswd_registry: Any, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zenml.client import Client

    monkeypatch.setenv(cache.RECHECK_ENV, "0")
    register_docker_connector(unique_name, htpasswd_registry)
    assert configure(unique_name).exit_code == 0
    Client().delete_service_connector(unique_name)
    result = helper("get", htpasswd_registry.host)
    assert_one_line_failure(result, htpasswd_registry.password)
    assert "deleted?" in result.stdout
    assert not list(Path(os.environ["XDG_RUNTIME_DIR"]).rglob("*.json"))


def test_a_changed_connector_is_served_anew(
    served_env: Path,
    htpasswd_registry: Any,
    unique_name: str,
    monkeypatch: pytest.MonkeyPatch,
    new_secret: Any,
) -> None:
    """The entry is keyed on the connector's `updated` time: an update replaces it."""
    from zenml.client import Client

    monkeypatch.setenv(cache.RECHECK_ENV, "0")
    registry = htpasswd_registry
    register_docker_connector(unique_name, registry)
    assert configure(unique_name).exit_code == 0
    assert json.loads(helper("get", registry.host).stdout)["Username"] == registry.username
    user, password = f"rotated-{uuid.uuid4().hex[:6]}", new_secret("rotated password")
    registry.add_user(user, password)
    try:
        Client().update_service_connector(
            unique_name,
            configuration={"username": user, "password": password, "registry": registry.url},
        )
        got = helper("get", registry.host)
        assert got.returncode == 0
        assert (json.loads(got.stdout)["Username"], json.loads(got.stdout)["Secret"]) == (
            user,
            password,
        )
    finally:
        registry.remove_user(user)


def _route_to(connector_id: str, name: str, registry: str) -> None:
    route = mapping.Route(registry, connector_id, name, None, "u")
    path = Path(mapping.mapping_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "registries": {registry: route.as_json()}}))
    path.chmod(0o600)


def test_a_connector_without_the_registry_type_fails_in_one_line(
    served_env: Path, unique_name: str
) -> None:
    from zenml.client import Client

    pytest.importorskip("boto3")
    secret = "aws-S3-only-" + uuid.uuid4().hex
    from testbed.secret_scan import register_secret

    register_secret(secret, "S3-only AWS connector secret")
    model, _ = Client().create_service_connector(
        name=unique_name,
        connector_type="aws",
        auth_method="secret-key",
        resource_type="s3-bucket",
        configuration={
            "aws_access_key_id": "AKIAEXAMPLEEXAMPLE",
            "aws_secret_access_key": secret,
            "region": "us-east-1",
        },
        verify=False,
        list_resources=False,
    )
    _route_to(str(model.id), unique_name, "127.0.0.1:5999")
    result = helper("get", "127.0.0.1:5999")
    assert_one_line_failure(result, secret)
    assert unique_name in result.stdout


def test_zenml_not_configured_fails_in_one_line(
    served_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ZenML home never used: ZenML sets itself up (and says so, on stdout: not ours)."""
    _route_to(str(uuid.uuid4()), "elsewhere", "127.0.0.1:5997")
    monkeypatch.setenv("ZENML_CONFIG_PATH", str(served_env / "fresh-zenml-home"))
    monkeypatch.setenv("ZENML_LOGGING_VERBOSITY", "INFO")
    result = helper("get", "127.0.0.1:5997")
    assert_one_line_failure(result)
    assert result.stdout.startswith("no ZenML service connector"), result.stdout


def test_an_unreachable_zenml_server_fails_in_one_line(
    served_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from testbed.net import free_port

    _route_to(str(uuid.uuid4()), "gone", "127.0.0.1:5998")
    monkeypatch.setenv("ZENML_STORE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("ZENML_STORE_API_KEY", "ZENKEY_not-a-real-key")
    monkeypatch.setenv("ZENML_DOCKER_CREDENTIAL_FETCH_TIMEOUT", "30")
    started = time.monotonic()
    result = helper("get", "127.0.0.1:5998")
    assert_one_line_failure(result)
    assert time.monotonic() - started < 60
