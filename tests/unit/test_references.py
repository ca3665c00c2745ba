"""Registry references: every shape users type, and the junk that must be refused."""

from __future__ import annotations

import pytest

from zenml_docker_connector.references import is_loopback_host, parse_registry_reference

HUB = ("docker.io", None, "https", "https://registry-1.docker.io", "https://index.docker.io/v1/")


@pytest.mark.parametrize(
    ("text", "resource_id", "repository", "scheme", "api_url", "config_key"),
    [
        ("docker.io", "docker.io", None, *HUB[2:]),
        ("index.docker.io", "docker.io", None, *HUB[2:]),
        ("registry-1.docker.io", "docker.io", None, *HUB[2:]),
        ("https://index.docker.io/v1/", "docker.io", None, *HUB[2:]),
        ("https://index.docker.io/v1/zenml/app", "docker.io", "zenml/app", *HUB[2:]),
        ("docker.io/ubuntu", "docker.io", "library/ubuntu", *HUB[2:]),
        ("zenml/app", "docker.io", "zenml/app", *HUB[2:]),
        ("DOCKER.IO", "docker.io", None, *HUB[2:]),
        ("ghcr.io", "ghcr.io", None, "https", "https://ghcr.io", "ghcr.io"),
        (
            "Registry.Example.COM:5000",
            "registry.example.com:5000",
            None,
            "https",
            "https://registry.example.com:5000",
            "registry.example.com:5000",
        ),
        (
            "http://registry.example.com:8080/team/app",
            "registry.example.com:8080",
            "team/app",
            "http",
            "http://registry.example.com:8080",
            "registry.example.com:8080",
        ),
        (
            "https://127.0.0.1:5000",
            "127.0.0.1:5000",
            None,
            "https",
            "https://127.0.0.1:5000",
            "127.0.0.1:5000",
        ),
        (
            "127.0.0.1:5000",
            "127.0.0.1:5000",
            None,
            "http",
            "http://127.0.0.1:5000",
            "127.0.0.1:5000",
        ),
        (
            "10.1.2.3:5000/ns",
            "10.1.2.3:5000",
            "ns",
            "https",
            "https://10.1.2.3:5000",
            "10.1.2.3:5000",
        ),
        (
            "localhost:5000/ns/repo",
            "localhost:5000",
            "ns/repo",
            "http",
            "http://localhost:5000",
            "localhost:5000",
        ),
        ("[::1]:5000", "[::1]:5000", None, "http", "http://[::1]:5000", "[::1]:5000"),
        ("[0:0:0:0:0:0:0:1]", "[::1]", None, "http", "http://[::1]", "[::1]"),
        ("myregistry", "myregistry", None, "https", "https://myregistry", "myregistry"),
        ("  ghcr.io/org  ", "ghcr.io", "org", "https", "https://ghcr.io", "ghcr.io"),
        (
            "registry.example.com/a/b/c/",
            "registry.example.com",
            "a/b/c",
            "https",
            "https://registry.example.com",
            "registry.example.com",
        ),
    ],
)
def test_accepted_forms(
    text: str,
    resource_id: str,
    repository: str | None,
    scheme: str,
    api_url: str,
    config_key: str,
) -> None:
    reference = parse_registry_reference(text)
    assert reference.resource_id == resource_id
    assert reference.repository == repository
    assert reference.scheme == scheme
    assert reference.api_url == api_url
    assert reference.config_key == config_key


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("https://", "no host"),
        ("http:///path", "no host"),
        ("user:pass@registry.example.com", "user information"),
        ("https://user@registry.example.com", "user information"),
        ("registry.example.com:99999", "port"),
        ("registry.example.com:0", "port"),
        ("registry.example.com:abc", "port"),
        ("registry.example.com:", "port"),
        ("regi\x00stry.example.com", "control"),
        ("registry.example.com/a b", "whitespace"),
        ("ftp://registry.example.com", "scheme"),
        ("::1", "brackets"),
        ("[::1", "closing"),
        ("[nonsense]:5000", "IPv6"),
        ("999.1.1.1:5000", "IPv4"),
        ("-bad-.example.com", "host name"),
        ("under_score.example.com", "host name"),
        ("registry.example.com/App", "repository"),
        ("registry.example.com/app:latest", "repository"),
        ("registry.example.com/app?x=1", "'?'"),
        ("http://docker.io", "https"),
        ("docker.io:443", "port"),
    ],
)
def test_junk_is_refused_with_the_input_and_formats(text: str, why: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_registry_reference(text)
    message = str(caught.value)
    assert why in message
    assert repr(text) in message
    assert "Accepted formats" in message


def test_container_registry_uri_matches_connector_registry() -> None:
    connector = parse_registry_reference("http://127.0.0.1:5000")
    component = parse_registry_reference("127.0.0.1:5000/team")
    assert component.same_registry(connector)
    assert not parse_registry_reference("127.0.0.1:5001/team").same_registry(connector)


def test_loopback_detection() -> None:
    assert is_loopback_host(parse_registry_reference("127.5.5.5:80").host)
    assert parse_registry_reference("foo.localhost:80").scheme == "http"
    assert not is_loopback_host(parse_registry_reference("example.com").host)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("registry.localhost", True),
        ("127.0.0.1", True),
        ("127.200.1.9", True),
        ("[::1]", True),
        ("::1", True),
        ("localhost.example.com", False),
        ("10.0.0.1", False),
        ("[::2]", False),
        ("docker.io", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_scheme_is_explicit_only_when_written() -> None:
    assert parse_registry_reference("https://ghcr.io").scheme_explicit
    assert parse_registry_reference("http://127.0.0.1:5000").scheme_explicit
    assert not parse_registry_reference("127.0.0.1:5000").scheme_explicit
    assert not parse_registry_reference("ghcr.io").scheme_explicit
    assert str(parse_registry_reference("https://index.docker.io/v1/")) == "docker.io"
