"""Local credential discovery against credentials written by the real tools.

`docker login` (client-side, no daemon), `podman login`, `skopeo login` and the testbed's
`docker-credential-testbed` (the real helper protocol, driven by the docker CLI) write the
stores; hand-written JSON is used only for shapes no tool writes (key spellings, broken files).
Every test runs with HOME, XDG dirs, DOCKER_CONFIG and REGISTRY_AUTH_FILE inside tmp_path.
Cases that need no tool at all are in tests/unit/local/test_discovery.py.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from testbed.leaks import assert_no_secret
from testbed.local_stores import (
    SECRET_SHAPED,
    USERNAMES,
    auth_value,
    fails,
    find,
    registries,
    write_config,
)
from testbed.requirements import require_binary
from zenml_docker_connector.local.discovery import FoundCredentials
from zenml_docker_connector.references import parse_registry_reference

# ---------------------------------------------------------------- environment and tools


pytestmark = pytest.mark.usefixtures("isolated_client_files")


def _run(args: list[str], stdin: str) -> None:
    result = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"


def docker_login(host: str, username: str, password: str) -> None:
    """The docker CLI logs in client-side (no daemon: DOCKER_HOST is a missing socket)."""
    docker = require_binary("docker", "docker.io")
    _run([docker, "login", host, "-u", username, "--password-stdin"], password)


def podman_login(target: str, username: str, password: str, authfile: Path | None) -> None:
    podman = require_binary("podman", "podman")
    where = ["--authfile", str(authfile)] if authfile else []
    _run(
        [podman, "login", *where, "--tls-verify=false", "-u", username, "--password-stdin", target],
        password,
    )


def skopeo_login(target: str, username: str, password: str, authfile: Path) -> None:
    skopeo = require_binary("skopeo", "skopeo")
    _run(
        [
            skopeo,
            "login",
            "--authfile",
            str(authfile),
            "--tls-verify=false",
            "-u",
            username,
            "--password-stdin",
            target,
        ],
        password,
    )


def assert_found(found: FoundCredentials, registry: Any, source_part: str) -> None:
    assert found.reference.resource_id == registry.host
    credentials = found.credentials
    assert (credentials.username, credentials.secret) == (registry.username, registry.password)
    assert source_part in found.source
    assert credentials.identity_token is False
    assert_no_secret([repr(found), found.source], registry.password, usernames=USERNAMES)


def works_against(registry: Any, found: FoundCredentials) -> bool:
    """The found pair is accepted by the registry (Basic) or its token service (Bearer)."""
    session = registry.session()
    username, password = found.credentials.username or "", found.credentials.secret or ""
    if registry.token_server is None:
        reply = session.get(f"{registry.url}/v2/", auth=(username, password))
        return bool(reply.status_code == 200)
    challenge = session.get(f"{registry.url}/v2/").headers["WWW-Authenticate"]
    params = dict(part.split("=", 1) for part in challenge.split(" ", 1)[1].split(","))
    realm, service = (params[k].strip('"') for k in ("realm", "service"))
    reply = session.get(realm, params={"service": service}, auth=(username, password))
    return bool(reply.status_code == 200)


@pytest.fixture
def password_logins(token_registry: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The token registry without refresh tokens, so `docker login` stores the password."""
    monkeypatch.setattr(token_registry.token_server, "refresh_tokens_enabled", False)
    return token_registry


# ---------------------------------------------------------------- real tools write, we find


@pytest.mark.parametrize("kind", ["htpasswd_registry", "password_logins"])
def test_docker_login_into_config_json(
    kind: str, request: pytest.FixtureRequest, docker_config_dir: Path
) -> None:
    registry = request.getfixturevalue(kind)
    docker_login(registry.host, registry.username, registry.password)
    assert registry.host in json.loads((docker_config_dir / "config.json").read_text())["auths"]

    found = find(None)
    assert_found(found, registry, f"auths entry '{registry.host}' in {docker_config_dir}")
    assert works_against(registry, found)
    assert registries() == [registry.host]
    by_name = find(parse_registry_reference(f"{registry.host}/team/app"))
    assert (
        by_name.reference.repository == "team/app"
        and by_name.credentials.secret == registry.password
    )


def test_docker_login_through_creds_store(
    htpasswd_registry: Any, credential_helper: Any, docker_config_dir: Path
) -> None:
    write_config(docker_config_dir, {"credsStore": credential_helper.name})
    docker_login(htpasswd_registry.host, htpasswd_registry.username, htpasswd_registry.password)
    assert htpasswd_registry.password not in (docker_config_dir / "config.json").read_text()
    assert credential_helper.entries()[htpasswd_registry.host]["Secret"] == (
        htpasswd_registry.password
    )

    found = find(None)
    assert_found(
        found,
        htpasswd_registry,
        f"credential helper docker-credential-testbed (credsStore in {docker_config_dir}",
    )
    assert works_against(htpasswd_registry, found)


def test_docker_login_through_cred_helpers(
    password_logins: Any, credential_helper: Any, docker_config_dir: Path
) -> None:
    token_registry = password_logins
    write_config(docker_config_dir, {"credHelpers": {token_registry.host: credential_helper.name}})
    docker_login(token_registry.host, token_registry.username, token_registry.password)
    assert token_registry.host in credential_helper.entries()

    found = find(parse_registry_reference(token_registry.url))
    assert_found(
        found,
        token_registry,
        "credential helper docker-credential-testbed "
        f"(credHelpers[{token_registry.host!r}] in {docker_config_dir}",
    )
    assert works_against(token_registry, found)
    assert registries() == [token_registry.host]


def test_podman_login_with_authfile(htpasswd_registry: Any, containers_auth_file: Path) -> None:
    podman_login(
        htpasswd_registry.host,
        htpasswd_registry.username,
        htpasswd_registry.password,
        containers_auth_file,
    )
    found = find(None)
    assert_found(found, htpasswd_registry, f"in {containers_auth_file}")
    assert works_against(htpasswd_registry, found)


def test_podman_login_default_locations(
    token_registry: Any, tmp_path: Path, docker_config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With DOCKER_CONFIG set (and no REGISTRY_AUTH_FILE) podman writes docker's config.json.
    podman_login(token_registry.host, token_registry.username, token_registry.password, None)
    assert token_registry.host in (docker_config_dir / "config.json").read_text()
    found = find(parse_registry_reference(token_registry.host))
    assert_found(found, token_registry, str(docker_config_dir / "config.json"))
    # Without it, podman writes $XDG_RUNTIME_DIR/containers/auth.json.
    monkeypatch.delenv("DOCKER_CONFIG")
    (docker_config_dir / "config.json").unlink()
    podman_login(token_registry.host, token_registry.username, token_registry.password, None)
    runtime_file = tmp_path / "run" / "containers" / "auth.json"
    assert runtime_file.is_file()
    found = find(parse_registry_reference(token_registry.host))
    assert_found(found, token_registry, str(runtime_file))
    assert works_against(token_registry, found)


def test_skopeo_namespaced_keys_match_longest_prefix_first(
    htpasswd_registry: Any, containers_auth_file: Path
) -> None:
    host = htpasswd_registry.host
    htpasswd_registry.add_user("src-bob", "bob-Pass-77x")
    skopeo_login(host, htpasswd_registry.username, htpasswd_registry.password, containers_auth_file)
    skopeo_login(f"{host}/team", "src-bob", "bob-Pass-77x", containers_auth_file)
    keys = set(json.loads(containers_auth_file.read_text())["auths"])
    assert keys == {host, f"{host}/team"}

    def user_for(text: str) -> str:
        username = find(parse_registry_reference(text)).credentials.username
        assert username is not None
        return username

    assert user_for(f"{host}/team/app") == "src-bob"
    assert user_for(f"{host}/team") == "src-bob"
    assert user_for(f"{host}/teams/app") == htpasswd_registry.username
    assert user_for(host) == htpasswd_registry.username
    assert registries() == [host]


def test_namespaced_only_entries_without_repository(
    htpasswd_registry: Any, containers_auth_file: Path
) -> None:
    host = htpasswd_registry.host
    skopeo_login(
        f"{host}/one", htpasswd_registry.username, htpasswd_registry.password, containers_auth_file
    )
    assert find(None).source.endswith(f"'{host}/one' in {containers_auth_file}")
    skopeo_login(
        f"{host}/two", htpasswd_registry.username, htpasswd_registry.password, containers_auth_file
    )
    message = fails(htpasswd_registry.password)
    assert f"{host}/one, {host}/two" in message and "several namespaces" in message


def test_docker_auth_config_overrides_the_config_file(
    htpasswd_registry: Any,
    password_logins: Any,
    docker_config_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token_registry = password_logins
    htpasswd_registry.add_user("src-alice", "alice-Pass-42q")
    docker_login(htpasswd_registry.host, "src-alice", "alice-Pass-42q")
    docker_login(token_registry.host, token_registry.username, token_registry.password)
    # What a CI system puts in DOCKER_AUTH_CONFIG: a config.json written by `docker login`.
    ci_dir = tmp_path / "ci-docker"
    ci_dir.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(ci_dir))
    docker_login(htpasswd_registry.host, htpasswd_registry.username, htpasswd_registry.password)
    monkeypatch.setenv("DOCKER_AUTH_CONFIG", (ci_dir / "config.json").read_text())
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_config_dir))

    found = find(parse_registry_reference(htpasswd_registry.host))
    assert_found(found, htpasswd_registry, "DOCKER_AUTH_CONFIG")
    # Registries the variable does not name still come from the file.
    other = find(parse_registry_reference(token_registry.host))
    assert_found(other, token_registry, str(docker_config_dir))
    assert registries() == sorted([htpasswd_registry.host, token_registry.host])


def test_docker_config_comes_before_podman(
    htpasswd_registry: Any, containers_auth_file: Path, docker_config_dir: Path
) -> None:
    htpasswd_registry.add_user("src-alice", "alice-Pass-42q")
    podman_login(htpasswd_registry.host, "src-alice", "alice-Pass-42q", containers_auth_file)
    docker_login(htpasswd_registry.host, htpasswd_registry.username, htpasswd_registry.password)
    found = find(None)
    assert_found(found, htpasswd_registry, str(docker_config_dir))


def test_helper_without_the_registry_moves_on_to_the_next_source(
    htpasswd_registry: Any,
    credential_helper: Any,
    docker_config_dir: Path,
    containers_auth_file: Path,
) -> None:
    write_config(docker_config_dir, {"credsStore": credential_helper.name})
    podman_login(
        htpasswd_registry.host,
        htpasswd_registry.username,
        htpasswd_registry.password,
        containers_auth_file,
    )
    found = find(parse_registry_reference(htpasswd_registry.host))
    assert_found(found, htpasswd_registry, str(containers_auth_file))
    assert ("get", htpasswd_registry.host) in credential_helper.calls()


def test_legacy_dockercfg_is_read_when_there_is_no_config_json(
    htpasswd_registry: Any, isolated_client_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKER_CONFIG")
    legacy = {
        htpasswd_registry.host: {
            "auth": auth_value(htpasswd_registry.username, htpasswd_registry.password),
            "email": "x@example.com",
        }
    }
    (isolated_client_files / ".dockercfg").write_text(json.dumps(legacy))
    found = find(None)
    assert_found(found, htpasswd_registry, str(isolated_client_files / ".dockercfg"))
    # ... but not when ~/.docker/config.json exists (docker-py's rule).
    (isolated_client_files / ".docker").mkdir()
    write_config(isolated_client_files / ".docker", {"auths": {}})
    assert registries() == []


# ---------------------------------------------------------------- key spellings


@pytest.mark.parametrize("spelling", ["https://{h}", "http://{h}", "{h}/v1/", "https://{h}/v2/"])
def test_key_spellings_match_the_registry(
    spelling: str, htpasswd_registry: Any, docker_config_dir: Path
) -> None:
    docker_login(htpasswd_registry.host, htpasswd_registry.username, htpasswd_registry.password)
    config = json.loads((docker_config_dir / "config.json").read_text())
    entry = config["auths"].pop(htpasswd_registry.host)
    config["auths"][spelling.format(h=htpasswd_registry.host)] = entry
    write_config(docker_config_dir, config)
    found = find(parse_registry_reference(f"http://{htpasswd_registry.host}"))
    assert_found(found, htpasswd_registry, spelling.format(h=htpasswd_registry.host))
    assert registries() == [htpasswd_registry.host]


def test_helper_entry_under_another_spelling_and_oauth_entries(
    htpasswd_registry: Any, credential_helper: Any, docker_config_dir: Path
) -> None:
    write_config(docker_config_dir, {"credsStore": credential_helper.name})
    # Docker Desktop keeps its OAuth tokens next to the credentials; they are not logins.
    credential_helper.set_entry("https://index.docker.io/v1/access-token", "hubuser", SECRET_SHAPED)
    credential_helper.set_entry("https://index.docker.io/v1/refresh-token", "hubuser", "rt-9x8y7z")
    credential_helper.set_entry(
        f"https://{htpasswd_registry.host}", htpasswd_registry.username, htpasswd_registry.password
    )
    assert registries() == [htpasswd_registry.host]
    found = find(None)
    assert_found(found, htpasswd_registry, "credsStore")
    gets = [server for action, server in credential_helper.calls() if action == "get"]
    assert gets == [htpasswd_registry.host, f"https://{htpasswd_registry.host}"]
    message = fails(SECRET_SHAPED, reference=parse_registry_reference("docker.io"))
    assert "No credentials for the registry docker.io" in message


# ---------------------------------------------------------------- choosing a registry


def test_several_registries_without_docker_hub_need_a_choice(
    htpasswd_registry: Any, token_registry: Any, docker_config_dir: Path
) -> None:
    docker_login(htpasswd_registry.host, htpasswd_registry.username, htpasswd_registry.password)
    docker_login(token_registry.host, token_registry.username, token_registry.password)
    message = fails(htpasswd_registry.password, token_registry.password)
    assert ", ".join(sorted([htpasswd_registry.host, token_registry.host])) in message
    assert "--resource-id" in message and "registry=" in message
    assert htpasswd_registry.username not in message


# ---------------------------------------------------------------- identity tokens


def _stored_secrets(config_dir: Path, helper: Any) -> list[str]:
    """Every secret the docker CLI stored (identity tokens included), for leak checks."""
    secrets = [e["Secret"] for e in helper.entries().values()] if helper else []
    auths = json.loads((config_dir / "config.json").read_text()).get("auths", {})
    return secrets + [e["identitytoken"] for e in auths.values() if "identitytoken" in e]


def test_docker_login_storing_an_identity_token_is_refused_with_advice(
    token_registry: Any, docker_config_dir: Path
) -> None:
    # The token server hands out refresh tokens, so `docker login` keeps one, not the password.
    docker_login(token_registry.host, token_registry.username, token_registry.password)
    entry = json.loads((docker_config_dir / "config.json").read_text())["auths"][
        token_registry.host
    ]
    assert "identitytoken" in entry
    token = entry["identitytoken"]

    message = fails(token, token_registry.password)
    assert "identity token" in message and token_registry.host in message
    assert "personal access token" in message and "--username" in message
    assert "--username and --password instead of auto-configuring" in message
    found = find(None, allow_identity_token=True)
    assert found.credentials.identity_token and found.credentials.secret == token
    assert found.credentials.username == token_registry.username
    assert_no_secret(repr(found), token, usernames=USERNAMES)


def test_identity_token_kept_by_a_helper_is_refused(
    token_registry: Any,
    credential_helper: Any,
    docker_config_dir: Path,
) -> None:
    write_config(docker_config_dir, {"credHelpers": {token_registry.host: "testbed"}})
    docker_login(token_registry.host, token_registry.username, token_registry.password)
    assert credential_helper.entries()[token_registry.host]["Username"] == "<token>"
    secrets = _stored_secrets(docker_config_dir, credential_helper)
    message = fails(*secrets, token_registry.password)
    assert "identity token" in message and "docker-credential-testbed" in message


def test_a_password_elsewhere_beats_an_identity_token(
    htpasswd_registry: Any, docker_config_dir: Path, containers_auth_file: Path
) -> None:
    write_config(
        docker_config_dir, {"auths": {htpasswd_registry.host: {"identitytoken": SECRET_SHAPED}}}
    )
    podman_login(
        htpasswd_registry.host,
        htpasswd_registry.username,
        htpasswd_registry.password,
        containers_auth_file,
    )
    assert_found(find(None), htpasswd_registry, str(containers_auth_file))


# ---------------------------------------------------------------- broken helpers


def test_helper_exiting_non_zero_reports_its_output_redacted(
    htpasswd_registry: Any,
    credential_helper: Any,
    docker_config_dir: Path,
) -> None:
    write_config(docker_config_dir, {"credsStore": credential_helper.name})
    docker_login(htpasswd_registry.host, htpasswd_registry.username, htpasswd_registry.password)
    leaked = base64.b64encode(b"testuser:" + SECRET_SHAPED.encode()).decode()
    credential_helper.break_with(
        "fail", message=f"keychain is locked (secret={SECRET_SHAPED} auth {leaked})", exit_code=3
    )
    message = fails(SECRET_SHAPED, htpasswd_registry.password)
    assert "docker-credential-testbed" in message and "exit status 3" in message
    assert "keychain is locked" in message and leaked not in message


def test_helper_printing_garbage(
    htpasswd_registry: Any,
    credential_helper: Any,
    docker_config_dir: Path,
) -> None:
    write_config(docker_config_dir, {"credHelpers": {htpasswd_registry.host: "testbed"}})
    docker_login(htpasswd_registry.host, htpasswd_registry.username, htpasswd_registry.password)
    credential_helper.break_with("garbage", actions=("get",))
    message = fails(htpasswd_registry.password)
    assert "printed something that is not JSON" in message
    assert "this is not json" not in message


def test_hanging_helper_is_stopped_after_the_timeout(
    credential_helper: Any,
    docker_config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_config(docker_config_dir, {"credsStore": credential_helper.name})
    credential_helper.break_with("hang", seconds=30)
    started = time.monotonic()
    message = fails(timeout=0.5, reference=parse_registry_reference("127.0.0.1:5"))
    assert time.monotonic() - started < 5
    assert "did not answer within 0.5 s" in message
    assert "ZENML_DOCKER_CREDENTIAL_HELPER_TIMEOUT" in message
    monkeypatch.setenv("ZENML_DOCKER_CREDENTIAL_HELPER_TIMEOUT", "0.3")
    assert "within 0.3 s" in fails()  # listing registries asks the helper too


# ---------------------------------------------------------------- broken files


def _login_then_corrupt(registry: Any, config_dir: Path, corrupt: Any) -> str:
    docker_login(registry.host, registry.username, registry.password)
    config = json.loads((config_dir / "config.json").read_text())
    return write_config(config_dir, corrupt(config)).read_text()


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (lambda c: json.dumps(c)[:-3], "is not valid JSON (Expecting"),
        (lambda c: "[" + json.dumps(c) + "]", "is not a JSON object"),
        (lambda c: {**c, "auths": ["x"]}, "has an 'auths' value that is not a JSON object"),
        (lambda c: {"auths": {k: "x" for k in c["auths"]}}, "that is not a JSON object"),
        (lambda c: {"auths": {k: {"auth": 12} for k in c["auths"]}}, "'auth' is not a string"),
        (
            lambda c: {
                "auths": {k: {"auth": v["auth"][:-2] + "*!"} for k, v in c["auths"].items()}
            },
            "'auth' is not base64 of username:password",
        ),
        (
            lambda c: {
                "auths": {
                    k: {
                        "auth": base64.b64encode(
                            base64.b64decode(v["auth"]).replace(b":", b"")
                        ).decode()
                    }
                    for k, v in c["auths"].items()
                }
            },
            "'auth' does not decode to username:password",
        ),
        (lambda c: {**c, "credHelpers": ["testbed"]}, "'credHelpers' value that is not an object"),
        (lambda c: {**c, "credsStore": {"name": "testbed"}}, "'credsStore' value that is not a"),
    ],
    ids=[
        "truncated",
        "array",
        "auths-list",
        "entry-string",
        "auth-number",
        "auth-not-base64",
        "auth-no-colon",
        "credhelpers-list",
        "credsstore-object",
    ],
)
def test_broken_config_json(
    corrupt: Any,
    expected: str,
    htpasswd_registry: Any,
    docker_config_dir: Path,
) -> None:
    _login_then_corrupt(htpasswd_registry, docker_config_dir, corrupt)
    message = fails(htpasswd_registry.password)
    assert expected in message
    assert f"docker config file {docker_config_dir / 'config.json'}" in message
    assert "Fix" in message


def test_broken_docker_auth_config(htpasswd_registry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    value = json.dumps(
        {
            "auths": {
                htpasswd_registry.host: {
                    "auth": auth_value(htpasswd_registry.username, htpasswd_registry.password)
                }
            }
        }
    )
    monkeypatch.setenv("DOCKER_AUTH_CONFIG", value[:-1])
    message = fails(htpasswd_registry.password)
    assert "The environment variable DOCKER_AUTH_CONFIG is not valid JSON" in message
    assert auth_value(htpasswd_registry.username, htpasswd_registry.password) not in message
    monkeypatch.setenv(
        "DOCKER_AUTH_CONFIG", json.dumps({"auths": {"ghcr.io": {"auth": "bm9jb2xvbg=="}}})
    )
    assert "DOCKER_AUTH_CONFIG has the auths entry 'ghcr.io' whose 'auth' does not decode" in (
        fails()
    )


def test_broken_podman_auth_file(
    htpasswd_registry: Any,
    containers_auth_file: Path,
) -> None:
    podman_login(
        htpasswd_registry.host,
        htpasswd_registry.username,
        htpasswd_registry.password,
        containers_auth_file,
    )
    containers_auth_file.write_text(containers_auth_file.read_text().replace("{", "", 1))
    message = fails(htpasswd_registry.password)
    assert f"containers auth file {containers_auth_file} is not valid JSON" in message


def test_a_broken_later_source_is_not_consulted_when_an_earlier_one_answers(
    htpasswd_registry: Any, containers_auth_file: Path, docker_config_dir: Path
) -> None:
    containers_auth_file.write_text("not json")
    docker_login(htpasswd_registry.host, htpasswd_registry.username, htpasswd_registry.password)
    found = find(parse_registry_reference(htpasswd_registry.host))
    assert_found(found, htpasswd_registry, str(docker_config_dir))
