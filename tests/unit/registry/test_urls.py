"""URL pieces: shown forms without query or user info, origins, the `/v2/` root."""

from __future__ import annotations

import pytest

from zenml_docker_connector.registry.urls import (
    base_of,
    host_of,
    origin,
    scheme_of,
    shown_url,
    v2_root,
)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://r.example/token?service=s&account=alice", "https://r.example/token"),
        ("https://alice:pw@r.example:5000/v2/", "https://r.example:5000/v2/"),
        ("http://[::1]:5000/v2/#frag", "http://[::1]:5000/v2/"),
    ],
)
def test_shown_url_drops_query_fragment_and_user_info(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def test_base_and_v2_root() -> None:
    assert base_of("https://u:p@r.example:5000/v2/x?y=1") == "https://r.example:5000"
    assert v2_root("https://r.example:5000") == "https://r.example:5000/v2/"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://R.Example/v2/", ("https", "r.example", 443)),
        ("HTTP://r.example/v2/", ("http", "r.example", 80)),
        ("https://r.example:8443/", ("https", "r.example", 8443)),
        ("http://[::1]:5000/", ("http", "::1", 5000)),
    ],
)
def test_origin_fills_in_default_ports(url: str, expected: tuple[str, str, int]) -> None:
    assert origin(url) == expected


def test_host_and_scheme() -> None:
    assert host_of("http://[::1]:5000/v2/") == "[::1]"
    assert host_of("https://Registry.Example:5000/") == "registry.example"
    assert scheme_of("HTTPS://r.example/") == "https"
