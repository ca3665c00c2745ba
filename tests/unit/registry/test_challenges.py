"""`WWW-Authenticate` parsing, table-driven: what registries send, and junk."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from zenml_docker_connector.registry.challenges import (
    Challenge,
    ChallengeParseError,
    parse_each,
    parse_header,
    select_challenge,
)

C = Challenge


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
