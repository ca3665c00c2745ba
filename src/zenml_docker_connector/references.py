"""Registry references: the one place that turns what users type into a registry address.

Users name registries in many shapes (`docker.io`, `https://index.docker.io/v1/`,
`localhost:5000/ns/repo`, `[::1]:5000`, a container registry `uri`, ...). Everything
else in the package works on the parsed `RegistryReference`, so that the resource id
ZenML matches, the URL we talk to and the key we store credentials under never disagree.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

DOCKER_HUB = "docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)

ACCEPTED_FORMATS = (
    "Docker Hub: docker.io or https://index.docker.io/v1/[<repository>]; "
    "other registries: [http[s]://]host[:port][/<repository>] where host is a DNS name, "
    "an IPv4 address or a bracketed IPv6 address such as [::1]"
)

_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_DIGEST_SUFFIX = re.compile(
    r"@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$"
)
_MAX_HOSTNAME = 253
MAX_NAME_LENGTH = 255
"""distribution's limit for the repository path (`library/…` on Docker Hub); the host does not
count (`RepositoryNameTotalLengthMax` since distribution/reference 0.6)."""
_SHOWN_LENGTH = 100
"""How much of a rejected input a message repeats."""
_HIDDEN = "<hidden>"


@dataclass(frozen=True)
class RegistryReference:
    """A parsed registry address, with the repository part if one was given."""

    host: str
    """Lower-case host name, IPv4 address or bracketed IPv6 address; `docker.io` for Docker Hub."""
    port: int | None
    scheme: str
    """`https`, or `http` when the user wrote `http://` or the host is a loopback address."""
    scheme_explicit: bool
    repository: str | None
    """`ns/repo` when the reference named one (Docker Hub single names get `library/`)."""
    path: str | None = field(default=None, compare=False)
    """The repository part exactly as written: `team` for `docker.io/team`, where
    `repository` says `library/team`. podman keys (`docker.io/team`) name namespaces this way."""

    @property
    def is_docker_hub(self) -> bool:
        return self.host == DOCKER_HUB

    @property
    def netloc(self) -> str:
        """`host[:port]`, the form the docker CLI and ZenML use for a registry."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def resource_id(self) -> str:
        """The canonical `docker-registry` resource id ZenML compares."""
        return self.netloc

    @property
    def api_url(self) -> str:
        """Base URL of the registry's HTTP API (no trailing slash)."""
        if self.is_docker_hub:
            return f"https://{DOCKER_HUB_API_HOST}"
        return f"{self.scheme}://{self.netloc}"

    @property
    def config_key(self) -> str:
        """The docker CLI's name for this registry: its config.json key and login server."""
        return DOCKER_HUB_CONFIG_KEY if self.is_docker_hub else self.netloc

    def same_registry(self, other: RegistryReference) -> bool:
        return self.resource_id == other.resource_id

    def __str__(self) -> str:
        return self.resource_id


def is_loopback_host(host: str) -> bool:
    """True for `localhost` and loopback IPs: registries Docker itself treats as insecure."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_registry_reference(value: str) -> RegistryReference:
    """Parse a registry reference; raise `ValueError` naming the input and accepted formats.

    The rules are docker's (distribution's reference grammar), so that a name we accept is
    one the docker CLI accepts too; the input is repeated in errors bounded in length and
    with any `user:password@` part hidden.
    """
    scheme, text = _split_scheme(value)
    authority, _, path = text.partition("/")
    if not authority:
        raise _invalid(value, "it names no host")
    if scheme is None and path and not _looks_like_host(authority):
        # Docker's own rule: `team/app` (no dot, colon or localhost) is a Docker Hub repository.
        host, port = DOCKER_HUB, None
        path = text
    else:
        host, port = _parse_authority(value, authority)
    if host in DOCKER_HUB_ALIASES:
        host = DOCKER_HUB
        if port is not None:
            raise _invalid(value, "Docker Hub is not addressed with a port")
    if host == DOCKER_HUB and scheme == "http":
        raise _invalid(value, "Docker Hub is only served over https://")
    if scheme is None:
        effective = "https" if host == DOCKER_HUB or not is_loopback_host(host) else "http"
    else:
        effective = scheme
    netloc = host if port is None else f"{host}:{port}"
    written = _parse_path(value, path, docker_hub=host == DOCKER_HUB)
    repository = _docker_name(value, netloc, written, docker_hub=host == DOCKER_HUB)
    return RegistryReference(
        host=host,
        port=port,
        scheme=effective,
        scheme_explicit=scheme is not None,
        repository=repository,
        path=written,
    )


def _split_scheme(value: str) -> tuple[str | None, str]:
    """(`http`/`https`/None, the rest), after checks that apply to the whole input."""
    if not isinstance(value, str):
        raise _invalid(repr(value), "it is not a string")
    text = value.strip()
    if not text:
        raise _invalid(value, "it is empty")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch.isspace() for ch in text):
        raise _invalid(value, "it contains whitespace or control characters")
    scheme = None
    match = _SCHEME.match(text)
    if match:
        scheme = match.group("scheme").lower()
        if scheme not in ("http", "https"):
            raise _invalid(value, f"the scheme {_shown(scheme + '://')} is not http:// or https://")
        text = text[match.end() :]
    if "@" in text:
        if _DIGEST_SUFFIX.search(text):
            raise _invalid(
                value, "it names a digest (@sha256:…), which a registry address cannot have"
            )
        raise _invalid(
            value, "it contains user information (user@host); pass credentials separately"
        )
    for marker in ("?", "#"):
        if marker in text:
            raise _invalid(value, f"it contains '{marker}', which a registry address cannot have")
    if not text.isascii():
        raise _invalid(
            value,
            "it contains non-ASCII characters; registry names are ASCII (write an "
            "internationalised domain name in its xn-- form)",
        )
    return scheme, text


def _looks_like_host(component: str) -> bool:
    return (
        "." in component
        or ":" in component
        or component.startswith("[")
        or (component.lower() == "localhost")
    )


def _parse_authority(value: str, authority: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        closing = authority.find("]")
        if closing < 0:
            raise _invalid(value, "an IPv6 address is missing its closing ']'")
        host = _parse_ipv6(value, authority[1:closing])
        rest = authority[closing + 1 :]
        if rest and not rest.startswith(":"):
            raise _invalid(value, "unexpected text after the IPv6 address")
        port_text = rest[1:] if rest else None
    else:
        if authority.count(":") > 1:
            raise _invalid(value, "IPv6 addresses must be written in brackets, e.g. [::1]:5000")
        host_text, sep, port_part = authority.partition(":")
        port_text = port_part if sep else None
        host = _parse_host(value, host_text.lower())
    port = None if port_text is None else _parse_port(value, port_text)
    return host, port


def _parse_ipv6(value: str, literal: str) -> str:
    """`[compressed]`; docker's grammar allows hex digits and colons only."""
    if "%" in literal:
        raise _invalid(value, "IPv6 zone ids (the %eth0 part) are not allowed in a registry name")
    if "." in literal:
        raise _invalid(
            value,
            "IPv4-embedded IPv6 addresses (such as ::ffff:10.0.0.1) are not allowed in a "
            "registry name; write the IPv4 address itself, or the IPv6 address in hex",
        )
    try:
        address = ipaddress.IPv6Address(literal)
    except ValueError:
        raise _invalid(value, f"{_shown(literal)} is not an IPv6 address") from None
    return f"[{address.compressed}]"


def _parse_host(value: str, host: str) -> str:
    if not host:
        raise _invalid(value, "it names no host")
    if re.fullmatch(r"[0-9.]*[0-9][0-9.]*", host):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise _invalid(value, f"{_shown(host)} is not a valid IPv4 address") from None
    if len(host) > _MAX_HOSTNAME or not all(_HOST_LABEL.match(label) for label in host.split(".")):
        raise _invalid(value, f"{_shown(host)} is not a valid host name")
    return host


def _parse_port(value: str, port_text: str) -> int:
    if not (port_text.isdigit() and len(port_text) <= 5 and 1 <= int(port_text) <= 65535):
        raise _invalid(value, f"port {_shown(port_text)} is not a number from 1 to 65535")
    return int(port_text)


def _parse_path(value: str, path: str, *, docker_hub: bool) -> str | None:
    """The repository as written: checked components, one trailing slash allowed."""
    components = path.split("/")
    if components[-1] == "":
        components.pop()  # `https://index.docker.io/v1/`, `host/ns/`
    if "" in components:
        raise _invalid(value, "it has an empty path component ('//'), which docker rejects")
    if docker_hub and components[:1] == ["v1"]:
        components = components[1:]
    for part in components:
        if not _PATH_COMPONENT.match(part):
            raise _invalid(
                value,
                f"the repository part {_shown(part)} is not a valid repository name "
                "(lower-case letters, digits and . _ - separators; no tag or digest)",
            )
    return "/".join(components) or None


def _docker_name(value: str, netloc: str, path: str | None, *, docker_hub: bool) -> str | None:
    """The repository docker uses (`library/` added to single Docker Hub names), length-checked."""
    if path is None:
        return None
    repository = f"library/{path}" if docker_hub and "/" not in path else path
    length = len(repository)
    if length > MAX_NAME_LENGTH:
        raise _invalid(
            value,
            f"the repository path of {netloc}/{repository[:20]}… is {length} characters long; "
            f"docker allows at most {MAX_NAME_LENGTH} (the registry host not counted)",
        )
    return repository


def _shown(value: str) -> str:
    """`repr` of user input for a message: `user:password@` hidden, at most ~100 characters."""
    text = value
    digest = _DIGEST_SUFFIX.search(text)
    body, tail = (text[: digest.start()], text[digest.start() :]) if digest else (text, "")
    at = body.rfind("@")
    if at >= 0:
        scheme = _SCHEME.match(body.lstrip())
        start = body.find("://") + 3 if scheme else 0
        body = body[:start] + _HIDDEN + body[at:]
    text = body + tail
    if len(text) <= _SHOWN_LENGTH:
        return repr(text)
    return f"{text[:_SHOWN_LENGTH]!r}… ({len(value)} characters)"


def _invalid(value: str, why: str) -> ValueError:
    return ValueError(
        f"Invalid Docker registry reference {_shown(value)}: {why}. "
        f"Accepted formats: {ACCEPTED_FORMATS}."
    )
