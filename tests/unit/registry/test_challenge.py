"""`GET /v2/` and `WWW-Authenticate` parsing: what registries send, and junk; the anonymous
ping, the challenge it yields, and answers that are no registry.

A loopback port that speaks TLS and answers plain HTTP as Go does (the trigger for retrying
over https) needs a real TLS registry: tests/integration/registry/test_transport.py
(`test_loopback_without_scheme_falls_back_to_https`).
"""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict

from testbed.local_http import Reply, bearer_challenge, registry_ok
from testbed.loopback import Loopback
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import (
    AccessDeniedError,
    NotARegistryError,
    RegistryError,
    RegistryUnreachableError,
)
from zenml_docker_connector.registry.challenge import (
    HTTPS_EXPECTED,
    Challenge,
    ChallengeParseError,
    Endpoint,
    contradicts,
    discover,
    parse_each,
    require_api_access,
    select_challenge,
    unexpected_answer,
)
from zenml_docker_connector.registry.reader import HttpResponse
from zenml_docker_connector.registry.transport import Transport

C = Challenge


def parse_header(value: str) -> list[Challenge]:
    """One header's challenges, or the parser's `ChallengeParseError` (`parse_each` records
    it instead, so that one bad header does not hide another's challenge)."""
    challenges, problems = parse_each([value])
    if problems:
        raise ChallengeParseError(problems[0])
    return challenges


def parse_all(headers: str | list[str]) -> list[Challenge]:
    """Strictly parse one header value or several (each must parse)."""
    values = [headers] if isinstance(headers, str) else headers
    return [challenge for value in values for challenge in parse_header(value)]


PARSED: list[tuple[str, str | list[str], list[Challenge]]] = [
    (
        "distribution basic",
        'Basic realm="Registry Realm"',
        [C("basic", {"realm": "Registry Realm"})],
    ),
    (
        "docker hub bearer",
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
        [C("bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io"})],
    ),
    (
        "bearer with scope",
        'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull"',
        [
            C(
                "bearer",
                {
                    "realm": "https://ghcr.io/token",
                    "service": "ghcr.io",
                    "scope": "repository:user/image:pull",
                },
            )
        ],
    ),
    (
        "gcr unquoted service",
        'Bearer realm="https://gcr.io/v2/token",service=gcr.io',
        [C("bearer", {"realm": "https://gcr.io/v2/token", "service": "gcr.io"})],
    ),
    (
        "artifact registry realm only",
        'Bearer realm="https://europe-docker.pkg.dev/v2/token"',
        [C("bearer", {"realm": "https://europe-docker.pkg.dev/v2/token"})],
    ),
    (
        "gitea scope star",
        'Bearer realm="https://gitea.example/v2/token",service="container_registry",scope="*"',
        [
            C(
                "bearer",
                {
                    "realm": "https://gitea.example/v2/token",
                    "service": "container_registry",
                    "scope": "*",
                },
            )
        ],
    ),
    ("scheme case", 'BEARER Realm="https://x/token"', [C("bearer", {"realm": "https://x/token"})]),
    ("mixed case", 'bAsIc REALM="r"', [C("basic", {"realm": "r"})]),
    (
        "spaces around equals and commas",
        'Bearer  realm = "https://x/t" ,  service = reg ',
        [C("bearer", {"realm": "https://x/t", "service": "reg"})],
    ),
    (
        "comma inside quoted value",
        'Bearer realm="https://x/t",scope="repository:a/b:pull,push"',
        [C("bearer", {"realm": "https://x/t", "scope": "repository:a/b:pull,push"})],
    ),
    (
        "escaped quote and backslash",
        r'Basic realm="say \"hi\" \\ ok"',
        [C("basic", {"realm": 'say "hi" \\ ok'})],
    ),
    (
        "two challenges in one header",
        'Bearer realm="https://x/t",service="s", Basic realm="fallback"',
        [C("bearer", {"realm": "https://x/t", "service": "s"}), C("basic", {"realm": "fallback"})],
    ),
    (
        "rfc 7235 example",
        'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
        [
            C("newauth", {"realm": "apps", "type": "1", "title": 'Login to "apps"'}),
            C("basic", {"realm": "simple"}),
        ],
    ),
    (
        "several headers",
        ["Negotiate", 'Basic realm="r"'],
        [C("negotiate"), C("basic", {"realm": "r"})],
    ),
    ("token68", "Negotiate YIIB9gYGKwYBBQUCoII=", [C("negotiate", {}, "YIIB9gYGKwYBBQUCoII=")]),
    (
        "token68 then another challenge",
        'Negotiate abc==, Basic realm="r"',
        [C("negotiate", {}, "abc=="), C("basic", {"realm": "r"})],
    ),
    ("bare scheme", "Basic", [C("basic")]),
    # Grammatically a token68, not an empty realm; the client then finds no realm.
    ("realm without value is token68", "Bearer realm=", [C("bearer", {}, "realm=")]),
    ("empty list elements", ', Basic realm="r" ,, ', [C("basic", {"realm": "r"})]),
    (
        "bare scheme then challenge",
        'Basic, Bearer realm="https://x/t"',
        [C("basic"), C("bearer", {"realm": "https://x/t"})],
    ),
    ("duplicate param keeps first", 'Basic realm="a", realm="b"', [C("basic", {"realm": "a"})]),
    (
        "empty quoted value",
        'Bearer realm="",service="s"',
        [C("bearer", {"realm": "", "service": "s"})],
    ),
    ("unicode in quoted value", 'Basic realm="Regístry ✓"', [C("basic", {"realm": "Regístry ✓"})]),
]


@pytest.mark.parametrize(
    ("header", "expected"), [(h, e) for _, h, e in PARSED], ids=[n for n, _, _ in PARSED]
)
def test_parses(header: str | list[str], expected: list[Challenge]) -> None:
    assert parse_all(header) == expected


JUNK = [
    ("empty", ""),
    ("only commas", " , ,"),
    ("unterminated quote", 'Bearer realm="https://x/t'),
    ("trailing backslash", 'Basic realm="abc\\'),
    ("missing equals", 'Bearer realm "x"'),
    ("junk after quoted value", 'Basic realm="r" junk'),
    ("starts with equals", '="x"'),
    ("quote as scheme", '"Bearer" realm="x"'),
    ("control characters", 'Basic realm="a\x00b"'),
    ("newline", 'Basic realm="a"\r\nX-Evil: 1'),
    ("html", "<html><body>Unauthorized</body></html>"),
    ("semicolons", "Bearer; realm=x"),
    ("huge", "Basic realm=" + "a" * 20000),
    ("brace", "{json: true}"),
]


@pytest.mark.parametrize("header", [h for _, h in JUNK], ids=[n for n, _ in JUNK])
def test_junk_raises_value_error_only(header: str) -> None:
    with pytest.raises(ChallengeParseError) as caught:
        parse_header(header)
    assert isinstance(caught.value, ValueError)
    assert "WWW-Authenticate" in str(caught.value)


def test_non_string_is_a_parse_error() -> None:
    with pytest.raises(ChallengeParseError):
        parse_header(b"Basic")  # type: ignore[arg-type]


def test_lenient_parse_keeps_good_headers() -> None:
    challenges, problems = parse_each(['Bearer realm="unterminated', 'Basic realm="ok"'])
    assert challenges == [C("basic", {"realm": "ok"})]
    assert len(problems) == 1 and "unterminated" in problems[0]


def test_lenient_parse_of_good_headers_equals_the_strict_one() -> None:
    headers = ["Negotiate", 'Bearer realm="https://x/t",service="s", Basic realm="r"']
    assert parse_each(headers) == (parse_all(headers), [])


def test_fuzzish_inputs_never_raise_anything_else() -> None:
    import random

    alphabet = 'Basic Bearer realm=service,scope"\\ \t=,abc:/.*'
    rng = random.Random(1234)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        with contextlib.suppress(ChallengeParseError):
            parse_header(text)


@pytest.mark.parametrize(
    ("headers", "scheme"),
    [
        (['Basic realm="r"'], "basic"),
        (['Basic realm="r", Bearer realm="https://x/t"'], "bearer"),
        (["Negotiate abc"], None),
        (['Negotiate abc, Basic realm="r"'], "basic"),
    ],
)
def test_select_prefers_bearer(headers: list[str], scheme: str | None) -> None:
    chosen = select_challenge(parse_all(headers))
    assert (chosen.scheme if chosen else None) == scheme


def test_properties_and_description() -> None:
    (challenge,) = parse_header('Bearer realm="https://a/t",service="s",scope="*"')
    scope = challenge.params.get("scope")
    assert (challenge.realm, challenge.service, scope) == ("https://a/t", "s", "*")
    assert challenge.describe() == 'Bearer realm="https://a/t", service="s", scope="*"'


# --- properties (hypothesis) -----------------------------------------------------------------

_TOKEN = st.text("!#$%&'*+.^_`|~-09AZaz", min_size=1, max_size=8)
_VALUE = st.text(st.characters(min_codepoint=0x20, exclude_characters="\x7f"), max_size=20)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _canonical(challenges: list[Challenge]) -> str:
    """One header value: lower-case schemes, every parameter value quoted and escaped."""
    parts = []
    for challenge in challenges:
        if challenge.token68 is not None:
            parts.append(f"{challenge.scheme} {challenge.token68}")
        elif challenge.params:
            shown = ", ".join(f"{k}={_quoted(v)}" for k, v in challenge.params.items())
            parts.append(f"{challenge.scheme} {shown}")
        else:
            parts.append(challenge.scheme)
    return ", ".join(parts)


@st.composite
def _header_like(draw: st.DrawFn) -> str:
    """Challenge-shaped headers: quoted and bare values, odd spacing, stray punctuation."""
    pieces = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        params = draw(st.lists(st.tuples(_TOKEN, st.one_of(_TOKEN, _VALUE.map(_quoted)))))
        shown = draw(st.sampled_from([",", ", ", " ,", ",,"])).join(f"{k}={v}" for k, v in params)
        pieces.append(f"{draw(_TOKEN)} {shown}".rstrip())
    text = draw(st.sampled_from([", ", ",", " , "])).join(pieces)
    junk = draw(st.sampled_from(["", "", '"', "=", "\\", ",", " ", "\t", "\x00", "é"]))
    where = draw(st.integers(min_value=0, max_value=len(text)))
    return text[:where] + junk + text[where:]


def _parsed_or_none(header: str) -> list[Challenge] | None:
    """The challenges, or None when refused: only ChallengeParseError (a ValueError) escapes."""
    try:
        return parse_header(header)
    except ChallengeParseError:
        return None


@settings(max_examples=150, deadline=None, database=None)
@given(st.one_of(st.text(), _header_like()))
def test_any_header_parses_or_raises_a_parse_error(header: str) -> None:
    _parsed_or_none(header)


@settings(max_examples=150, deadline=None, database=None)
@given(_header_like())
def test_the_canonical_form_is_idempotent(header: str) -> None:
    challenges = _parsed_or_none(header)
    assume(challenges is not None)
    assert challenges is not None
    canonical = _canonical(challenges)
    assert parse_header(canonical) == challenges
    assert _canonical(parse_header(canonical)) == canonical


USER = Credentials("alice", "Ping-Secret-1")


def _discover(transport: Transport) -> Endpoint:
    """`discover` with one transport for every base URL (no https retry here)."""
    answered, endpoint = discover(transport.reference, lambda base_url: transport)
    assert answered is transport
    return endpoint


def test_a_challenge_is_read_from_the_401(loopback: Loopback) -> None:
    realm = f"{loopback.url}/token"
    transport = loopback.transport(lambda seen: bearer_challenge(realm), credentials=USER)
    endpoint = _discover(transport)
    assert endpoint.base_url == loopback.url
    assert endpoint.challenge is not None and endpoint.challenge.realm == realm
    assert transport.steps == [f"GET {loopback.url}/v2/ -> 401"]
    assert [(s.method, s.path, s.headers.get("Authorization")) for s in loopback.seen] == [
        ("GET", "/v2/", None)
    ]


def test_a_200_means_no_challenge(loopback: Loopback) -> None:
    transport = loopback.transport(lambda seen: registry_ok(), credentials=USER)
    assert _discover(transport) == Endpoint(loopback.url, None)


def test_no_https_retry_when_http_was_named(loopback: Loopback) -> None:
    transport = loopback.transport(
        lambda seen: Reply(400, body=HTTPS_EXPECTED),
        credentials=USER,
        named=f"http://{loopback.netloc}",
    )
    with pytest.raises(
        NotARegistryError, match=re.escape(f"is an HTTPS port but registry {loopback.netloc}")
    ):
        _discover(transport)
    assert transport.counter.registry == 1 and len(loopback.seen) == 1


@pytest.mark.parametrize(
    ("reply", "error", "expected"),
    [
        (Reply(200, [("Content-Type", "text/html")], b"<html/>"), NotARegistryError, "text/html"),
        (Reply(401), NotARegistryError, "no WWW-Authenticate header"),
        (Reply(401, [("WWW-Authenticate", "Negotiate")]), NotARegistryError, "Negotiate"),
        (Reply(401, [("WWW-Authenticate", 'Bearer service="s"')]), NotARegistryError, "realm"),
        (Reply(404), NotARegistryError, "HTTP 404 (empty body)"),
        (Reply(429), RegistryError, "rate-limiting"),
        (Reply(502), RegistryUnreachableError, "HTTP 502"),
    ],
)
def test_answers_that_are_no_registry(
    loopback: Loopback, reply: Reply, error: type[Exception], expected: str
) -> None:
    transport = loopback.transport(lambda seen: reply, credentials=USER)
    with pytest.raises(error, match=re.escape(expected)) as caught:
        _discover(transport)
    assert loopback.netloc in str(caught.value)


def test_a_json_200_without_the_version_header_is_still_a_registry(loopback: Loopback) -> None:
    transport = loopback.transport(lambda seen: Reply(200, body=b'{"x": 1}'), credentials=USER)
    assert _discover(transport).challenge is None


def _answer(status: int, challenge: str | None = None) -> HttpResponse:
    return HttpResponse(
        url="http://127.0.0.1:5000/v2/",
        status=status,
        headers=CaseInsensitiveDict(),
        www_authenticate=(challenge,) if challenge else (),
        body=b"",
    )


def test_a_401_contradicts_a_remembered_challenge_only_with_another_one() -> None:
    basic = Challenge("basic", {"realm": "r"})
    assert contradicts(basic, _answer(401, 'Bearer realm="https://a/t"'))
    assert not contradicts(basic, _answer(401, 'Basic realm="another"'))  # Basic: scheme only
    assert not contradicts(basic, _answer(401, 'Bearer realm="unterminated'))
    assert not contradicts(basic, _answer(401))
    bearer = Challenge("bearer", {"realm": "https://a/t", "service": "s"})
    assert not contradicts(bearer, _answer(401, 'Bearer realm="https://a/t",service="s"'))
    assert contradicts(bearer, _answer(401, 'Bearer realm="https://b/t",service="s"'))
    assert contradicts(bearer, _answer(401, 'Bearer realm="https://a/t",service="t"'))
    assert contradicts(bearer, _answer(401, 'Basic realm="r"'))


def test_authenticated_api_access(loopback: Loopback) -> None:
    transport = loopback.transport(lambda seen: registry_ok(), credentials=USER)
    reference = transport.reference
    require_api_access(reference, USER, _answer(200), "the Basic credentials")
    with pytest.raises(AccessDeniedError) as caught:
        require_api_access(reference, USER, _answer(403), "the Basic credentials")
    assert "accepted the Basic credentials but refuses" in str(caught.value)
    assert "alice" not in str(caught.value)
    assert isinstance(unexpected_answer(reference, _answer(500)), RegistryUnreachableError)
