"""URL pieces the registry code needs: shown forms without queries, origins, the `/v2/` root."""

from __future__ import annotations

from urllib.parse import urlsplit


def shown_url(url: str) -> str:
    """`scheme://host[:port]/path`: what messages and step logs show (no query, no user info)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{netloc}{parts.path}"


def base_of(url: str) -> str:
    """`scheme://host[:port]` of `url`."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def v2_root(base_url: str) -> str:
    """The API root every registry answers: `<base>/v2/`."""
    return f"{base_url}/v2/"


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with default ports filled in: what "same origin" compares."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def host_of(url: str) -> str:
    """The host as `references` writes it (IPv6 in brackets), for loopback checks."""
    host = (urlsplit(url).hostname or "").lower()
    return f"[{host}]" if ":" in host else host


def scheme_of(url: str) -> str:
    return urlsplit(url).scheme.lower()
