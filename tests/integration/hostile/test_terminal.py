"""Nothing a hostile server sends reaches a terminal or a log raw (issue 11, "Write into the
user's terminal"): escape sequences in token error fields, `Content-Type`, `Location` and
challenge parameters are shown escaped in error messages, `zenml-docker doctor`'s lines,
`zenml service-connector verify`'s output and our log records."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from click.testing import CliRunner

from testbed.hostile import TERMINAL_ATTACKS, bearer_pair, raw_controls
from testbed.local_http import LocalServer, Reply, Seen, basic_challenge, registry_ok
from testbed.zenml_fixtures import create_docker_connector
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import RegistryError
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.cache import AuthCache
from zenml_docker_connector.registry.diagnosis import run_doctor
from zenml_docker_connector.registry.transport import ConnectionSettings
from zenml_docker_connector.registry.verification import verify_registry_access

pytestmark = pytest.mark.timeout(60)

CREDENTIALS = Credentials("mallory", "Terminal-Secret-41f0")
HEADER_ATTACK = "\x1b]0;pwned\x1b\\\x1b]52;c;ZXZpbA==\x1b\\\x9b2J\x9d0;pwned\x9c"
"""Escape sequences that fit in a header (latin-1, no CR/LF): title, clipboard, C1 CSI/OSC."""
C1_ATTACK = "\x9b2J\x9d0;pwned\x9c"
"""C1 controls only: what passes the challenge parser's C0 check."""


def _failure(netloc: str) -> str:
    with pytest.raises(RegistryError) as caught:
        verify_registry_access(parse_registry_reference(netloc), CREDENTIALS, cache=AuthCache())
    return str(caught.value)


def _assert_shown_escaped(text: str) -> None:
    assert not raw_controls(text), raw_controls(text)


@pytest.mark.parametrize("attack", list(TERMINAL_ATTACKS))
@pytest.mark.parametrize("field", ["error_description", "details", "message"])
def test_token_service_error_fields_are_shown_escaped(attack: str, field: str) -> None:
    payload = json.dumps({field: f"bad password {TERMINAL_ATTACKS[attack]}"}).encode()
    with bearer_pair(lambda seen: Reply(401, [("Content-Type", "application/json")], payload)) as (
        registry,
        _token,
    ):
        message = _failure(registry.netloc)
    _assert_shown_escaped(message)
    assert "bad password" in message and ("\\x" in message or "\\u" in message)


def test_content_type_is_shown_escaped() -> None:
    reply = Reply(404, [("Content-Type", f"text/html{HEADER_ATTACK}")], b"<html/>")
    with LocalServer(lambda seen: reply) as registry:
        message = _failure(registry.netloc)
    _assert_shown_escaped(message)
    assert "text/html\\x1b]0" in message


@pytest.mark.parametrize("same_origin", [True, False])
def test_location_is_shown_escaped(same_origin: bool) -> None:
    with LocalServer(lambda seen: Reply(404)) as elsewhere:
        base = "" if same_origin else elsewhere.url
        location = f"{base}/v2/{HEADER_ATTACK}"
        with LocalServer(lambda seen: Reply(302, [("Location", location)])) as registry:
            message = _failure(registry.netloc)
    _assert_shown_escaped(message)
    assert "\\x1b]0;pwned" in message


def test_challenge_parameters_are_shown_escaped_in_messages_and_doctor_lines() -> None:
    service = f"registry{C1_ATTACK}"
    with LocalServer(lambda seen: Reply(200, body=b'{"token": "t0k3n"}')) as token_service:
        realm = f"{token_service.url}/token{C1_ATTACK}"

        def script(seen: Seen) -> Reply:
            if seen.headers.get("Authorization") == "Bearer t0k3n":
                return registry_ok()
            return Reply(401, [("WWW-Authenticate", f'Bearer realm="{realm}",service="{service}"')])

        with LocalServer(script) as registry:
            report = run_doctor(parse_registry_reference(registry.netloc), CREDENTIALS)
    assert report.ok, report
    _assert_shown_escaped("\n".join(report.lines))
    assert any(line.startswith("Token service:") and "\\x9b2J" in line for line in report.lines)
    assert any(line.startswith("Challenge:") and "\\x9d0;pwned" in line for line in report.lines)


def test_log_records_are_printable(caplog: pytest.LogCaptureFixture) -> None:
    location = f"/v2/{HEADER_ATTACK}"
    with (
        caplog.at_level(logging.DEBUG, logger="zenml_docker_connector"),
        LocalServer(lambda seen: Reply(302, [("Location", location)])) as registry,
    ):
        _failure(registry.netloc)
    records = [r for r in caplog.records if r.name.startswith("zenml_docker_connector")]
    assert records and all(not raw_controls(r.getMessage()) for r in records)


@pytest.fixture
def switchable_registry() -> Any:
    """A Basic registry that behaves until `mode["hostile"]` is set, then answers with
    escape sequences in its `Content-Type` (so a connector can be registered first)."""
    mode = {"hostile": False}

    def script(seen: Seen) -> Reply:
        if mode["hostile"]:
            return Reply(404, [("Content-Type", f"text/html{HEADER_ATTACK}")], b"<html/>")
        if seen.headers.get("Authorization") == CREDENTIALS.basic_header():
            return registry_ok()
        return basic_challenge()

    with LocalServer(script) as registry:
        yield registry, mode


def test_cli_output_is_printable(switchable_registry: Any, zen: Any) -> None:
    from zenml_docker_connector.cli import main

    registry, mode = switchable_registry
    name = f"hostile-{uuid.uuid4().hex[:8]}"
    create_docker_connector(name, "mallory", "Terminal-Secret-41f0", registry.netloc)
    mode["hostile"] = True
    doctor = CliRunner().invoke(main, ["doctor", name])
    verify = zen("service-connector", "verify", name)
    for output in (doctor.output, verify.output):
        assert "text/html\\x1b]0" in output, output  # the media type ends at ";"
        assert "\x1b]" not in output and "\x9b" not in output and "\x9d" not in output
    assert doctor.exit_code != 0


def test_connection_settings_do_not_matter_for_escaping() -> None:
    """The same escaping with certificate checks off (a different transport path)."""
    reply = Reply(404, [("Content-Type", f"text/plain{HEADER_ATTACK}")])
    with LocalServer(lambda seen: reply) as registry, pytest.raises(RegistryError) as caught:
        verify_registry_access(
            parse_registry_reference(registry.netloc),
            CREDENTIALS,
            settings=ConnectionSettings(insecure=True),
            cache=AuthCache(),
        )
    _assert_shown_escaped(str(caught.value))
