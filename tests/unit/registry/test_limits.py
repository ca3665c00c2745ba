"""`limits`: header limits and JSON depth, measured before anything parses them."""

from __future__ import annotations

import pytest

from zenml_docker_connector.registry.limits import (
    MAX_CHALLENGE_HEADERS,
    MAX_JSON_DEPTH,
    InputLimitError,
    header_problem,
    json_nesting_bound,
    load_json,
)


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ('{"a": [1, {"b": "[[[[{{{{"}]}', 3),  # brackets inside strings do not count
        ('{"a": "\\"[[["}', 1),  # nor after an escaped quote
        ("[" * 32 + "]" * 32, 32),
        ("[]" * 1000, 1),
        ("[[]", 2),  # unbalanced: one level more could open
        ("[" * 1000, 1000),
        ("not json", 0),
    ],
)
def test_json_nesting_bound(text: str, bound: int) -> None:
    assert json_nesting_bound(text) == bound


def test_load_json_refuses_deep_input_before_parsing() -> None:
    assert load_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    for deep in ("[" * 5000 + "]" * 5000, '{"a":' * 5000 + "1" + "}" * 5000, "[" * 100_000):
        with pytest.raises(InputLimitError, match=f"more than {MAX_JSON_DEPTH} levels"):
            load_json(deep)
    with pytest.raises(ValueError):
        load_json("{")  # ordinary JSON errors stay ValueErrors


def test_header_problems_are_named() -> None:
    assert header_problem([("Content-Type", "application/json")]) is None
    challenge = ("WWW-Authenticate", 'Basic realm="x"')
    assert header_problem([challenge] * MAX_CHALLENGE_HEADERS) is None
    assert header_problem([challenge] * (MAX_CHALLENGE_HEADERS + 1)) == (
        f"{MAX_CHALLENGE_HEADERS + 1} WWW-Authenticate headers (limit {MAX_CHALLENGE_HEADERS})"
    )
    assert header_problem([("www-authenticate", "B" * 9000)]) == (
        "a WWW-Authenticate header of 8 KiB (limit 8 KiB)"
    )
    assert header_problem([("X-Junk", "j" * 7000)] * 10) == "68 KiB of headers (limit 64 KiB)"
