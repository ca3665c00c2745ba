"""A hostile registry gets no credentials the request policy does not allow (issue 11, "Get
credentials it should not"): no cross-port http->https redirect keeps them, no 307 resends a
password elsewhere, an anonymous ping cannot move the registry's base, and a plain-HTTP realm
gets a password only from a plain-HTTP loopback registry, and only on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from testbed.local_http import LocalServer, Reply, Seen, basic_challenge, bearer_challenge
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import InsecureTransportError, NotARegistryError
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.cache import AuthCache
from zenml_docker_connector.registry.verification import verify_registry_access

pytestmark = pytest.mark.timeout(60)

CREDENTIALS = Credentials("mallory", "Creds-Secret-0b3c")


def _verify(registry: str) -> Any:
    return verify_registry_access(
        parse_registry_reference(registry), CREDENTIALS, cache=AuthCache()
    )


def _carried_credentials(server: LocalServer) -> list[Seen]:
    return [s for s in server.seen if "Authorization" in s.headers or b"password" in s.body]


def test_an_http_to_https_redirect_to_another_port_gets_nothing(testbed: Any) -> None:
    cert = testbed.server_cert
    with LocalServer(
        lambda seen: Reply(200, body=b"{}"), tls=(cert.cert_path, cert.key_path)
    ) as tls:

        def script(seen: Seen) -> Reply:
            if "Authorization" not in seen.headers:
                return basic_challenge()
            return Reply(301, [("Location", f"{tls.url}/v2/")])

        with LocalServer(script) as registry, pytest.raises(NotARegistryError) as caught:
            _verify(f"http://{registry.netloc}")
        assert tls.seen == []
    assert "to another origin" in str(caught.value) and tls.netloc in str(caught.value)


def test_a_307_post_to_another_port_is_not_resent() -> None:
    with LocalServer(lambda seen: Reply(200, body=b'{"token": "t"}')) as other:
        with (
            LocalServer(lambda seen: Reply(307, [("Location", f"{other.url}/token")])) as realm,
            LocalServer(lambda seen: bearer_challenge(f"{realm.url}/token")) as registry,
            pytest.raises(InsecureTransportError, match="another origin"),
        ):
            _verify(registry.netloc)
        assert other.seen == []
        assert [s.method for s in realm.seen] == ["POST"]


def test_an_anonymous_ping_cannot_move_the_registry_base() -> None:
    """Before: the ping followed a redirect to another port, and the credentials went there
    (and the report said the first port accepted them)."""
    with LocalServer(lambda seen: basic_challenge()) as elsewhere:
        with (
            LocalServer(lambda seen: Reply(302, [("Location", f"{elsewhere.url}/v2/")])) as first,
            pytest.raises(NotARegistryError) as caught,
        ):
            _verify(first.netloc)
        assert elsewhere.seen == [] and len(first.seen) == 1
    assert "if the registry has moved, name it by its new address" in str(caught.value)


@pytest.fixture
def proxied_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A registry reached as `http://registry.test:5000` (not a loopback name) through an
    HTTP proxy on 127.0.0.1, which answers as the registry; its realm is set per test."""
    state: dict[str, Any] = {"realm": ""}

    def script(seen: Seen) -> Reply:
        return bearer_challenge(state["realm"])

    with LocalServer(script) as proxy:
        for name in ("HTTP_PROXY", "http_proxy"):
            monkeypatch.setenv(name, proxy.url)
        for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.delenv(name, raising=False)
        state["proxy"] = proxy
        yield state


@pytest.mark.parametrize("realm_host", ["registry.test:5001", "127.0.0.1:{port}"])
def test_a_plain_http_realm_gets_no_password_from_a_registry_named_http(
    proxied_registry: dict[str, Any], realm_host: str
) -> None:
    with LocalServer(lambda seen: Reply(200, body=b'{"token": "t"}')) as token_service:
        proxied_registry["realm"] = f"http://{realm_host.format(port=token_service.port)}/token"
        with pytest.raises(InsecureTransportError) as caught:
            _verify("http://registry.test:5000")
        assert token_service.seen == []
    proxy = proxied_registry["proxy"]
    assert [s.path for s in proxy.seen] == ["/v2/"] and _carried_credentials(proxy) == []
    message = str(caught.value)
    assert "plain-HTTP token realm" in message and "loopback" in message


def test_a_loopback_registry_may_use_its_plain_http_token_service_on_loopback() -> None:
    """The control: what Docker's own test setups look like keeps working."""
    with LocalServer(lambda seen: Reply(200, body=b'{"token": "t0k3n"}')) as token_service:

        def script(seen: Seen) -> Reply:
            if seen.headers.get("Authorization") == "Bearer t0k3n":
                return Reply(200, body=b"{}")
            return bearer_challenge(f"http://localhost:{token_service.port}/token")

        with LocalServer(script) as registry:
            report = _verify(registry.netloc)
    assert report.auth_scheme == "bearer" and len(_carried_credentials(token_service)) == 1
