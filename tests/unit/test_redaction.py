"""`redaction`: the forms a secret leaks in, and replacing all of them."""

from __future__ import annotations

import base64

from zenml_docker_connector.redaction import REDACTED, redact, secret_variants


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_variants_are_clear_base64_and_base64_with_each_username() -> None:
    variants = secret_variants(["s3cret-pw"], ["alice", "bob"])
    assert set(variants) == {
        "s3cret-pw",
        _b64("s3cret-pw"),
        _b64("alice:s3cret-pw"),
        _b64("bob:s3cret-pw"),
    }
    assert [len(v) for v in variants] == sorted((len(v) for v in variants), reverse=True)


def test_missing_and_tiny_secrets_have_no_variants_to_replace() -> None:
    assert secret_variants([None, ""], [None]) == []
    # A three-letter "secret" would turn every such substring into stars; base64 forms stay.
    assert "abc" not in secret_variants(["abc"])
    assert _b64("abc") in secret_variants(["abc"])


def test_redact_keeps_usernames_and_replaces_longest_first() -> None:
    secret = "Pw-1234567890"
    text = f"user alice sent {_b64('alice:' + secret)} and {secret} and {secret[:6]}"
    assert redact(text, [secret], ["alice"]) == (
        f"user alice sent {REDACTED} and {REDACTED} and {secret[:6]}"
    )


def test_redact_without_secrets_changes_nothing() -> None:
    assert redact("plain text", []) == "plain text"
    assert redact("plain text", [None]) == "plain text"
