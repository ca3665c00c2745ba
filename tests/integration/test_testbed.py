"""The test bed itself: each fixture does what the other tests rely on."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import uuid
from pathlib import Path

import docker
import pytest
import requests

from testbed.credential_helper import NOT_FOUND, CredentialHelper
from testbed.dockerd import Dockerd
from testbed.factory import Testbed
from testbed.net import LOOPBACK, loopback_session, wait_for
from testbed.registry import BASIC_REALM, Registry
from testbed.requirements import require_binary, require_service
from testbed.round_trips import CountingProxy, Handshakes
from testbed.token_server import TokenServer
from testbed.tokens import Scope, decode_unverified, grant, parse_scopes


@pytest.fixture
def http() -> requests.Session:
    return loopback_session()


def _get_token(
    server: TokenServer, user: str, password: str, *scopes: str, **extra: str
) -> requests.Response:
    params: dict[str, str | list[str]] = {"service": server.service, "scope": list(scopes), **extra}
    return loopback_session().get(server.realm, params=params, auth=(user, password), timeout=5)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- requirements -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ci", "outcome"), [("", pytest.skip.Exception), ("TRUE", pytest.fail.Exception)]
)
def test_require_service_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="thing: gone"):
        require_service("thing", "gone")
    with pytest.raises(outcome, match="no-such-program-xyz"):
        require_binary("no-such-program-xyz")


# -- registries -------------------------------------------------------------------------------
def test_open_registry_needs_no_auth(open_registry: Registry, http: requests.Session) -> None:
    assert http.get(f"{open_registry.url}/v2/", timeout=5).status_code == 200
    assert open_registry.ca_cert_path is None and open_registry.url.startswith("http://")


def test_htpasswd_registry_challenges_basic(
    htpasswd_registry: Registry, http: requests.Session
) -> None:
    reg = htpasswd_registry
    ping = f"{reg.url}/v2/"
    challenged = http.get(ping, timeout=5)
    assert challenged.status_code == 401
    assert challenged.headers["WWW-Authenticate"] == f'Basic realm="{BASIC_REALM}"'
    assert http.get(ping, auth=(reg.username, reg.password), timeout=5).status_code == 200
    assert http.get(ping, auth=(reg.username, "wrong"), timeout=5).status_code == 401
    assert http.get(ping, auth=("nobody", reg.password), timeout=5).status_code == 401


def test_request_counting_is_exact(htpasswd_registry: Registry, http: requests.Session) -> None:
    reg = htpasswd_registry
    mark = reg.mark()
    http.get(f"{reg.url}/v2/", timeout=5)
    http.get(f"{reg.url}/v2/", auth=(reg.username, reg.password), timeout=5)
    assert reg.requests_since(mark) == [("GET", "/v2/", 401), ("GET", "/v2/", 200)]
    assert reg.requests_since(reg.mark()) == []
    http.head(f"{reg.url}/v2/x/manifests/1?q=1", auth=(reg.username, reg.password), timeout=5)
    assert reg.requests_since(mark)[2:] == [("HEAD", "/v2/x/manifests/1", 404)]


def test_set_password_is_effective_while_running(
    htpasswd_registry: Registry, http: requests.Session
) -> None:
    reg = htpasswd_registry
    user = f"u{uuid.uuid4().hex[:8]}"
    ping = f"{reg.url}/v2/"
    reg.add_user(user, "first")
    assert http.get(ping, auth=(user, "first"), timeout=5).status_code == 200
    reg.set_password(user, "second")
    assert http.get(ping, auth=(user, "first"), timeout=5).status_code == 401
    assert http.get(ping, auth=(user, "second"), timeout=5).status_code == 200
    reg.set_password(user, "third")  # a second change right away is seen too
    assert http.get(ping, auth=(user, "third"), timeout=5).status_code == 200
    reg.remove_user(user)
    assert http.get(ping, auth=(user, "third"), timeout=5).status_code == 401
    assert http.get(ping, auth=(reg.username, reg.password), timeout=5).status_code == 200


def test_tls_registry_is_verified_with_its_ca(
    tls_registry: Registry, http: requests.Session
) -> None:
    reg = tls_registry
    assert reg.url.startswith("https://") and reg.ca_cert_path is not None
    ping = f"{reg.url}/v2/"
    assert http.get(ping, verify=str(reg.ca_cert_path), timeout=5).status_code == 401
    authed = http.get(ping, verify=reg.verify, auth=(reg.username, reg.password), timeout=5)
    assert authed.status_code == 200
    # A fresh session: requests < 2.32 (pinned by ZenML 0.60) reuses the pooled connection
    # verified with the CA above and would not check the certificate again.
    with loopback_session() as fresh, pytest.raises(requests.exceptions.SSLError):
        fresh.get(ping, timeout=5)
    mark = reg.mark()
    reg.session().get(ping, timeout=5)
    assert reg.requests_since(mark) == [("GET", "/v2/", 401)]


# -- token auth -------------------------------------------------------------------------------
def test_scope_grammar() -> None:
    assert Scope.parse("repository:127.0.0.1:5000/ns/app:pull,push") == Scope(
        "repository", "127.0.0.1:5000/ns/app", ("pull", "push")
    )
    assert Scope.parse("repository(plugin):ns/app:pull") == Scope("repository", "ns/app", ("pull",))
    assert Scope.parse("registry:catalog:*") == Scope("registry", "catalog", ("*",))
    assert Scope.parse("nonsense") is None
    assert [str(s) for s in parse_scopes(["repository:a:pull repository:b:push", "x:y:z"])] == [
        "repository:a:pull",
        "repository:b:push",
        "x:y:z",
    ]
    scopes = parse_scopes(["repository:team/a:pull,push,delete", "repository:other:pull"])
    assert grant({"team/*": {"pull", "push"}}, scopes) == [
        {"type": "repository", "name": "team/a", "actions": ["pull", "push"]}
    ]
    assert grant({"*"}, parse_scopes(["registry:catalog:*"]))[0]["actions"] == ["*"]


def test_token_registry_challenges_bearer(token_registry: Registry, http: requests.Session) -> None:
    server = token_registry.token_server
    assert server is not None
    ping = http.get(f"{token_registry.url}/v2/", timeout=5)
    assert ping.status_code == 401
    assert ping.headers["WWW-Authenticate"] == (
        f'Bearer realm="{server.realm}",service="{server.service}"'
    )
    repo = http.get(f"{token_registry.url}/v2/ns/app/tags/list", timeout=5)
    assert 'scope="repository:ns/app:pull"' in repo.headers["WWW-Authenticate"]


def test_token_get_flow_is_accepted_by_the_registry(
    token_registry: Registry, http: requests.Session
) -> None:
    reg = token_registry
    server = reg.token_server
    assert server is not None
    mark, token_mark = reg.mark(), server.mark()
    answer = _get_token(
        server,
        reg.username,
        reg.password,
        "repository:ns/app:pull,push",
        f"repository:{reg.host}/x:pull",
        account=reg.username,
        client_id="tests",
    )
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"token", "access_token", "expires_in", "issued_at"}
    assert body["token"] == body["access_token"] and body["expires_in"] == server.expires_in
    header, claims = decode_unverified(body["token"])
    assert header["alg"] == "RS256" and header["typ"] == "JWT" and len(header["x5c"]) == 1
    assert claims["aud"] == "testbed-registry" and claims["iss"] == server.issuer
    assert claims["sub"] == reg.username
    assert claims["access"] == [
        {"type": "repository", "name": "ns/app", "actions": ["pull", "push"]},
        {"type": "repository", "name": f"{reg.host}/x", "actions": ["pull"]},
    ]
    assert http.get(f"{reg.url}/v2/", headers=_bearer(body["token"]), timeout=5).status_code == 200
    tags = http.get(f"{reg.url}/v2/ns/app/tags/list", headers=_bearer(body["token"]), timeout=5)
    assert tags.status_code == 404  # authorized; the repository just does not exist
    assert reg.requests_since(mark) == [("GET", "/v2/", 200), ("GET", "/v2/ns/app/tags/list", 404)]
    [seen] = server.requests_since(token_mark)
    assert seen[:3] == ("GET", "/token", 200)
    assert seen.params.grant == "basic" and seen.params.username == reg.username
    assert seen.params.client_id == "tests" and len(seen.params.scopes) == 2


def test_token_get_errors_and_anonymous(token_registry: Registry, http: requests.Session) -> None:
    reg = token_registry
    server = reg.token_server
    assert server is not None
    mark = server.mark()
    wrong = _get_token(server, reg.username, "wrong", "repository:ns/app:pull")
    assert wrong.status_code == 401 and "errors" in wrong.json()
    anonymous = http.get(server.realm, params={"scope": "repository:ns/app:pull"}, timeout=5)
    assert anonymous.status_code == 200
    token = anonymous.json()["token"]
    assert decode_unverified(token)[1]["access"] == []
    assert http.get(f"{reg.url}/v2/", headers=_bearer(token), timeout=5).status_code == 200
    repo = http.get(f"{reg.url}/v2/ns/app/tags/list", headers=_bearer(token), timeout=5)
    assert repo.status_code == 401
    offline = _get_token(server, reg.username, reg.password, offline_token="true")
    assert "refresh_token" in offline.json()
    assert [(r.status, r.params.grant) for r in server.requests_since(mark)] == [
        (401, "basic"),
        (200, "anonymous"),
        (200, "basic"),
    ]


def test_token_post_flow_and_get_fallback_switch(
    token_registry: Registry, http: requests.Session
) -> None:
    reg = token_registry
    server = reg.token_server
    assert server is not None
    form = {
        "grant_type": "password",
        "username": reg.username,
        "password": reg.password,
        "service": server.service,
        "client_id": "tests",
        "scope": "repository:ns/app:pull,push repository:ns/other:pull",
        "access_type": "offline",
    }
    mark = server.mark()
    first = http.post(server.realm, data=form, timeout=5)
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"access_token", "expires_in", "scope", "issued_at", "refresh_token"}
    assert body["scope"] == form["scope"]
    assert len(decode_unverified(body["access_token"])[1]["access"]) == 2
    refreshed = http.post(
        server.realm,
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "service": server.service,
            "client_id": "tests",
            "scope": "repository:ns/app:pull",
        },
        timeout=5,
    )
    assert refreshed.status_code == 200 and "refresh_token" not in refreshed.json()
    token = refreshed.json()["access_token"]
    assert http.get(f"{reg.url}/v2/", headers=_bearer(token), timeout=5).status_code == 200
    assert http.post(server.realm, data={**form, "password": "no"}, timeout=5).status_code == 401
    assert (
        http.post(server.realm, data={**form, "grant_type": "magic"}, timeout=5).status_code == 400
    )
    bad_refresh = {"grant_type": "refresh_token", "refresh_token": "nope"}
    assert http.post(server.realm, data=bad_refresh, timeout=5).status_code == 401
    server.oauth_post_enabled = False
    try:
        assert http.post(server.realm, data=form, timeout=5).status_code == 404
    finally:
        server.oauth_post_enabled = True
    seen = [(r.method, r.status, r.params.grant) for r in server.requests_since(mark)]
    assert seen == [
        ("POST", 200, "password"),
        ("POST", 200, "refresh_token"),
        ("POST", 401, "password"),
        ("POST", 400, "magic"),
        ("POST", 401, "refresh_token"),
        ("POST", 404, "password"),
    ]


def test_registry_rejects_bad_tokens(token_registry: Registry, http: requests.Session) -> None:
    server = token_registry.token_server
    assert server is not None
    ping = f"{token_registry.url}/v2/"
    good = server.issue("x", [])
    assert http.get(ping, headers=_bearer(good), timeout=5).status_code == 200
    tampered = good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB")
    for token in (
        tampered,
        server.issue("x", [], expires_in=-3600),
        server.issue("x", [], aud="another-service"),
        server.issue("x", [], iss="someone-else"),
    ):
        assert http.get(ping, headers=_bearer(token), timeout=5).status_code == 401


def test_token_permissions_and_password_change(
    token_registry: Registry, http: requests.Session
) -> None:
    reg = token_registry
    server = reg.token_server
    assert server is not None
    user = f"u{uuid.uuid4().hex[:8]}"
    reg.add_user(user, "first")
    server.set_permissions(user, {"ns/*": {"pull"}})
    answer = _get_token(server, user, "first", "repository:ns/app:pull,push", "repository:x:pull")
    assert decode_unverified(answer.json()["token"])[1]["access"] == [
        {"type": "repository", "name": "ns/app", "actions": ["pull"]}
    ]
    reg.set_password(user, "second")
    assert _get_token(server, user, "first").status_code == 401
    assert _get_token(server, user, "second").status_code == 200


# -- dockerd ----------------------------------------------------------------------------------
@pytest.mark.parametrize("registry_fixture", ["htpasswd_registry", "token_registry"])
def test_dockerd_pushes_the_tiny_image(
    request: pytest.FixtureRequest, registry_fixture: str, dockerd: Dockerd, tiny_image: str
) -> None:
    reg: Registry = request.getfixturevalue(registry_fixture)
    client = dockerd.client()
    try:
        target = f"{reg.host}/testbed/tiny-{registry_fixture}"
        client.images.get(tiny_image).tag(target, tag="1")
        with pytest.raises(docker.errors.APIError):
            client.login(reg.username, "wrong-password", registry=reg.host, reauth=True)
        client.login(reg.username, reg.password, registry=reg.host, reauth=True)
        mark = reg.mark()
        lines = list(client.images.push(target, tag="1", stream=True, decode=True))
        assert not [line for line in lines if "error" in line], lines
        seen = reg.requests_since(mark)
        assert ("PUT", f"/v2/testbed/tiny-{registry_fixture}/manifests/1", 201) in seen
    finally:
        client.close()


# -- isolation --------------------------------------------------------------------------------
def test_isolation_fixtures(
    request: pytest.FixtureRequest, docker_config_dir: Path, no_docker_daemon: None
) -> None:
    assert os.environ["DOCKER_CONFIG"] == str(docker_config_dir)
    assert list(docker_config_dir.iterdir()) == []
    with pytest.raises(docker.errors.DockerException):
        docker.from_env().ping()
    programs = ("docker", "htpasswd", "python3", "sh", "podman")
    before = {program: shutil.which(program) for program in programs}
    request.getfixturevalue("no_podman")
    assert shutil.which("podman") is None and shutil.which("skopeo") is None
    for program in programs[:-1]:
        assert (shutil.which(program) is None) == (before[program] is None), program


def _helper(
    helper: CredentialHelper, action: str, data: str = "", timeout: float = 10
) -> subprocess.CompletedProcess[str]:
    executable = shutil.which(f"docker-credential-{helper.name}")
    assert executable == str(helper.executable)
    return subprocess.run(
        [executable, action], input=data, capture_output=True, text=True, timeout=timeout
    )


def test_credential_helper_protocol(credential_helper: CredentialHelper) -> None:
    helper = credential_helper
    url = "127.0.0.1:5999"
    entry = {"ServerURL": url, "Username": "me", "Secret": "s3cret"}
    assert _helper(helper, "store", json.dumps(entry)).returncode == 0
    assert helper.entries() == {url: {"Username": "me", "Secret": "s3cret"}}
    assert json.loads(_helper(helper, "get", url).stdout) == entry
    assert json.loads(_helper(helper, "list").stdout) == {url: "me"}
    # docker-py's own helper client understands it.
    store = docker.credentials.Store(helper.name)
    assert store.get(url)["Secret"] == "s3cret"
    assert _helper(helper, "erase", url).returncode == 0
    missing = _helper(helper, "get", url)
    assert missing.returncode == 1 and NOT_FOUND in missing.stdout
    with pytest.raises(docker.credentials.CredentialsNotFound):
        store.get(url)
    assert helper.calls()[:3] == [("store", url), ("get", url), ("list", "")]

    helper.break_with("fail", message="keychain locked", actions=("get",))
    failed = _helper(helper, "get", url)
    assert failed.returncode == 1 and "keychain locked" in failed.stdout
    assert _helper(helper, "list").returncode == 0
    helper.break_with("garbage")
    with pytest.raises(json.JSONDecodeError):
        json.loads(_helper(helper, "list").stdout)
    helper.break_with("hang", seconds=3)
    with pytest.raises(subprocess.TimeoutExpired):
        _helper(helper, "get", url, timeout=0.5)
    helper.repair()
    assert _helper(helper, "list").returncode == 0


def test_docker_cli_logs_in_into_the_helper_without_a_daemon(
    htpasswd_registry: Registry,
    credential_helper: CredentialHelper,
    docker_config_dir: Path,
    no_docker_daemon: None,
) -> None:
    cli = require_binary("docker")
    reg = htpasswd_registry
    (docker_config_dir / "config.json").write_text(
        json.dumps({"credsStore": credential_helper.name})
    )
    mark = reg.mark()
    done = subprocess.run(
        [cli, "login", reg.host, "--username", reg.username, "--password-stdin"],
        input=reg.password,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert credential_helper.entries() == {
        reg.host: {"Username": reg.username, "Secret": reg.password}
    }
    config = json.loads((docker_config_dir / "config.json").read_text())
    assert config["auths"] == {reg.host: {}} and config["credsStore"] == "testbed"
    assert reg.requests_since(mark) == [("GET", "/v2/", 401), ("GET", "/v2/", 200)]


@pytest.mark.parametrize("refresh_tokens", [True, False])
def test_docker_cli_login_to_the_token_registry(
    token_registry: Registry,
    credential_helper: CredentialHelper,
    docker_config_dir: Path,
    no_docker_daemon: None,
    monkeypatch: pytest.MonkeyPatch,
    refresh_tokens: bool,
) -> None:
    """The CLI asks for an offline token: if it gets one it stores that, not the password."""
    cli = require_binary("docker")
    reg = token_registry
    server = reg.token_server
    assert server is not None
    monkeypatch.setattr(server, "refresh_tokens_enabled", refresh_tokens)
    (docker_config_dir / "config.json").write_text(
        json.dumps({"credsStore": credential_helper.name})
    )
    mark, token_mark = reg.mark(), server.mark()
    done = subprocess.run(
        [cli, "login", reg.host, "--username", reg.username, "--password-stdin"],
        input=reg.password,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [(key, stored)] = credential_helper.entries().items()
    assert key == reg.host
    if refresh_tokens:
        assert stored["Username"] == "<token>" and stored["Secret"] != reg.password
    else:
        assert stored == {"Username": reg.username, "Secret": reg.password}
    assert reg.requests_since(mark) == [("GET", "/v2/", 401), ("GET", "/v2/", 200)]
    [asked] = server.requests_since(token_mark)
    assert asked[:3] == ("GET", "/token", 200)
    assert asked.params.offline and asked.params.client_id == "docker" and not asked.params.scopes


def _tls_echo(testbed: Testbed, version: ssl.TLSVersion) -> socket.socket:
    """A listener answering one TLS connection (at most `version`) with b"ok"."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(testbed.server_cert.cert_path), str(testbed.server_cert.key_path))
    context.maximum_version = version
    listener = socket.create_server((LOOPBACK, 0))

    def serve() -> None:
        connection, _ = listener.accept()
        with context.wrap_socket(connection, server_side=True) as tls:
            tls.recv(16)
            tls.sendall(b"ok")

    threading.Thread(target=serve, daemon=True).start()
    return listener


@pytest.mark.parametrize(
    ("version", "name"),
    [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")],
    ids=["tls1.2", "tls1.3"],
)
def test_counting_proxy_counts_handshakes_and_reads_the_version(
    testbed: Testbed, version: ssl.TLSVersion, name: str
) -> None:
    """One TLS connection and one plain one: 2 TCP, 1 TLS handshake, the version chosen."""
    listener = _tls_echo(testbed, version)
    client = ssl.create_default_context(cafile=str(testbed.ca.cert_path))
    with listener, CountingProxy(listener.getsockname()[:2]) as proxy:
        raw = socket.create_connection((LOOPBACK, proxy.port), timeout=5)
        with raw, client.wrap_socket(raw, server_hostname=LOOPBACK) as tls:
            tls.sendall(b"hello")
            assert tls.recv(16) == b"ok"
        with socket.create_connection((LOOPBACK, proxy.port), timeout=5) as plain:
            plain.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert wait_for(lambda: proxy.seen().tcp == 2, 5)
        assert proxy.seen() == Handshakes(tcp=2, tls=1, versions=(name,))
