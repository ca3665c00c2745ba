"""Local login/logout, proven with the real docker CLI + dockerd, podman, skopeo and a helper.

The file-level behaviour without any client or helper is in tests/unit/local/test_login.py.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from testbed.docker_cli import docker_pull as _pull
from testbed.docker_cli import push_tiny_image as _push
from testbed.isolation import filtered_path
from testbed.leaks import assert_no_secret
from testbed.local_stores import RICH_CONFIG
from testbed.requirements import require_binary
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.glue.zenml_settings import configured_container_engine
from zenml_docker_connector.local.login import (
    LoginResult,
    login_local_clients,
    logout_local_clients,
)
from zenml_docker_connector.references import RegistryReference, parse_registry_reference

# What the docker CLI (28.2) prints when a pull from a Basic-auth registry has no credentials.
NO_BASIC_AUTH = "no basic auth credentials"


@pytest.fixture(scope="module", autouse=True)
def _registries_started_first(htpasswd_registry: Any, token_registry: Any) -> None:
    """Start the shared registries before REGISTRY_AUTH_FILE is set: docker-registry reads
    REGISTRY_* variables as configuration overrides (REGISTRY_AUTH_FILE = `auth: <path>`) and
    refuses to start. (The testbed passes the test's environment through.)"""


@pytest.fixture(autouse=True)
def isolated(
    tmp_path: Path,
    docker_config_dir: Path,
    containers_auth_file: Path,
    no_docker_daemon: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every file a login may touch lives under tmp_path; no ZenML engine preference."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("ZENML_CONTAINER_ENGINE", raising=False)


def _ref(registry: Any) -> RegistryReference:
    return parse_registry_reference(registry.host)


def _b64(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _config(docker_config_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((docker_config_dir / "config.json").read_text())
    return loaded


def _login(
    reference: RegistryReference, username: str, password: str, *, engine: str | None = None
) -> LoginResult:
    """Log in as the connector does: its credentials, ZenML's container engine setting."""
    return login_local_clients(
        reference,
        Credentials(username, password),
        engine=engine,
        engine_setting=configured_container_engine(),
    )


# --- the docker CLI ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["htpasswd", "token"])
def test_docker_cli_pulls_after_login_and_not_after_logout(
    kind: str,
    request: pytest.FixtureRequest,
    dockerd: Any,
    tiny_image: str,
    docker_config_dir: Path,
) -> None:
    registry = request.getfixturevalue(f"{kind}_registry")
    image = _push(dockerd, tiny_image, registry)
    before = _pull(dockerd, docker_config_dir, image)
    assert before.returncode != 0

    # The daemon is unreachable for the login itself (DOCKER_HOST points nowhere).
    result = _login(_ref(registry), registry.username, registry.password)

    config_path = docker_config_dir / "config.json"
    assert result.plaintext_path == config_path
    assert result.stored == (
        f"docker: credentials for {registry.host} in {config_path} (not encrypted)",
    )
    assert _config(docker_config_dir) == {
        "auths": {registry.host: {"auth": _b64(registry.username, registry.password)}}
    }
    assert _mode(config_path) == 0o600
    pulled = _pull(dockerd, docker_config_dir, image)
    assert pulled.returncode == 0, pulled.stderr

    out = logout_local_clients(_ref(registry))
    assert out.removed == (f"docker: auths entry {registry.host!r} from {config_path}",)
    assert _config(docker_config_dir) == {"auths": {}}
    failed = _pull(dockerd, docker_config_dir, image)
    assert failed.returncode != 0
    if kind == "htpasswd":
        assert NO_BASIC_AUTH in failed.stderr, failed.stderr
    else:
        assert "pull access denied" in failed.stderr, failed.stderr
    assert failed.stderr == before.stderr


def test_creds_store_helper_holds_the_secret_and_the_cli_uses_it(
    dockerd: Any,
    tiny_image: str,
    docker_config_dir: Path,
    htpasswd_registry: Any,
    credential_helper: Any,
) -> None:
    registry = htpasswd_registry
    image = _push(dockerd, tiny_image, registry)
    original = {
        "credsStore": credential_helper.name,
        "auths": {registry.host: {"auth": _b64("stale", "stale-password")}},
        "proxies": {"default": {"noProxy": "*"}},
    }
    (docker_config_dir / "config.json").write_text(json.dumps(original))

    result = _login(_ref(registry), registry.username, registry.password)

    assert result.plaintext_path is None
    assert "docker-credential-testbed" in result.stored[0]
    text = (docker_config_dir / "config.json").read_text()
    assert_no_secret(text, registry.password, usernames=[registry.username])
    assert json.loads(text) == {**original, "auths": {registry.host: {}}}
    assert credential_helper.entries() == {
        registry.host: {"Username": registry.username, "Secret": registry.password}
    }
    assert _pull(dockerd, docker_config_dir, image).returncode == 0

    out = logout_local_clients(_ref(registry))
    assert len(out.removed) == 2 and "docker-credential-testbed" in out.removed[0]
    assert credential_helper.entries() == {}
    assert json.loads((docker_config_dir / "config.json").read_text()) == {
        **original,
        "auths": {},
    }
    assert NO_BASIC_AUTH in _pull(dockerd, docker_config_dir, image).stderr
    assert credential_helper.calls() == [
        ("store", registry.host),
        ("get", registry.host),
        ("erase", registry.host),
        ("get", registry.host),
    ]


def test_cred_helpers_entry_wins_over_creds_store(
    docker_config_dir: Path, htpasswd_registry: Any, credential_helper: Any
) -> None:
    registry = htpasswd_registry
    config = {
        "credsStore": "not-installed",
        "credHelpers": {registry.host: credential_helper.name, "other.example": "nope"},
    }
    (docker_config_dir / "config.json").write_text(json.dumps(config, indent=2))
    result = _login(_ref(registry), registry.username, registry.password)
    assert result.plaintext_path is None
    assert f"credHelpers[{registry.host!r}]" in result.stored[0]
    text = (docker_config_dir / "config.json").read_text()
    assert_no_secret(text, registry.password, usernames=[registry.username])
    assert json.loads(text) == {**config, "auths": {registry.host: {}}}
    assert credential_helper.entries()[registry.host]["Secret"] == registry.password
    logout_local_clients(_ref(registry), engine="docker")
    assert credential_helper.entries() == {}


def test_an_empty_cred_helpers_entry_means_plain_file_like_the_docker_cli(
    dockerd: Any, tiny_image: str, docker_config_dir: Path, htpasswd_registry: Any
) -> None:
    registry = htpasswd_registry
    image = _push(dockerd, tiny_image, registry)
    config = {"credsStore": "not-installed", "credHelpers": {registry.host: ""}}
    (docker_config_dir / "config.json").write_text(json.dumps(config))
    result = _login(_ref(registry), registry.username, registry.password)
    assert result.plaintext_path == docker_config_dir / "config.json"
    # The real CLI agrees: it reads the plain entry and never runs the missing helper.
    pulled = _pull(dockerd, docker_config_dir, image)
    assert pulled.returncode == 0, pulled.stderr


def test_secrets_reach_the_helper_on_stdin_only(
    tmp_path: Path,
    docker_config_dir: Path,
    htpasswd_registry: Any,
    credential_helper: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = htpasswd_registry
    spy_bin = tmp_path / "spy-bin"
    spy_bin.mkdir()
    argv_log = tmp_path / "argv.log"
    spy = spy_bin / "docker-credential-spy"
    spy.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> {argv_log}\nexec {credential_helper.executable} "$@"\n'
    )
    spy.chmod(0o755)
    monkeypatch.setenv("PATH", f"{spy_bin}{os.pathsep}{os.environ['PATH']}")
    (docker_config_dir / "config.json").write_text(json.dumps({"credsStore": "spy"}))

    _login(_ref(registry), registry.username, registry.password)
    logout_local_clients(_ref(registry))

    assert argv_log.read_text().splitlines() == ["store", "erase"]
    # The testbed helper reads the server URL from stdin: it saw both.
    assert credential_helper.calls() == [("store", registry.host), ("erase", registry.host)]


def test_a_failing_helper_changes_nothing_and_leaks_nothing(
    docker_config_dir: Path, htpasswd_registry: Any, credential_helper: Any
) -> None:
    registry = htpasswd_registry
    original = json.dumps({"credsStore": credential_helper.name, "auths": {}})
    (docker_config_dir / "config.json").write_text(original)
    credential_helper.break_with(
        "fail", message=f"cannot store {registry.password} for {registry.username}"
    )
    with pytest.raises(LocalConfigError) as caught:
        _login(_ref(registry), registry.username, registry.password)
    message = str(caught.value)
    assert "docker-credential-testbed" in message and registry.host in message
    assert_no_secret(message, registry.password, usernames=[registry.username])
    assert (docker_config_dir / "config.json").read_text() == original


def test_login_needs_no_daemon_and_no_existing_directory(
    tmp_path: Path, htpasswd_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "fresh" / ".docker"
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    registry = htpasswd_registry
    _login(_ref(registry), registry.username, registry.password, engine="docker")
    assert _mode(config_dir) == 0o700
    assert _mode(config_dir / "config.json") == 0o600


def test_other_keys_survive_login_and_logout_exactly(
    docker_config_dir: Path, htpasswd_registry: Any
) -> None:
    registry = htpasswd_registry
    original = {
        "auths": {
            "https://index.docker.io/v1/": {},
            "ghcr.io": {"auth": _b64("someone", "elses")},
        },
        "credsStore": "",
        "credHelpers": {"gcr.io": "gcloud"},
        "proxies": {"default": {"httpProxy": "http://127.0.0.1:3128"}},
        "HttpHeaders": {"X-Meta": "1"},
        "currentContext": "ctx",
        "psFormat": "table {{.ID}}",
        "features": {"hooks": "true"},
        "plugins": {"x": {"y": [1, 2.5, None, True]}},
    }
    path = docker_config_dir / "config.json"
    path.write_text(json.dumps(original))
    _login(_ref(registry), registry.username, registry.password, engine="docker")
    after = json.loads(path.read_text())
    assert list(after) == list(original)
    assert list(after["auths"]) == [*original["auths"], registry.host]
    logout_local_clients(_ref(registry), engine="docker")
    assert json.dumps(json.loads(path.read_text())) == json.dumps(original)


def test_a_corrupt_config_is_left_byte_identical(
    docker_config_dir: Path, htpasswd_registry: Any
) -> None:
    registry = htpasswd_registry
    path = docker_config_dir / "config.json"
    corrupt = b'{"auths": {"ghcr.io": {"auth": "c2VjcmV0"}}, "credsStore": '
    path.write_bytes(corrupt)
    with pytest.raises(LocalConfigError) as caught:
        _login(_ref(registry), registry.username, registry.password)
    message = str(caught.value)
    assert str(path) in message and "not valid JSON" in message and "left unchanged" in message
    assert "c2VjcmV0" not in message
    assert_no_secret(message, registry.password, usernames=[registry.username])
    assert path.read_bytes() == corrupt
    with pytest.raises(LocalConfigError):
        logout_local_clients(_ref(registry))
    assert path.read_bytes() == corrupt


def test_a_symlinked_config_stays_a_symlink(
    tmp_path: Path, docker_config_dir: Path, htpasswd_registry: Any
) -> None:
    registry = htpasswd_registry
    target = tmp_path / "dotfiles" / "docker.json"
    target.parent.mkdir()
    target.write_text('{"currentContext": "x"}')
    link = docker_config_dir / "config.json"
    link.symlink_to(target)
    _login(_ref(registry), registry.username, registry.password)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["auths"][registry.host]["auth"]
    assert _mode(target) == 0o600


def test_logout_reports_nothing_and_other_variants_and_creates_nothing(
    tmp_path: Path,
    docker_config_dir: Path,
    containers_auth_file: Path,
    htpasswd_registry: Any,
) -> None:
    registry = htpasswd_registry
    out = logout_local_clients(_ref(registry))
    assert out.nothing_removed
    assert out.checked == (str(docker_config_dir / "config.json"), str(containers_auth_file))
    assert list(docker_config_dir.iterdir()) == [] and not containers_auth_file.exists()

    variant = f"https://{registry.host}"
    (docker_config_dir / "config.json").write_text(
        json.dumps({"auths": {variant: {"auth": _b64("a", "b")}}})
    )
    out = logout_local_clients(_ref(registry))
    assert out.nothing_removed
    assert len(out.notes) == 1 and repr(variant) in out.notes[0]
    assert variant in _config(docker_config_dir)["auths"]


def test_docker_hub_uses_the_cli_and_podman_keys(
    docker_config_dir: Path, containers_auth_file: Path
) -> None:
    hub = parse_registry_reference("docker.io")
    _login(hub, "hubuser", "hub-Password-1", engine="both")
    assert list(_config(docker_config_dir)["auths"]) == ["https://index.docker.io/v1/"]
    assert list(json.loads(containers_auth_file.read_text())["auths"]) == ["docker.io"]
    podman = require_binary("podman", "podman")
    got = subprocess.run(
        [podman, "login", "--get-login", "docker.io", "--authfile", str(containers_auth_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert got.stdout.strip() == "hubuser", got.stderr
    out = logout_local_clients(hub)
    assert len(out.removed) == 2


# --- podman and skopeo --------------------------------------------------------------------


def _podman_get_login(host: str, authfile: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = ["login", "--get-login", host]
    if authfile is not None:
        args += ["--authfile", str(authfile)]
    return subprocess.run(
        [require_binary("podman", "podman"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _skopeo_inspect(authfile: Path, image: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            require_binary("skopeo", "skopeo"),
            "inspect",
            "--tls-verify=false",
            "--authfile",
            str(authfile),
            f"docker://{image}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("kind", ["htpasswd", "token"])
def test_podman_and_skopeo_accept_the_auth_file(
    kind: str,
    request: pytest.FixtureRequest,
    dockerd: Any,
    tiny_image: str,
    docker_config_dir: Path,
    containers_auth_file: Path,
) -> None:
    registry = request.getfixturevalue(f"{kind}_registry")
    image = _push(dockerd, tiny_image, registry)
    result = _login(_ref(registry), registry.username, registry.password, engine="podman")
    assert result.plaintext_path == containers_auth_file
    assert not (docker_config_dir / "config.json").exists()
    assert _mode(containers_auth_file) == 0o600
    got = _podman_get_login(registry.host, containers_auth_file)
    assert got.stdout.strip() == registry.username, got.stderr
    inspected = _skopeo_inspect(containers_auth_file, image)
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["Name"] == image.rsplit(":", 1)[0]

    out = logout_local_clients(_ref(registry), engine="podman")
    assert out.removed == (f"podman: auths entry {registry.host!r} from {containers_auth_file}",)
    got = _podman_get_login(registry.host, containers_auth_file)
    assert got.returncode != 0 and f"not logged into {registry.host}" in got.stderr
    denied = _skopeo_inspect(containers_auth_file, image)
    assert denied.returncode != 0
    assert "unauthorized" in denied.stderr.lower() or "denied" in denied.stderr.lower()


def test_podman_default_file_is_the_one_podman_reads(
    tmp_path: Path, htpasswd_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = htpasswd_registry
    runtime = tmp_path / "run-user"
    runtime.mkdir(mode=0o700)
    monkeypatch.delenv("REGISTRY_AUTH_FILE")
    monkeypatch.delenv("DOCKER_CONFIG")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    _login(_ref(registry), registry.username, registry.password, engine="podman")
    written = runtime / "containers" / "auth.json"
    assert written.exists() and _mode(written.parent) == 0o700
    got = _podman_get_login(registry.host)  # no --authfile: podman's own default
    assert got.stdout.strip() == registry.username, got.stderr
    logout_local_clients(_ref(registry), engine="podman")
    assert _podman_get_login(registry.host).returncode != 0


@pytest.mark.parametrize("hub", [False, True])
def test_with_docker_config_set_podman_shares_the_docker_file(
    hub: bool,
    docker_config_dir: Path,
    htpasswd_registry: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # podman (containers/common) writes and reads $DOCKER_CONFIG/config.json when it is set.
    monkeypatch.delenv("REGISTRY_AUTH_FILE")
    registry = htpasswd_registry
    reference = parse_registry_reference("docker.io") if hub else _ref(registry)
    host = "docker.io" if hub else registry.host
    result = _login(reference, registry.username, registry.password, engine="both")
    config_path = docker_config_dir / "config.json"
    assert result.stored[1] == f"podman: reads the same file, {config_path}"
    assert list(_config(docker_config_dir)["auths"]) == [reference.config_key]
    got = _podman_get_login(host)
    assert got.stdout.strip() == registry.username, got.stderr
    out = logout_local_clients(reference)
    assert out.checked == (str(config_path),)
    assert _config(docker_config_dir) == {"auths": {}}
    assert _podman_get_login(host).returncode != 0


def test_shared_file_never_puts_a_plain_entry_next_to_a_creds_store(
    docker_config_dir: Path,
    htpasswd_registry: Any,
    credential_helper: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REGISTRY_AUTH_FILE")
    registry = htpasswd_registry
    (docker_config_dir / "config.json").write_text(json.dumps({"credsStore": "testbed"}))
    result = _login(_ref(registry), registry.username, registry.password, engine="both")
    assert result.plaintext_path is None
    assert any("not its credsStore helper" in note for note in result.notes)
    assert_no_secret(
        (docker_config_dir / "config.json").read_text(),
        registry.password,
        usernames=[registry.username],
    )


def test_podman_cred_helpers_in_auth_json_are_used(
    containers_auth_file: Path, htpasswd_registry: Any, credential_helper: Any
) -> None:
    registry = htpasswd_registry
    containers_auth_file.write_text(
        json.dumps({"credHelpers": {registry.host: credential_helper.name}})
    )
    result = _login(_ref(registry), registry.username, registry.password, engine="podman")
    assert result.plaintext_path is None
    assert_no_secret(
        containers_auth_file.read_text(), registry.password, usernames=[registry.username]
    )
    got = _podman_get_login(registry.host, containers_auth_file)
    assert got.stdout.strip() == registry.username, got.stderr
    logout_local_clients(_ref(registry), engine="podman")
    assert credential_helper.entries() == {}


# --- which clients: ZenML's engine setting and what is installed ----------------------------


def _written(docker_config_dir: Path, containers_auth_file: Path) -> tuple[bool, bool]:
    return (docker_config_dir / "config.json").exists(), containers_auth_file.exists()


def test_auto_with_docker_cli_writes_docker_only(
    docker_config_dir: Path, containers_auth_file: Path
) -> None:
    result = _login(parse_registry_reference("r.example"), "u", "p")
    assert _written(docker_config_dir, containers_auth_file) == (True, False)
    assert result.notes == ()


def test_auto_with_zenml_engine_podman_writes_both(
    docker_config_dir: Path, containers_auth_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zenml.config.global_config import GlobalConfiguration

    if "container_engine" not in GlobalConfiguration.model_fields:
        pytest.skip("this ZenML has no container engine setting (< 0.94.3)")
    monkeypatch.setenv("ZENML_CONTAINER_ENGINE", "podman")
    result = _login(parse_registry_reference("r.example"), "u", "p")
    assert _written(docker_config_dir, containers_auth_file) == (True, True)
    assert "ZenML's container engine is podman" in result.notes[0]
    assert [line.split(":")[0] for line in result.stored] == ["docker", "podman"]


def test_zenml_engine_setting_from_the_global_config(
    docker_config_dir: Path, containers_auth_file: Path
) -> None:
    from zenml.config.global_config import GlobalConfiguration

    config = GlobalConfiguration()
    if "container_engine" not in type(config).model_fields:
        pytest.skip("this ZenML has no container engine setting (< 0.94.3)")
    previous = config.container_engine
    config.container_engine = "podman"
    try:
        _login(parse_registry_reference("r.example"), "u", "p")
    finally:
        config.container_engine = previous
    assert _written(docker_config_dir, containers_auth_file) == (True, True)


def test_auto_with_only_podman_installed_writes_podman_only(
    tmp_path: Path,
    docker_config_dir: Path,
    containers_auth_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_binary("podman", "podman")
    farm = tmp_path / "farm"
    farm.mkdir()
    monkeypatch.setenv("PATH", filtered_path(os.environ["PATH"], farm, hidden=("docker",)))
    result = _login(parse_registry_reference("r.example"), "u", "p")
    assert _written(docker_config_dir, containers_auth_file) == (False, True)
    assert "Only podman is installed" in result.notes[0]


def test_auto_without_podman_and_engine_docker_writes_docker(
    docker_config_dir: Path,
    containers_auth_file: Path,
    no_podman: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZENML_CONTAINER_ENGINE", "docker")
    _login(parse_registry_reference("r.example"), "u", "p")
    assert _written(docker_config_dir, containers_auth_file) == (True, False)


# --- concurrency -------------------------------------------------------------------------


_CHILD = """
import sys, time
from pathlib import Path
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.local.login import login_local_clients
from zenml_docker_connector.references import parse_registry_reference
i, go = sys.argv[1], Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
login_local_clients(
    parse_registry_reference(f"proc{i}.example:5000"),
    Credentials(f"user{i}", f"pw-{i}"),
    engine="both",
)
"""


def test_fifty_threads_and_fifty_processes_lose_no_login(
    tmp_path: Path, docker_config_dir: Path, containers_auth_file: Path
) -> None:
    (docker_config_dir / "config.json").write_text(RICH_CONFIG)
    go = tmp_path / "go"
    children = [
        subprocess.Popen([sys.executable, "-c", _CHILD, str(i), str(go)]) for i in range(50)
    ]
    barrier = threading.Barrier(50)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        barrier.wait()
        try:
            _login(
                parse_registry_reference(f"thread{i}.example"),
                f"user{i}",
                f"pw-{i}",
                engine="both",
            )
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    go.touch()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [child.wait(timeout=120) for child in children] == [0] * 50

    expected = {f"thread{i}.example": _b64(f"user{i}", f"pw-{i}") for i in range(50)} | {
        f"proc{i}.example:5000": _b64(f"user{i}", f"pw-{i}") for i in range(50)
    }
    rich = json.loads(RICH_CONFIG)
    config = json.loads((docker_config_dir / "config.json").read_text())
    assert list(config) == list(rich)  # every other setting survived, in its place
    assert {k: v for k, v in config.items() if k != "auths"} == {
        k: v for k, v in rich.items() if k != "auths"
    }
    for key, entry in rich["auths"].items():
        assert config["auths"].pop(key) == entry
    assert {key: entry["auth"] for key, entry in config["auths"].items()} == expected
    auths = json.loads(containers_auth_file.read_text())["auths"]
    assert {key: entry["auth"] for key, entry in auths.items()} == expected
    for path in (docker_config_dir / "config.json", containers_auth_file):
        assert _mode(path) == 0o600
        leftovers = [p.name for p in path.parent.iterdir() if p.suffix in (".lock", ".tmp")]
        assert leftovers == []


def test_fifty_threads_logging_in_to_one_registry_leave_one_whole_entry(
    docker_config_dir: Path, containers_auth_file: Path
) -> None:
    """The last writer wins, as with `docker login`; no entry is torn or duplicated."""
    reference = parse_registry_reference("same.example:5000")
    barrier = threading.Barrier(50)

    def worker(i: int) -> None:
        barrier.wait()
        _login(reference, f"user{i}", f"pw-{i}", engine="both")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    candidates = {_b64(f"user{i}", f"pw-{i}") for i in range(50)}
    for path in (docker_config_dir / "config.json", containers_auth_file):
        auths = json.loads(path.read_text())["auths"]
        assert list(auths) == ["same.example:5000"]
        assert auths["same.example:5000"]["auth"] in candidates
