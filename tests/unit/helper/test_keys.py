from __future__ import annotations

import pytest

from zenml_docker_connector.helper.files import HelperError
from zenml_docker_connector.helper.keys import registry_key, server_url_of


@pytest.mark.parametrize(
    ("sent", "key"),
    [
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("https://index.docker.io/v1/", "docker.io"),
        ("docker.io", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("HTTPS://Ghcr.IO/v2/", "ghcr.io"),
        ("http://[::1]:5000", "[::1]:5000"),
        ("  registry.example.com:443/team/app \n", "registry.example.com:443"),
    ],
)
def test_what_clients_send_becomes_one_key(sent: str, key: str) -> None:
    assert registry_key(sent) == key


@pytest.mark.parametrize("sent", ["", "https://", "/path", "host name", "h\x1bost", "é.example"])
def test_junk_is_refused(sent: str) -> None:
    with pytest.raises(HelperError):
        registry_key(sent)


def test_docker_hub_is_listed_as_docker_stores_it() -> None:
    assert server_url_of("docker.io") == "https://index.docker.io/v1/"
    assert server_url_of("ghcr.io") == "ghcr.io"
