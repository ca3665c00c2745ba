"""Where credentials may travel, and what a redirect may take along (`policy`)."""

from __future__ import annotations

import pytest

from zenml_docker_connector.errors import InsecureTransportError
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.outgoing import Outgoing
from zenml_docker_connector.registry.policy import (
    credentials_allowed,
    keeps_credentials,
    redirected,
    require_credentials_allowed,
)

HTTPS_REGISTRY = parse_registry_reference("registry.example.com")
BASIC = "Basic dXNlcjpwYXNz"


@pytest.mark.parametrize(
    ("reference", "url", "allowed"),
    [
        ("registry.example.com", "https://registry.example.com/v2/", True),
        ("registry.example.com", "http://registry.example.com/v2/", False),
        ("http://registry.example.com", "http://registry.example.com/v2/", True),
        ("http://registry.example.com", "http://other.example.com/token", False),
        ("http://registry.example.com:5000", "http://registry.example.com:5001/t", True),
        ("registry.example.com", "http://127.0.0.1:5000/v2/", True),
        ("registry.example.com", "http://localhost:5000/v2/", True),
        ("registry.example.com", "http://[::1]:5000/v2/", True),
        ("localhost:5000", "http://localhost:5000/v2/", True),
        ("localhost:5000", "http://10.0.0.1/token", False),
        ("https://registry.example.com", "http://registry.example.com/v2/", False),
    ],
)
def test_credentials_over_plain_http_only_where_allowed(
    reference: str, url: str, allowed: bool
) -> None:
    assert credentials_allowed(url, parse_registry_reference(reference)) is allowed


def test_credentials_for_plain_http_are_refused_before_sending() -> None:
    request = Outgoing("GET", "http://registry.example.com/v2/", authorization=BASIC)
    with pytest.raises(InsecureTransportError) as caught:
        require_credentials_allowed(request, HTTPS_REGISTRY)
    message = str(caught.value)
    assert "Refusing to send credentials for registry registry.example.com over plain HTTP" in (
        message
    )
    assert "http://registry.example.com/v2/" in message and "dXNlcjpwYXNz" not in message
    # Without credentials, plain HTTP is fine (the anonymous ping).
    require_credentials_allowed(Outgoing("GET", "http://registry.example.com/v2/"), HTTPS_REGISTRY)
    form = Outgoing("POST", "http://x.example/t", role="token", form={}, form_has_credentials=True)
    with pytest.raises(InsecureTransportError):
        require_credentials_allowed(form, HTTPS_REGISTRY)


@pytest.mark.parametrize(
    ("source", "target", "keeps"),
    [
        ("https://r.example/v2/", "https://r.example/v2/x", True),
        ("https://r.example/v2/", "https://r.example:443/other", True),
        ("http://r.example/v2/", "https://r.example/v2/", True),  # same-host upgrade
        ("https://r.example/v2/", "http://r.example/v2/", False),  # downgrade
        ("https://r.example/v2/", "https://r.example:8443/v2/", False),
        ("https://r.example/v2/", "https://cdn.example/blob", False),
        ("https://R.Example/v2/", "https://r.example/v2/", True),
    ],
)
def test_keeps_credentials_on_the_same_origin_only(source: str, target: str, keeps: bool) -> None:
    assert keeps_credentials(source, target) is keeps


def test_redirect_to_another_host_drops_the_authorization_header() -> None:
    request = Outgoing("GET", "https://r.example/v2/", authorization=BASIC, auth_label="Basic")
    after, dropped = redirected(
        request, 302, "https://r.example/v2/", "https://cdn.example/v2/", HTTPS_REGISTRY
    )
    assert dropped and after.authorization is None and after.auth_label == ""
    assert after.url == "https://cdn.example/v2/"
    same, dropped = redirected(
        request, 307, "https://r.example/v2/", "https://r.example/v2/x", HTTPS_REGISTRY
    )
    assert not dropped and same.authorization == BASIC


def test_redirect_from_https_to_plain_http_drops_credentials_even_on_the_same_host() -> None:
    request = Outgoing("GET", "https://r.example/v2/", authorization=BASIC)
    after, dropped = redirected(
        request, 301, "https://r.example/v2/", "http://r.example/v2/", HTTPS_REGISTRY
    )
    assert dropped and after.authorization is None


def test_see_other_turns_a_credentials_post_into_a_bodyless_get() -> None:
    post = Outgoing(
        "POST",
        "https://auth.example/token",
        role="token",
        form={"password": "pw"},
        form_has_credentials=True,
        params=(("service", "s"),),
    )
    after, dropped = redirected(
        post, 303, "https://auth.example/token", "https://other.example/t", HTTPS_REGISTRY
    )
    assert (after.method, after.form, after.form_has_credentials) == ("GET", None, False)
    assert after.params == () and not dropped and not after.carries_credentials


def test_temporary_redirects_keep_the_body_so_never_to_another_host() -> None:
    post = Outgoing(
        "POST", "https://auth.example/token", role="token", form={}, form_has_credentials=True
    )
    kept, _ = redirected(
        post, 308, "https://auth.example/token", "https://auth.example/v2/token", HTTPS_REGISTRY
    )
    assert kept.method == "POST" and kept.form_has_credentials
    with pytest.raises(InsecureTransportError, match="refusing to resend"):
        redirected(
            post, 307, "https://auth.example/token", "https://evil.example/t", HTTPS_REGISTRY
        )
