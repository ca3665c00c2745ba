"""`redaction`: every echo shape of a secret is found, after every transformation."""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

import pytest

from testbed.leaks import assert_no_secret, assert_no_secret_fragment, echo_shapes
from zenml_docker_connector.redaction import (
    REDACTED,
    WITHHELD,
    Redactor,
    redact,
    secret_variants,
    shown,
)

SECRET = "Pa ss\tw0rd/+&é:x"
USER = "alice"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("shape", list(echo_shapes(SECRET, USER)))
def test_every_echo_shape_is_redacted(shape: str) -> None:
    echo = echo_shapes(SECRET, USER)[shape]
    text = f"error: {echo} was rejected for {USER}"
    out = Redactor([SECRET], [USER]).shown(text)
    assert REDACTED in out and f"for {USER}" in out
    assert echo not in out
    assert_no_secret(out, SECRET, usernames=[USER])


@pytest.mark.parametrize("offset", [0, 150, 190, 195, 199, 400])
def test_truncation_never_leaves_part_of_a_secret(offset: int) -> None:
    secret = "Fourteen-chars"
    text = "x" * offset + secret + "y" * 300
    out = Redactor([secret]).shown(text, 200)
    assert len(out) <= 200
    assert_no_secret_fragment(out, secret, 4)


def test_a_long_text_is_cut_only_after_redaction() -> None:
    secret = "Secret-at-the-edge"
    for offset in range(790, 830):  # around the internal window of 4 x 200 characters
        text = "x" * offset + secret + "z" * 2000
        out = Redactor([secret]).shown(text)
        assert "Secret-at" not in out and "Secret" not in out.replace(REDACTED, "")


@pytest.mark.parametrize("secret", ["a", "pw", "abc"])
def test_short_secrets_withhold_the_whole_text(secret: str) -> None:
    redactor = Redactor([secret], [USER])
    assert redactor.shown(f"password {secret} is wrong") == WITHHELD
    assert redactor.shown(f"password {quote_plus(secret)}!") == WITHHELD
    assert redactor.shown(_b64(f"{USER}:{secret}")) == REDACTED
    assert redactor.shown("xyz 123") == "xyz 123"  # nothing of it: shown as it is
    # Inside a longer word it is no echo: URLs and words stay readable.
    word = f"http://registry.example/x{secret}x/app"
    assert redactor.shown(word) == word


def test_an_echo_collapsed_and_cut_by_the_server_is_withheld_whole() -> None:
    """Six characters in common with the secret (whitespace collapsed) withhold the text."""
    redactor = Redactor([SECRET], [USER])
    flat = " ".join(SECRET.split())
    for echo in (flat[:6], flat[-6:], flat[3:12], quote(flat[:9], safe=""), "Pa\\tss\\tw0"):
        assert redactor.shown(f"password {echo}… is wrong") == WITHHELD, echo
    assert redactor.shown(f"the {flat[:5]}! is shown") == f"the {flat[:5]}! is shown"
    whole = redactor.shown(f"password {SECRET} is wrong")
    assert whole == f"password {REDACTED} is wrong"  # a whole echo is still only replaced


@pytest.mark.parametrize("secret", ["abcd", "abcde", "ab \t c"])
def test_secrets_shorter_than_a_run_are_only_redacted(secret: str) -> None:
    redactor = Redactor([secret])
    assert redactor.shown("xx abc de yy") == "xx abc de yy"
    assert redactor.shown(f"xx {secret} yy") == f"xx {REDACTED} yy"


def test_escape_sequences_are_shown_escaped_and_secrets_inside_them_redacted() -> None:
    secret = "Esc\x1bPass-123"
    escaped = secret.replace("\x1b", "\\x1b")
    text = f"\x1b]52;c;{secret}\x07 and {escaped}"
    out = Redactor([secret]).shown(text)
    assert out.isprintable() and "\\x1b]52;c;" in out and out.count(REDACTED) == 2


def test_whole_texts_are_redacted_longest_form_first() -> None:
    secret = "Pw-1234567890"
    text = f"user alice sent {_b64('alice:' + secret)} and {secret} and {secret[:6]}"
    assert redact(text, [secret], ["alice"]) == (
        f"user alice sent {REDACTED} and {REDACTED} and {secret[:6]}"
    )


def test_variants_are_clear_text_and_the_base64_forms() -> None:
    variants = secret_variants(["s3cret-pw"], ["alice"])
    assert "s3cret-pw" in variants and _b64("alice:s3cret-pw") in variants
    assert _b64("s3cret-pw").rstrip("=") in variants
    assert [len(v) for v in variants] == sorted((len(v) for v in variants), reverse=True)
    assert secret_variants([None, ""], [None]) == []


def test_nothing_to_redact_still_makes_text_printable_and_bounded() -> None:
    assert redact("plain text", []) == "plain text"
    assert shown("a\x1b[31mb" + "c" * 300, limit=10) == "a\\x1b[31m…"


def test_variants_are_exactly_the_clear_text_and_four_base64_spellings() -> None:
    # `~~~~` has a `+` (URL-safe: `-`) and padding; `pwW` neither, its base64 ends in `X`.
    assert sorted(secret_variants(["~~~~"])) == sorted(
        ["~~~~", "fn5+fg==", "fn5-fg==", "fn5+fg", "fn5-fg"]
    )
    assert secret_variants(["pwW"]) == ["cHdX", "pwW"]
    assert set(secret_variants(["~~~~"], ["bob"])) - set(secret_variants(["~~~~"])) == {
        "Ym9iOn5+fn4=",
        "Ym9iOn5-fn4=",
        "Ym9iOn5+fn4",
        "Ym9iOn5-fn4",
    }


@pytest.mark.parametrize("form", ["fn5+fg==", "fn5-fg==", "fn5+fg", "fn5-fg"])
def test_each_base64_spelling_is_redacted_whole(form: str) -> None:
    assert Redactor(["~~~~"]).shown(f"echo {form} end") == f"echo {REDACTED} end"


def test_percent_encoding_matches_the_secrets_bytes_only() -> None:
    redactor = Redactor(["abcd"])
    assert redactor.shown("got %61%62%63%64") == f"got {REDACTED}"
    for other in ("%11%62%63%64", "%60%62%63%64", "%01%62%63%64", "%6A%72%63%64"):
        assert redactor.shown(f"got {other}") == f"got {other}"  # other bytes: shown


def test_whitespace_in_a_secret_matches_any_run_of_whitespace() -> None:
    for secret in ("pass  word", "pass \t word"):  # a server collapses runs to one space
        assert Redactor([secret]).redact("got pass word!") == f"got {REDACTED}!"
    # A secret beginning with whitespace: the run is part of what is replaced.
    assert Redactor(["  passw"]).redact("got\tpassw") == f"got{REDACTED}"


def test_every_short_secret_withholds_the_text() -> None:
    redactor = Redactor(["ab", "cd"])
    assert redactor.shown("value: ab") == WITHHELD
    assert redactor.shown("value: cd") == WITHHELD
    assert redactor.shown("value: ef") == "value: ef"


def test_a_run_of_the_secret_at_the_very_end_of_the_text_withholds_it() -> None:
    flat = " ".join(SECRET.split())
    assert Redactor([SECRET]).shown(f"the password was {flat[:7]}") == WITHHELD
    assert Redactor([SECRET]).shown(flat[-6:]) == WITHHELD


def test_the_one_off_shown_redacts_the_secret_and_the_users_basic_value_but_not_the_user() -> None:
    secret = "s3cret-pass"
    text = f"user {USER}: {_b64(f'{USER}:{secret}')} / {secret}"
    assert shown(text, [secret], [USER]) == f"user {USER}: {REDACTED} / {REDACTED}"


# `shown` reads at most max(4 x limit, 1024) characters of network text; the rest is cut.
@pytest.mark.parametrize(("limit", "end"), [(200, 1024), (10, 1024), (300, 1200)])
def test_network_text_is_read_up_to_its_bound_and_cut_after_it(limit: int, end: int) -> None:
    redactor = Redactor(["secret-x"])
    assert redactor.shown(" " * (end - 1) + "x", limit) == "x"
    assert redactor.shown(" " * end + "x", limit) == "…"
    assert redactor.shown("ab" + " " * (end - 2) + "xyz", limit) == "ab …"


def _percent(text: str, whitespace: str = "%09" * 16) -> str:
    """`text` percent-encoded, each run of whitespace as `whitespace`."""
    return whitespace.join("".join(f"%{b:02X}" for b in w.encode()) for w in text.split())


@pytest.mark.parametrize(
    "secret",
    ["Secret-at-the-edge", "a a a a a a", "ab😀cd😀"],  # long forms: 16 x `%09`, 4 UTF-8 bytes
)
def test_a_secret_starting_just_before_the_cut_is_found_in_full(secret: str) -> None:
    redactor = Redactor([secret])
    for before in (1023, 1020, 1000):  # the secret starts 1, 4 and 24 characters before it
        text = " " * before + _percent(secret) + " tail" * 400
        assert redactor.shown(text) == f"{REDACTED}…"


def test_a_secret_starting_at_the_cut_is_cut_away() -> None:
    redactor = Redactor(["Secret-at-the-edge"])
    text = " " * 1023 + "x" + "Secret-at-the-edge" + " tail" * 10
    assert redactor.shown(text) == "x…"


def test_a_long_text_with_a_short_secret_configured() -> None:
    redactor = Redactor(["pw"])
    assert redactor.shown("ok " * 600) == ("ok " * 67)[:199] + "…"
    assert redactor.shown("ok " * 300 + "pw " + "ok " * 300) == WITHHELD
