"""`GET /v2/` and its `WWW-Authenticate` challenges: what a registry asks for.

200 means no credentials, 401 carries challenges (Bearer beats Basic, as in Docker), anything
else is not the registry API. A loopback registry named without a scheme is tried over http
and, when the port speaks TLS (Go's "Client sent an HTTP request to an HTTPS server"), once
more over https, as Docker does.

Registries write challenges (RFC 7235) in many ways: quoted and unquoted values, several per
header or several headers, a realm alone (Google Artifact Registry), odd scheme casing. The
hand-written parser copes with all of them and turns anything else into `ChallengeParseError`
("not a registry", never a crash); past `MAX_CHALLENGES` it stops (`ChallengeLimitError`).
`describe` makes values printable: C1 controls pass the parser's C0 check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import (
    AccessDeniedError,
    NotARegistryError,
    RegistryError,
    RegistryUnreachableError,
)
from zenml_docker_connector.printable import clip, printable
from zenml_docker_connector.references import RegistryReference
from zenml_docker_connector.registry import reader
from zenml_docker_connector.registry.policy import Outgoing, base_of, shown_url, v2_root
from zenml_docker_connector.registry.reader import HttpResponse, json_object
from zenml_docker_connector.registry.transport import Transport

DESCRIBED_VALUE_LIMIT = 200

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68 = re.compile(r"([A-Za-z0-9\-._~+/]+=*)[ \t]*(?=,|\Z)")
"""`Scheme abc==`: a token68 is followed only by the end or a comma."""
_WS = " \t"


class ChallengeParseError(ValueError):
    """A `WWW-Authenticate` header that does not follow the challenge grammar."""


class ChallengeLimitError(ValueError):
    """More challenges than `MAX_CHALLENGES`: the answer is refused as a whole."""


@dataclass(frozen=True)
class Challenge:
    """One authentication challenge: a lower-cased scheme and its parameters."""

    scheme: str
    """Lower-case (`basic`, `bearer`, ...): scheme names are case-insensitive."""
    params: Mapping[str, str] = field(default_factory=dict)
    """Parameter names lower-cased; values unquoted and unescaped; first occurrence wins."""
    token68: str | None = None

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    def describe(self) -> str:
        """Human-readable form for reports (challenges never carry secrets)."""
        shown = ", ".join(
            f'{printable(name)}="{clip(printable(value), DESCRIBED_VALUE_LIMIT)}"'
            for name, value in self.params.items()
        )
        name = self.scheme.capitalize()
        return f"{name} {shown}" if shown else name


def parse_each(headers: Iterable[str]) -> tuple[list[Challenge], list[str]]:
    """Challenges from every header that parses, and the parse errors of the others.

    One malformed header among several (a proxy adding its own, say) must not hide a
    well-formed Bearer or Basic challenge in another.
    """
    challenges: list[Challenge] = []
    problems: list[str] = []
    for value in headers:
        try:
            challenges.extend(_Parser(value).parse(reader.MAX_CHALLENGES - len(challenges)))
        except ChallengeParseError as error:
            problems.append(str(error))
    return challenges, problems


class _Parser:
    """Recursive-descent parser over one header value."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise ChallengeParseError(f"WWW-Authenticate value is not text: {type(text).__name__}")
        if len(text) > reader.MAX_CHALLENGE_HEADER:
            raise ChallengeParseError(
                f"WWW-Authenticate header is {len(text)} characters long (limit "
                f"{reader.MAX_CHALLENGE_HEADER})"
            )
        if any((ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F for ch in text):
            raise ChallengeParseError("WWW-Authenticate header contains control characters")
        self.text = text
        self.pos = 0

    # -- scanning helpers ------------------------------------------------------------
    def _skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WS:
            self.pos += 1

    def _at_end(self) -> bool:
        return self.pos >= len(self.text)

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _skip_commas(self) -> None:
        """RFC 7230 list syntax allows empty elements: `a, , b`."""
        while True:
            self._skip_ws()
            if self._peek() != ",":
                return
            self.pos += 1

    def _token(self) -> str | None:
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        return match.group()

    def _fail(self, what: str) -> ChallengeParseError:
        snippet = self.text[max(0, self.pos - 20) : self.pos + 20]
        return ChallengeParseError(
            f"malformed WWW-Authenticate header: {what} at position {self.pos} (near {snippet!r})"
        )

    # -- grammar -----------------------------------------------------------------------
    def parse(self, limit: int = reader.MAX_CHALLENGES) -> list[Challenge]:
        challenges: list[Challenge] = []
        self._skip_commas()
        while not self._at_end():
            if len(challenges) >= limit:
                raise ChallengeLimitError(
                    f"more than {reader.MAX_CHALLENGES} authentication challenges"
                )
            challenges.append(self._challenge())
            self._skip_commas()
        if not challenges:
            raise ChallengeParseError("empty WWW-Authenticate header")
        return challenges

    def _challenge(self) -> Challenge:
        scheme = self._token()
        if scheme is None:
            raise self._fail("expected an authentication scheme")
        if not self._at_end() and self._peek() not in _WS + ",":
            raise self._fail(f"unexpected character {self._peek()!r} after scheme {scheme!r}")
        self._skip_ws()
        token68 = self._token68()
        if token68 is not None:
            return Challenge(scheme.lower(), {}, token68)
        params: dict[str, str] = {}
        while True:
            self._skip_ws()
            if self._at_end() or self._starts_new_challenge():
                break
            if self._peek() == ",":
                self.pos += 1
                continue
            name, value = self._param()
            params.setdefault(name, value)
        return Challenge(scheme.lower(), params)

    def _token68(self) -> str | None:
        match = _TOKEN68.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end(1)
        return match.group(1)

    def _starts_new_challenge(self) -> bool:
        """After a comma, `token SP` (not `token =`) begins the next challenge."""
        saved = self.pos
        try:
            token = self._token()
            if token is None:
                return False
            if self._peek() in ("", ","):
                return True
            self._skip_ws()
            return self._peek() != "="
        finally:
            self.pos = saved

    def _param(self) -> tuple[str, str]:
        name = self._token()
        if name is None:
            raise self._fail("expected a parameter name")
        self._skip_ws()
        if self._peek() != "=":
            raise self._fail(f"expected '=' after parameter {name!r}")
        self.pos += 1
        self._skip_ws()
        if self._peek() == '"':
            value = self._quoted()
        else:
            unquoted = self._token()
            if unquoted is None:
                raise self._fail(f"expected a value for parameter {name!r}")
            value = unquoted
        self._skip_ws()
        if not self._at_end() and self._peek() != ",":
            raise self._fail(f"unexpected text after parameter {name!r}")
        return name.lower(), value

    def _quoted(self) -> str:
        self.pos += 1  # opening quote
        chars: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\":
                if self.pos + 1 >= len(self.text):
                    break
                chars.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if ch == '"':
                self.pos += 1
                return "".join(chars)
            chars.append(ch)
            self.pos += 1
        raise self._fail("unterminated quoted string")


def select_challenge(challenges: Iterable[Challenge]) -> Challenge | None:
    """The challenge to answer: Bearer beats Basic (as in Docker); others are unsupported."""
    found = list(challenges)
    return next((c for scheme in ("bearer", "basic") for c in found if c.scheme == scheme), None)


# --- GET /v2/ ---------------------------------------------------------------------------

HTTPS_EXPECTED = b"Client sent an HTTP request to an HTTPS server"
"""Go's net/http answer (HTTP 400) when plain HTTP reaches a TLS port."""


@dataclass(frozen=True)
class Endpoint:
    """Where the registry's API answers and what it asks for (None: nothing)."""

    base_url: str
    challenge: Challenge | None
    prefer_get: bool = False
    """The token service proved to have no OAuth2 endpoint: go straight to GET."""


def discover(
    reference: RegistryReference, transport_at: Callable[[str], Transport]
) -> tuple[Transport, Endpoint]:
    """Ping the registry anonymously and read its challenge; the transport (from
    `transport_at(base_url)`) is the one for the base URL that answered."""
    transport = transport_at(reference.api_url)
    response = _ping(transport)
    if (
        response.status == 400
        and HTTPS_EXPECTED in response.body
        and reference.scheme == "http"
        and not reference.scheme_explicit
    ):
        transport.steps.append("the port speaks HTTPS: retrying over https")
        transport = transport_at(f"https://{reference.netloc}")
        response = _ping(transport)
    base_url = transport.base_url
    if response.status == 200:
        _require_registry_body(reference.resource_id, response)
        return transport, Endpoint(base_url, None)
    if response.status == 401:
        return transport, Endpoint(base_url, _challenge_from(reference.resource_id, response))
    raise unexpected_answer(reference, response)


def contradicts(cached: Challenge, response: HttpResponse) -> bool:
    """Does the 401 `response` pose another challenge than the remembered one (the registry
    was reconfigured)? For Basic only the scheme counts; for Bearer, realm and service too."""
    try:
        new = select_challenge(parse_each(response.www_authenticate)[0])
    except ChallengeLimitError:
        return False
    if new is None:
        return False
    if cached.scheme == "basic":
        return new.scheme != "basic"
    return new.scheme != "bearer" or new.realm != cached.realm or new.service != cached.service


def _ping(transport: Transport) -> HttpResponse:
    return transport.request(Outgoing("GET", v2_root(transport.base_url)))


def _challenge_from(registry: str, response: HttpResponse) -> Challenge:
    url = v2_root(base_of(response.url))
    try:
        challenges, problems = parse_each(response.www_authenticate)
    except ChallengeLimitError as error:
        raise NotARegistryError(
            registry, f"{url} sent {error}; refusing to read them. Check the host and port."
        ) from None
    chosen = select_challenge(challenges)
    if chosen is not None:
        if chosen.scheme == "bearer" and not chosen.realm:
            raise NotARegistryError(
                registry,
                f"Registry {registry} asks for a bearer token but names no token "
                "realm in its WWW-Authenticate challenge; no client can log in to it. "
                "Check the registry's auth configuration.",
            )
        return chosen
    if challenges:
        schemes = ", ".join(sorted({c.scheme.capitalize() for c in challenges}))
        raise NotARegistryError(
            registry,
            f"{url} asks for authentication scheme(s) {schemes}; Docker registries use "
            "Basic or Bearer, so this is not a registry endpoint the connector can log in "
            "to. Check the host and port.",
        )
    why = f" ({response.shown(problems[0], 200)})" if problems else " (no WWW-Authenticate header)"
    raise NotARegistryError(
        registry,
        f"{url} answered 401 without a usable authentication challenge{why}; it does not "
        "behave like an OCI distribution (Docker registry v2) API. Check the host and port.",
    )


def _require_registry_body(registry: str, response: HttpResponse) -> None:
    version = response.headers.get("Docker-Distribution-API-Version", "")
    if version.lower().startswith("registry/2"):
        return
    body = response.body.strip()
    if body in (b"", b"{}") or json_object(body) is not None:
        return
    raise NotARegistryError(
        registry,
        f"{shown_url(response.url)} answered 200 with something that is not a registry API "
        f"answer ({response.content_kind()}); it does not speak the OCI distribution (Docker "
        "registry v2) API. Check the host, port and scheme.",
    )


def require_api_access(
    reference: RegistryReference, credentials: Credentials, response: HttpResponse, what: str
) -> None:
    """An authenticated `GET /v2/` must answer 200; 403 means valid but not allowed."""
    registry = reference.resource_id
    if response.status == 200:
        return
    if response.status == 403:
        raise AccessDeniedError(
            registry,
            f"Registry {registry} accepted {what} but refuses access to its API "
            "(HTTP 403). Ask the registry's administrators for access.",
        )
    raise unexpected_answer(reference, response)


def unexpected_answer(reference: RegistryReference, response: HttpResponse) -> RegistryError:
    """The error for an answer where a registry answers 200 or 401."""
    registry = reference.resource_id
    url = v2_root(base_of(response.url))
    if response.status == 400 and HTTPS_EXPECTED in response.body:
        return NotARegistryError(
            registry,
            f"{url} is an HTTPS port but registry {registry} was named with http://: "
            f"name it https://{reference.netloc}.",
        )
    if response.status == 429:
        return RegistryError(
            registry, f"Registry {registry} is rate-limiting requests (HTTP 429); try again later."
        )
    if response.status >= 500:
        return RegistryUnreachableError(
            registry,
            f"Registry {registry} answered HTTP {response.status} at {url}: it (or a "
            "proxy in front of it) is failing. Is the registry running? Try again later.",
        )
    return NotARegistryError(
        registry,
        f"{url} answered HTTP {response.status} ({response.content_kind()}) where a "
        "registry answers 200 or 401: it does not speak the OCI distribution (Docker "
        "registry v2) API. Check the host and port (registries served under a path "
        "prefix are not supported, by Docker either).",
    )
