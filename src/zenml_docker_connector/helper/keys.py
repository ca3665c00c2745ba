"""What a client sends as "server URL", reduced to the registry the mapping is keyed by.

The docker CLI sends `host[:port]` (Docker Hub: `https://index.docker.io/v1/`); containers
tools send `host[:port]` (Docker Hub: `docker.io`); `docker login` may send a scheme and a
path. All of them name one registry: its host (lower case) and port, Docker Hub as one key.
"""

from __future__ import annotations

from zenml_docker_connector.helper.files import HelperError

DOCKER_HUB_KEY = "docker.io"
DOCKER_HUB_SERVER_URL = "https://index.docker.io/v1/"
_HUB_ALIASES = frozenset(
    ("docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com")
)
MAX_KEY_LENGTH = 300


def registry_key(server_url: str) -> str:
    """`host[:port]` of `server_url`, lower case; Docker Hub's aliases become `docker.io`."""
    text = server_url.strip()
    lowered = text.lower()
    for scheme in ("https://", "http://"):
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            break
    host = text.split("/", 1)[0].lower()
    if not host or len(host) > MAX_KEY_LENGTH or not _plain(host):
        raise HelperError("the server URL does not name a registry (host[:port])")
    return DOCKER_HUB_KEY if host in _HUB_ALIASES else host


def server_url_of(key: str) -> str:
    """How `list` names a registry: as the docker CLI stores it."""
    return DOCKER_HUB_SERVER_URL if key == DOCKER_HUB_KEY else key


def _plain(host: str) -> bool:
    """Letters, digits and the punctuation of host names, IPv6 literals and ports only."""
    return all(ch.isascii() and (ch.isalnum() or ch in ".-_:[]") for ch in host)
