"""TLS trust, plain-HTTP rules, redirects and timeouts, against real local servers.

The decisions themselves (which hosts get credentials, whom TLS trusts, what a redirect
keeps) are unit-tested in tests/unit/registry/test_policy.py, test_tls.py, test_transport.py.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from testbed.local_http import (
    LocalServer,
    Reply,
    Seen,
    basic_challenge,
    bearer_challenge,
    registry_ok,
)
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import (
    InsecureTransportError,
    NotARegistryError,
    RegistryTLSError,
    RegistryUnreachableError,
)
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.cache import AuthCache
from zenml_docker_connector.registry.transport import ConnectionSettings, Timeouts
from zenml_docker_connector.registry.verification import verify_registry_access

PASSWORD = "Transport-Secret-9f3a"


@pytest.fixture
def cache() -> AuthCache:
    return AuthCache()


@pytest.fixture
def no_ca_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither REQUESTS_CA_BUNDLE nor CURL_CA_BUNDLE: system trust only."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


# --- TLS against the real registry ------------------------------------------------------


def _verify(
    registry: Any,
    url: str | None = None,
    *,
    cache: AuthCache,
    insecure: bool = False,
    cert_dirs: list[Path] | None = None,
) -> Any:
    return verify_registry_access(
        parse_registry_reference(url or f"https://{registry.host}"),
        Credentials(registry.username, registry.password),
        settings=ConnectionSettings(insecure=insecure, cert_dirs=cert_dirs),
        cache=cache,
    )


def test_tls_registry_with_ca_from_requests_ca_bundle(
    tls_registry: Any, monkeypatch: pytest.MonkeyPatch, cache: AuthCache
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_registry.ca_cert_path))
    mark = tls_registry.mark()
    report = _verify(tls_registry, cache=cache)
    assert report.scheme == "https" and report.auth_scheme == "basic"
    assert str(tls_registry.ca_cert_path) in report.tls
    assert [(r.method, r.status) for r in tls_registry.requests_since(mark)] == [
        ("GET", 401),
        ("GET", 200),
    ]


def test_tls_registry_without_ca_is_rejected_with_advice(
    tls_registry: Any, no_ca_env: None, cache: AuthCache, tmp_path: Path
) -> None:
    with pytest.raises(RegistryTLSError) as caught:
        _verify(tls_registry, cache=cache, cert_dirs=[tmp_path])
    message = str(caught.value)
    assert tls_registry.host in message
    assert f"/etc/docker/certs.d/{tls_registry.host}/ca.crt" in message
    assert "REQUESTS_CA_BUNDLE" in message and "insecure" in message
    assert "certificate verify failed" in message
    assert tls_registry.password not in message


def test_tls_registry_with_ca_in_a_certs_dir(
    tls_registry: Any, no_ca_env: None, cache: AuthCache, tmp_path: Path
) -> None:
    host_dir = tmp_path / "certs.d" / tls_registry.host
    host_dir.mkdir(parents=True)
    shutil.copy(tls_registry.ca_cert_path, host_dir / "ca.crt")
    report = _verify(tls_registry, cache=cache, cert_dirs=[tmp_path / "certs.d"])
    assert str(host_dir / "ca.crt") in report.tls


@pytest.fixture
def etc_docker_certs(tls_registry: Any) -> Iterator[Path]:
    """The registry's CA in the real /etc/docker/certs.d/<host:port>/ (root only)."""
    if os.geteuid() != 0:
        pytest.skip("writing /etc/docker/certs.d needs root")
    root = Path("/etc/docker/certs.d")
    created_root = not root.exists()
    host_dir = root / tls_registry.host
    host_dir.mkdir(parents=True, exist_ok=False)
    shutil.copy(tls_registry.ca_cert_path, host_dir / "ca.crt")
    try:
        yield host_dir / "ca.crt"
    finally:
        shutil.rmtree(host_dir)
        if created_root:
            shutil.rmtree(root, ignore_errors=True)


def test_tls_registry_with_ca_in_etc_docker_certs_d(
    tls_registry: Any, no_ca_env: None, cache: AuthCache, etc_docker_certs: Path
) -> None:
    report = _verify(tls_registry, cache=cache)
    assert str(etc_docker_certs) in report.tls


def test_insecure_opt_in_skips_verification(
    tls_registry: Any, no_ca_env: None, cache: AuthCache, tmp_path: Path
) -> None:
    report = _verify(tls_registry, cache=cache, insecure=True, cert_dirs=[tmp_path])
    assert "verification disabled" in report.tls
    assert report.auth_scheme == "basic"


def test_loopback_without_scheme_falls_back_to_https(
    tls_registry: Any, monkeypatch: pytest.MonkeyPatch, cache: AuthCache
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_registry.ca_cert_path))
    mark = tls_registry.mark()
    report = _verify(tls_registry, url=tls_registry.host, cache=cache)
    assert report.url == f"https://{tls_registry.host}/v2/"
    assert report.registry_requests == 3  # http 400, https 401, https 200
    assert len(tls_registry.requests_since(mark)) == 2  # the 400 comes from Go's TLS layer
    # The fallback is remembered with the challenge: the next check goes straight to https.
    cache.verdicts.clear()
    again = _verify(tls_registry, url=tls_registry.host, cache=cache)
    assert again.registry_requests == 1 and again.url.startswith("https://")


def test_explicit_http_to_a_tls_port_says_so(tls_registry: Any, cache: AuthCache) -> None:
    with pytest.raises(NotARegistryError, match="HTTPS port"):
        _verify(tls_registry, url=f"http://{tls_registry.host}", cache=cache)


def test_explicit_https_to_a_plain_http_registry_says_so(
    htpasswd_registry: Any, cache: AuthCache
) -> None:
    with pytest.raises(RegistryTLSError, match="does not speak TLS"):
        _verify(htpasswd_registry, url=f"https://{htpasswd_registry.host}", cache=cache)


def test_http_realm_for_an_https_registry_is_refused(
    testbed: Any, tls_registry: Any, monkeypatch: pytest.MonkeyPatch, cache: AuthCache
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_registry.ca_cert_path))
    cert = testbed.server_cert
    with (
        LocalServer(lambda _: Reply(200, body=b"{}")) as token_service,
        LocalServer(
            lambda _: bearer_challenge(f"{token_service.url}/token"),
            tls=(cert.cert_path, cert.key_path),
        ) as registry,
    ):
        with pytest.raises(InsecureTransportError) as caught:
            verify_registry_access(
                parse_registry_reference(f"https://{registry.netloc}"),
                Credentials("user", PASSWORD),
                cache=cache,
            )
        assert token_service.seen == []
        assert len(registry.seen) == 1
    assert "plain-HTTP token realm" in str(caught.value)


# --- redirects ------------------------------------------------------------------------


def test_requests_itself_strips_authorization_across_hosts() -> None:
    """The library's own rule (we follow redirects ourselves, under `policy`, but keep it)."""
    with LocalServer(lambda _: Reply(200, body=b"ok"), url_host="localhost") as other:
        with LocalServer(lambda _: Reply(302, [("Location", f"{other.url}/landing")])) as first:
            session = requests.Session()
            session.trust_env = False
            session.get(f"{first.url}/start", headers={"Authorization": "Basic c2VjcmV0"})
        assert first.seen[0].headers.get("Authorization") == "Basic c2VjcmV0"
        assert "Authorization" not in other.seen[0].headers


def test_registry_redirect_to_another_host_is_not_followed(cache: AuthCache) -> None:
    """The registry's base never moves: neither the credentials nor the check go elsewhere."""
    with LocalServer(lambda _: registry_ok(), url_host="localhost") as other:

        def first_script(seen: Seen) -> Reply:
            if "Authorization" not in seen.headers:
                return basic_challenge()
            return Reply(307, [("Location", f"{other.url}/v2/")])

        with LocalServer(first_script) as first, pytest.raises(NotARegistryError) as caught:
            verify_registry_access(
                parse_registry_reference(first.netloc), Credentials("user", PASSWORD), cache=cache
            )
        assert other.seen == []
    assert "to another origin" in str(caught.value) and other.netloc in str(caught.value)


def test_token_post_redirected_to_another_host_is_not_resent(cache: AuthCache) -> None:
    with LocalServer(lambda _: Reply(200, body=b'{"token":"t"}'), url_host="localhost") as other:
        with (
            LocalServer(
                lambda seen: Reply(307, [("Location", f"{other.url}/token")])
            ) as token_service,
            LocalServer(lambda _: bearer_challenge(f"{token_service.url}/token")) as registry,
            pytest.raises(InsecureTransportError, match="refusing to send them there"),
        ):
            verify_registry_access(
                parse_registry_reference(registry.netloc),
                Credentials("user", PASSWORD),
                cache=cache,
            )
        assert other.seen == []


def test_token_get_redirected_to_another_host_is_not_followed(cache: AuthCache) -> None:
    with LocalServer(
        lambda _: Reply(401, body=b'{"details":"who are you"}'), url_host="localhost"
    ) as other:
        with (
            LocalServer(
                lambda seen: (
                    Reply(404)
                    if seen.method == "POST"
                    else Reply(302, [("Location", f"{other.url}/token")])
                )
            ) as token_service,
            LocalServer(lambda _: bearer_challenge(f"{token_service.url}/token")) as registry,
            pytest.raises(InsecureTransportError, match="another origin"),
        ):
            verify_registry_access(
                parse_registry_reference(registry.netloc),
                Credentials("user", PASSWORD),
                cache=cache,
            )
        assert other.seen == []
        assert token_service.seen[1].headers["Authorization"].startswith("Basic ")


def test_same_origin_redirect_keeps_credentials(cache: AuthCache) -> None:
    def token_script(seen: Seen) -> Reply:
        if seen.path == "/token":
            return Reply(307, [("Location", "/token/v2")])
        return Reply(200, body=b'{"access_token":"opaque-token","expires_in":120}')

    with LocalServer(token_script) as token_service:

        def registry_script(seen: Seen) -> Reply:
            if seen.headers.get("Authorization") == "Bearer opaque-token":
                return registry_ok()
            return bearer_challenge(f"{token_service.url}/token")

        with LocalServer(registry_script) as registry:
            report = verify_registry_access(
                parse_registry_reference(registry.netloc),
                Credentials("user", PASSWORD),
                cache=cache,
            )
    assert report.auth_scheme == "bearer" and report.token_requests == 2
    assert [s.path for s in token_service.seen] == ["/token", "/token/v2"]
    assert all(b"password=" in s.body for s in token_service.seen)


# --- timeouts and unreachable hosts -------------------------------------------------------


def test_hung_socket_times_out_quickly(cache: AuthCache) -> None:
    with LocalServer(lambda _: Reply(hang=True)) as server:
        started = time.monotonic()
        with pytest.raises(RegistryUnreachableError) as caught:
            verify_registry_access(
                parse_registry_reference(server.netloc),
                Credentials("user", PASSWORD),
                cache=cache,
                settings=ConnectionSettings(timeouts=Timeouts(connect=1, read=1)),
            )
        elapsed = time.monotonic() - started
    assert elapsed < 3
    assert "did not answer in time" in str(caught.value) and server.netloc in str(caught.value)


def test_body_that_never_ends_is_bounded(cache: AuthCache) -> None:
    with LocalServer(lambda _: Reply(200, body=b"{", hang_after_headers=True)) as server:
        started = time.monotonic()
        with pytest.raises(RegistryUnreachableError):
            verify_registry_access(
                parse_registry_reference(server.netloc),
                Credentials("user", PASSWORD),
                cache=cache,
                settings=ConnectionSettings(timeouts=Timeouts(connect=1, read=1)),
            )
    assert time.monotonic() - started < 3


def test_dripping_body_hits_the_total_deadline(cache: AuthCache) -> None:
    with LocalServer(lambda _: Reply(200, drip=True)) as server:
        started = time.monotonic()
        with pytest.raises(RegistryUnreachableError, match="took more than 2 s"):
            verify_registry_access(
                parse_registry_reference(server.netloc),
                Credentials("user", PASSWORD),
                cache=cache,
                settings=ConnectionSettings(timeouts=Timeouts(connect=1, read=1), deadline=2),
            )
    assert time.monotonic() - started < 4


def test_refused_connection_names_host_and_reason(cache: AuthCache) -> None:
    from testbed.net import free_port

    netloc = f"127.0.0.1:{free_port()}"
    with pytest.raises(RegistryUnreachableError) as caught:
        verify_registry_access(
            parse_registry_reference(netloc), Credentials("user", PASSWORD), cache=cache
        )
    message = str(caught.value)
    assert netloc in message and "connection refused" in message
    assert "Is the registry running" in message


def test_loopback_is_never_proxied(
    htpasswd_registry: Any, monkeypatch: pytest.MonkeyPatch, cache: AuthCache
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    report = verify_registry_access(
        parse_registry_reference(htpasswd_registry.host),
        Credentials(htpasswd_registry.username, htpasswd_registry.password),
        cache=cache,
    )
    assert report.auth_scheme == "basic"
