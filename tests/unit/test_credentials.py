"""`Credentials`: one value for username and secret, whose `repr` never shows the secret."""

from __future__ import annotations

import base64

import pytest

from zenml_docker_connector.credentials import IDENTITY_TOKEN_USERNAME, Credentials
from zenml_docker_connector.redaction import REDACTED

SECRET = "Cred-Secret-7f2k"


def test_repr_and_str_hide_the_secret() -> None:
    credentials = Credentials("alice", SECRET)
    for text in (repr(credentials), str(credentials), repr([credentials])):
        assert SECRET not in text and "alice" in text


def test_a_credential_stores_token_username_marks_an_identity_token() -> None:
    assert IDENTITY_TOKEN_USERNAME == "<token>"
    token = Credentials.from_store("<token>", "refresh-1")
    assert token.identity_token and token.username == "<token>" and token.secret == "refresh-1"
    assert token.who() == "identity token"
    plain = Credentials.from_store("bob", "pw")
    assert not plain.identity_token and plain.who() == "credentials"  # no username either
    assert Credentials.from_store("", "pw").username == ""  # kept as the store said


@pytest.mark.parametrize(
    ("credentials", "complete"),
    [
        (Credentials("u", "p"), True),
        (Credentials("u", ""), True),  # an empty secret still counts
        (Credentials("u", None), False),
        (Credentials(None, "p"), False),
        (Credentials("", "p"), False),
        (Credentials(None, None), False),
    ],
)
def test_complete_needs_a_username_and_a_secret(credentials: Credentials, complete: bool) -> None:
    assert credentials.complete is complete


def test_the_two_basic_encodings() -> None:
    credentials = Credentials("alice", "pa:ss")
    expected = base64.b64encode(b"alice:pa:ss").decode()
    assert credentials.basic_value() == expected
    assert credentials.basic_header() == f"Basic {expected}"
    assert Credentials(None, None).basic_value() == base64.b64encode(b":").decode()


def test_redact_removes_every_encoding_of_the_secret() -> None:
    credentials = Credentials("alice", SECRET)
    text = (
        f"clear {SECRET}, base64 {base64.b64encode(SECRET.encode()).decode()}, "
        f"basic {credentials.basic_value()}"
    )
    redacted = credentials.redact(text)
    assert SECRET not in redacted and credentials.basic_value() not in redacted
    assert redacted.count(REDACTED) == 3
    assert Credentials(None, None).redact("nothing to hide") == "nothing to hide"


def test_credentials_are_values() -> None:
    assert Credentials("u", "p") == Credentials("u", "p")
    assert Credentials("u", "p") != Credentials("u", "p", identity_token=True)
    assert len({Credentials("u", "p"), Credentials("u", "p")}) == 1
