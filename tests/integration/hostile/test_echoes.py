"""A secret a hostile server echoes back never reaches a message, in any shape (issue 11,
"Leak parts of a secret it echoes"): redaction runs after every transformation, for every
encoding, whatever the secret's length, and a cut or a collapse of whitespace never leaves
part of it behind. The error path gets every echo shape in `testbed.leaks.echo_shapes`.
An echo the server itself collapsed and cut short (issue 19) is withheld whole, through the
library, `zenml service-connector register` and `zenml-docker doctor`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from testbed.hostile import bearer_pair, raw_controls
from testbed.leaks import (
    assert_no_collapsed_run,
    assert_no_secret,
    assert_no_secret_fragment,
    echo_shapes,
    transformed_echoes,
)
from testbed.local_http import LocalServer, Reply, Seen, basic_challenge
from testbed.secret_scan import register_secret
from testbed.zenml_fixtures import ZenCli, output_of
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import RegistryError
from zenml_docker_connector.redaction import REDACTED, WITHHELD
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.cache import AuthCache
from zenml_docker_connector.registry.diagnosis import run_doctor
from zenml_docker_connector.registry.verification import verify_registry_access

pytestmark = pytest.mark.timeout(60)

USER = "mallory"
SECRET = "Pw  x\tY/é+&:Z9"
"""14 characters, two spaces and a tab among them (the issue's examples)."""
SHAPES = echo_shapes(SECRET, USER)
TRANSFORMED = transformed_echoes(register_secret(SECRET, "echoed password", [USER]))


def _texts(netloc: str, credentials: Credentials) -> list[str]:
    """The error message of a verification and every line `zenml-docker doctor` prints."""
    with pytest.raises(RegistryError) as caught:
        verify_registry_access(parse_registry_reference(netloc), credentials, cache=AuthCache())
    doctor = run_doctor(parse_registry_reference(netloc), credentials)
    texts = [str(caught.value), *doctor.lines, *doctor.warnings, doctor.error or ""]
    assert all(not raw_controls(text) for text in texts)
    return texts


def _assert_clean(texts: list[str], secret: str, echo: str) -> None:
    assert_no_secret(texts, secret, usernames=[USER])
    assert_no_secret_fragment(texts, secret, min(5, len(secret)))
    assert all(echo not in text for text in texts)


def _token_refusal(text: str) -> Any:
    body = json.dumps({"details": text}).encode()
    return lambda seen: Reply(401, [("Content-Type", "application/json")], body)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_echo_shape_from_a_token_service_is_redacted(shape: str) -> None:
    echo = SHAPES[shape]
    with bearer_pair(_token_refusal(f"password {echo} is wrong for {USER}")) as (registry, _):
        texts = _texts(registry.netloc, Credentials(USER, SECRET))
    _assert_clean(texts, SECRET, echo)
    assert any(REDACTED in text and f"is wrong for {USER}" in text for text in texts)


@pytest.mark.parametrize("offset", [150, 190, 195, 199, 205, 400, 790, 800, 810])
def test_a_long_echo_is_cut_only_after_redaction(offset: int) -> None:
    text = "x" * offset + SECRET + "y" * 1000
    with bearer_pair(_token_refusal(text)) as (registry, _):
        texts = _texts(registry.netloc, Credentials(USER, SECRET))
    _assert_clean(texts, SECRET, SECRET)


@pytest.mark.parametrize("secret", ["a", "Q7", "p w"])
def test_short_secrets_withhold_what_echoes_them(secret: str) -> None:
    shapes = echo_shapes(secret, USER)
    for shape in ("plain", "percent", "form", "base64 user:pass"):
        echo = shapes[shape]
        with bearer_pair(_token_refusal(f"bad: {echo}")) as (registry, _):
            texts = _texts(registry.netloc, Credentials(USER, secret))
        assert all(echo not in text for text in texts if "bad: " in text), shape
        assert any(WITHHELD in text or REDACTED in text for text in texts), shape


@pytest.mark.parametrize("shape", ["plain", "percent", "form", "base64 user:pass"])
def test_echoes_in_location_and_content_type_are_redacted(shape: str) -> None:
    echo = SHAPES[shape]
    header_echo = echo.replace("\t", " ")  # a header value cannot hold every character

    def script(seen: Seen) -> Reply:
        if "Authorization" not in seen.headers:
            return basic_challenge()
        return Reply(302, [("Location", f"http://other.example/{header_echo}/x")])

    with LocalServer(script) as registry:
        texts = _texts(registry.netloc, Credentials(USER, SECRET))
    _assert_clean(texts, SECRET, header_echo)

    reply = Reply(404, [("Content-Type", f"text/{header_echo}")], b"<html/>")
    with LocalServer(lambda seen: reply) as registry:
        texts = _texts(registry.netloc, Credentials(USER, SECRET))
    _assert_clean(texts, SECRET, header_echo)


@pytest.mark.parametrize("shape", list(TRANSFORMED))
def test_an_echo_the_server_collapsed_and_cut_is_withheld(shape: str) -> None:
    echo = TRANSFORMED[shape]
    with bearer_pair(_token_refusal(f"password {echo} is wrong")) as (registry, _):
        texts = _texts(registry.netloc, Credentials(USER, SECRET))
    _assert_clean(texts, SECRET, echo)
    assert_no_collapsed_run(texts, SECRET)
    assert any(WITHHELD in text for text in texts)


def test_a_run_shorter_than_six_characters_is_still_shown() -> None:
    """The rule's bound: five characters in common ("Pw x ") do not withhold the text."""
    with bearer_pair(_token_refusal("password Pw x is wrong for everyone")) as (registry, _):
        texts = _texts(registry.netloc, Credentials(USER, SECRET))
    assert any("password Pw x is wrong for everyone" in text for text in texts)


def test_a_collapsed_and_cut_echo_stays_out_of_zenml_and_doctor_output(
    zen: ZenCli, unique_name: str
) -> None:
    from zenml.client import Client

    from zenml_docker_connector.cli import main

    echo = TRANSFORMED["collapsed, end cut off"]
    with bearer_pair(_token_refusal(f"password {echo} is wrong")) as (registry, _):
        options = [f"--username={USER}", f"--password={SECRET}", f"--registry={registry.url}"]
        register = zen.register_docker(unique_name, *options)
        Client().create_service_connector(
            name=unique_name,
            connector_type="docker",
            auth_method="password",
            configuration={"username": USER, "password": SECRET, "registry": registry.url},
            verify=False,
            list_resources=False,
        )
        doctor = CliRunner().invoke(main, ["doctor", unique_name])
    outputs = [output_of(register), output_of(doctor)]
    assert register.exit_code != 0 and doctor.exit_code != 0, outputs
    assert all("rejected" in out for out in outputs), outputs
    assert_no_secret(outputs, SECRET, usernames=[USER])
    assert_no_collapsed_run(outputs, SECRET)
