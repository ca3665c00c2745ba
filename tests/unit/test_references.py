"""Registry references: every shape users type, and the junk that must be refused."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from zenml_docker_connector.references import (
    ACCEPTED_FORMATS,
    RegistryReference,
    is_loopback_host,
    parse_registry_reference,
)

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
        ("registry.example.com/a//b", "empty path component"),
        ("registry.example.com//a", "empty path component"),
        ("a//b", "empty path component"),
        ("https://index.docker.io/v1//app", "empty path component"),
        ("[fe80::1%eth0]:5000", "zone"),
        ("[fe80::1%25eth0]", "zone"),
        ("[::ffff:127.0.0.1]:5000", "IPv4-embedded"),
        ("[::127.0.0.1]", "IPv4-embedded"),
        ("r\u00e9gistry.example.com", "non-ASCII"),
        ("registry.example.com/app@sha256:" + "a" * 64, "digest"),
    ],
)
def test_junk_is_refused_with_the_input_and_formats(text: str, why: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_registry_reference(text)
    message = str(caught.value)
    assert why in message
    if "@" not in text:
        assert repr(text) in message
    assert "Accepted formats" in message


@pytest.mark.parametrize(
    "path",
    ["a" * 255, "a/" * 127 + "a", "a" * 200 + "/" + "b" * 54],
    ids=["flat", "127-deep", "two"],
)
def test_a_repository_path_of_255_characters_is_accepted_under_any_host(path: str) -> None:
    """distribution limits the repository path to 255 characters; the host does not count."""
    for host in ("example.com", "registry.example.com:5000", "[::1]:5000"):
        assert parse_registry_reference(f"{host}/{path}").repository == path


def test_names_docker_rejects_as_too_long_are_refused() -> None:
    """Over 255 characters in the repository path (`library/` included on Docker Hub)."""
    with pytest.raises(ValueError, match="256 characters long"):
        parse_registry_reference("example.com/" + "a" * 256)
    with pytest.raises(ValueError, match="at most 255"):
        parse_registry_reference("example.com/" + "a/" * 127 + "ab")
    assert parse_registry_reference("docker.io/" + "a" * 247).repository == "library/" + "a" * 247
    with pytest.raises(ValueError, match="at most 255"):
        parse_registry_reference("docker.io/" + "a" * 248)  # docker.io/library/ counts too


@pytest.mark.parametrize(
    "text",
    [
        "https://user:PASSWORD-Zq9@registry.example.com",
        "user:PASSWORD-Zq9@registry.example.com:5000/ns",
        "https://user:PASS/WORD-Zq9@registry.example.com",
        "https://user:PASS@WORD-Zq9@registry.example.com",
        "http://user:PASSWORD-Zq9:x@[::1]:5000",
        "user:PASSWORD-Zq9@",
        "ftp://user:PASSWORD-Zq9@registry.example.com",
        "https://user:PASSWORD-Zq9\n@registry.example.com",
    ],
)
def test_user_information_is_never_echoed(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_registry_reference(text)
    message = str(caught.value)
    for part in ("PASSWORD", "PASS", "WORD-Zq9", "user:"):
        assert part not in message
    assert "user information" in message or "scheme" in message or "control" in message


def test_long_input_is_shown_bounded() -> None:
    text = "registry.example.com/" + "Z" * 10_000
    with pytest.raises(ValueError) as caught:
        parse_registry_reference(text)
    message = str(caught.value)
    assert len(message) < 1_000
    assert "10021 characters" in message


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


@pytest.mark.parametrize(
    ("text", "repository", "written"),
    [
        ("docker.io/team", "library/team", "team"),
        ("docker.io/library/ubuntu", "library/ubuntu", "library/ubuntu"),
        ("team/app", "team/app", "team/app"),
        ("https://index.docker.io/v1/team", "library/team", "team"),
        ("ghcr.io/org", "org", "org"),
        ("docker.io", None, None),
    ],
)
def test_the_path_as_written_is_kept_next_to_docker_s_name(
    text: str, repository: str | None, written: str | None
) -> None:
    """podman's `docker.io/<ns>` keys name a namespace: the path as written, not library/<ns>."""
    reference = parse_registry_reference(text)
    assert (reference.repository, reference.path) == (repository, written)


def test_the_written_path_does_not_change_which_registry_or_repository_it_is() -> None:
    assert parse_registry_reference("docker.io/team") == parse_registry_reference(
        "docker.io/library/team"
    )


# --- properties (hypothesis) -----------------------------------------------------------------

_LABEL = st.text("abz09", min_size=1, max_size=6) | st.sampled_from(["a-b", "x--y"])
_HOSTS = st.one_of(
    st.lists(_LABEL, min_size=1, max_size=4).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda address: f"[{address}]"),
    st.sampled_from(["localhost", "docker.io", "index.docker.io", "registry-1.docker.io"]),
)
_COMPONENT = st.text("az09", min_size=1, max_size=6) | st.sampled_from(["a.b", "a_b", "a-b"])
_JUNK = st.sampled_from(["", "", "", "/", "//", ":", "@", "..", " ", "\x00", "é", "%", "[", "A"])


@st.composite
def _reference_like(draw: st.DrawFn, junk: bool = True) -> str:
    """Well-formed references; with `junk`, a sprinkle of what makes them invalid."""
    scheme = draw(st.sampled_from(["", "", "http://", "https://", "HTTPS://"]))
    port = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=65535)))
    path = draw(st.lists(_COMPONENT, max_size=4))
    text = scheme + draw(_HOSTS) + ("" if port is None else f":{port}")
    text += "".join(f"/{part}" for part in path) + draw(st.sampled_from(["", "/"]))
    if not junk:
        return text
    extra = draw(st.one_of(_JUNK, st.sampled_from(["ftp://", ":0", ":70000", "-"])))
    where = draw(st.integers(min_value=0, max_value=len(text)))
    return text[:where] + extra + text[where:]


def _canonical(reference: RegistryReference) -> str:
    tail = f"/{reference.repository}" if reference.repository else ""
    return f"{reference.scheme}://{reference.netloc}{tail}"


def _parsed_or_none(text: object) -> RegistryReference | None:
    """The reference, or None when refused: only ValueError may escape."""
    try:
        return parse_registry_reference(text)  # type: ignore[arg-type]
    except ValueError:
        return None


@settings(max_examples=150, deadline=None, database=None)
@given(st.one_of(st.text(), _reference_like(), st.binary().map(repr), st.integers()))
def test_anything_parses_or_raises_value_error(text: object) -> None:
    _parsed_or_none(text)


@settings(max_examples=150, deadline=None, database=None)
@given(st.one_of(_reference_like(junk=False), _reference_like()))
def test_the_canonical_form_is_idempotent(text: str) -> None:
    reference = _parsed_or_none(text)
    assume(reference is not None)
    assert reference is not None
    canonical = _canonical(reference)
    again = parse_registry_reference(canonical)
    assert (again.host, again.port, again.scheme, again.repository) == (
        reference.host,
        reference.port,
        reference.scheme,
        reference.repository,
    )
    assert _canonical(again) == canonical
    assert parse_registry_reference(reference.resource_id).resource_id == reference.resource_id
    assert parse_registry_reference(reference.config_key).same_registry(reference)


_NOT_A_REPOSITORY = (
    "is not a valid repository name (lower-case letters, digits and . _ - separators; no tag "
    "or digest)"
)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("/app", "it names no host"),
        (":5000/app", "it names no host"),
        ("  ", "it is empty"),
        ("docker.io:443", "Docker Hub is not addressed with a port"),
        ("http://docker.io", "Docker Hub is only served over https://"),
        ("reg\x7fistry.example", "it contains whitespace or control characters"),
        ("FTP://r.example", "the scheme 'ftp://' is not http:// or https://"),
        (
            "r.example/app@sha256:" + "a" * 64,
            "it names a digest (@sha256:…), which a registry address cannot have",
        ),
        ("u:p@r.example", "it contains user information (user@host); pass credentials separately"),
        ("r.example/app#frag", "it contains '#', which a registry address cannot have"),
        ("r.example/app?x", "it contains '?', which a registry address cannot have"),
        (
            "r\u00e9gistry.example",
            "it contains non-ASCII characters; registry names are ASCII (write an "
            "internationalised domain name in its xn-- form)",
        ),
        ("[::1", "an IPv6 address is missing its closing ']'"),
        ("[::1]]", "unexpected text after the IPv6 address"),
        ("[::1]x", "unexpected text after the IPv6 address"),
        ("fe80::1:5000", "IPv6 addresses must be written in brackets, e.g. [::1]:5000"),
        ("[fe80::1%eth0]", "IPv6 zone ids (the %eth0 part) are not allowed in a registry name"),
        (
            "[::ffff:10.0.0.1]",
            "IPv4-embedded IPv6 addresses (such as ::ffff:10.0.0.1) are not allowed in a "
            "registry name; write the IPv4 address itself, or the IPv6 address in hex",
        ),
        ("[zz::1]", "'zz::1' is not an IPv6 address"),
        ("[1234]/app", "'1234' is not an IPv6 address"),  # brackets: a host, whatever is inside
        ("1.2.3.256", "'1.2.3.256' is not a valid IPv4 address"),
        ("r.example:0", "port '0' is not a number from 1 to 65535"),
        ("r.example:65536", "port '65536' is not a number from 1 to 65535"),
        ("r.example:000080", "port '000080' is not a number from 1 to 65535"),  # five digits
        ("r.example//app", "it has an empty path component ('//'), which docker rejects"),
        ("r.example/App", f"the repository part 'App' {_NOT_A_REPOSITORY}"),
    ],
)
def test_each_refusal_gives_its_reason(text: str, why: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_registry_reference(text)
    assert f": {why}. Accepted formats: {ACCEPTED_FORMATS}." in str(caught.value)


def test_a_value_that_is_not_a_string_is_named_by_its_repr() -> None:
    with pytest.raises(ValueError) as caught:
        parse_registry_reference(5)  # type: ignore[arg-type]
    assert str(caught.value).startswith(
        "Invalid Docker registry reference '5': it is not a string."
    )


@pytest.mark.parametrize("registry", ["localhost:5000", "example.com"])
def test_too_long_a_path_is_named_with_its_registry_and_first_characters(registry: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_registry_reference(f"{registry}/" + "a" * 256)
    assert f"the repository path of {registry}/{'a' * 20}… is 256 characters long; " in str(
        caught.value
    )


@pytest.mark.parametrize("port", ["1", "80", "10000", "65535", "00001"])
def test_ports_from_1_to_65535_in_up_to_five_digits_are_accepted(port: str) -> None:
    assert parse_registry_reference(f"r.example:{port}").port == int(port)


def test_a_host_name_may_be_253_characters_long() -> None:
    host = ".".join(["a" * 63] * 3 + ["a" * 61])  # 253 characters
    assert parse_registry_reference(host).host == host
    with pytest.raises(ValueError, match="is not a valid host name"):
        parse_registry_reference(host + "a")


@pytest.mark.parametrize("text", ["localhost/team/app", "LocalHost/team/app"])
def test_localhost_is_a_registry_even_without_a_port(text: str) -> None:
    reference = parse_registry_reference(text)
    assert (reference.host, reference.repository) == ("localhost", "team/app")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("user:pw@r.example", "'<hidden>@r.example'"),
        ("@r.example", "'<hidden>@r.example'"),  # whatever precedes the `@`, even nothing
        ("https://user:pw@r.example", "'https://<hidden>@r.example'"),
        (" https://user:pw@r.example", "' https://<hidden>@r.example'"),
        ("https://user:a://b@r.example", "'https://<hidden>@r.example'"),  # `://` in a password
        ("http://u:p@r.example/app@sha256:" + "b" * 64, "'http://<hidden>@r.example/app@sha256:"),
    ],
)
def test_messages_hide_user_information_and_keep_the_rest(text: str, shown: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_registry_reference(text)
    assert f"Invalid Docker registry reference {shown}" in str(caught.value)


def test_a_digest_is_repeated_as_written() -> None:
    text = "r.example/app@sha256:" + "c" * 64
    with pytest.raises(ValueError) as caught:
        parse_registry_reference(text)
    assert str(caught.value).startswith(f"Invalid Docker registry reference {text!r}: ")


def test_input_of_100_characters_is_repeated_whole_and_longer_input_cut() -> None:
    for length, shown in ((100, repr("/" * 100)), (101, f"{'/' * 100!r}… (101 characters)")):
        with pytest.raises(ValueError) as caught:
            parse_registry_reference("/" * length)
        assert str(caught.value).startswith(f"Invalid Docker registry reference {shown}: ")
