"""`printable`: the one place that makes network text safe for a terminal."""

from __future__ import annotations

import ast

import pytest

from zenml_docker_connector.printable import clip, one_line, printable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, ünïcödé ok", "plain text, ünïcödé ok"),
        ("\x1b]0;owned\x07title", "\\x1b]0;owned\\x07title"),  # window title
        ("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07"),  # OSC 52 clipboard write
        ("\x1b]8;;https://evil\x1b\\link", "\\x1b]8;;https://evil\\x1b\\link"),  # OSC 8
        ("\x1b[2K\rfake", "\\x1b[2K\\rfake"),  # erase line, carriage return
        ("\x9b31m\x9d0;x\x07", "\\x9b31m\\x9d0;x\\x07"),  # C1 CSI and OSC
        ("a\tb\nc\x7f\x00", "a\\tb\\nc\\x7f\\x00"),
        ("\u202eevil\u200b\u2028", "\\u202eevil\\u200b\\u2028"),  # bidi override, zero width
        ("\U000e0041", "\\U000e0041"),
    ],
)
def test_every_non_printable_character_is_shown_escaped(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert printable(shown) == shown  # idempotent: an escape is plain text


def test_one_line_and_clip() -> None:
    assert one_line("  a \t\n b  ") == "a b"
    assert clip("abcdef", 4) == "abc…" and clip("abc", 4) == "abc"


# One of each kind of non-printable character, and the ends of the ranges `repr` writes as
# \xNN, \uNNNN and \UNNNNNNNN: C0, DEL, C1, soft hyphen, no-break space, zero width, line and
# paragraph separators, bidi, byte-order mark, private use, the last BMP and last code point.
NON_PRINTABLE = "\x00\t\n\r\x1b\x7f\x80\x9b\xa0\xad\u200b\u2028\u2029\u202e\ufeff\ue000\uffff"
NON_PRINTABLE += "\U000e0001\U000f0000\U0010ffff"


@pytest.mark.parametrize("ch", NON_PRINTABLE)
def test_an_escape_is_printable_ascii_and_reads_back_as_the_character(ch: str) -> None:
    shown = printable(ch)
    assert shown.startswith("\\") and shown.isascii() and shown.isprintable()
    assert ast.literal_eval(f"'{shown}'") == ch  # the escape Python itself would write


def test_clip_keeps_text_of_exactly_the_limit_and_cuts_longer_text_to_the_limit() -> None:
    assert clip("abcd", 4) == "abcd"
    for limit in range(1, 7):
        cut = clip("abcdefgh", limit)
        assert len(cut) == limit and cut.endswith("…")
        assert cut[:-1] == "abcdefgh"[: limit - 1]
    assert clip("abc", 1) == "…"
