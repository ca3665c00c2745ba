"""The doctor's probe: a fresh check, explained line by line, never showing a secret."""

from __future__ import annotations

import pytest

from testbed.leaks import assert_no_secret
from testbed.local_http import Reply, Seen, basic_challenge, registry_ok
from testbed.scripted_http import scripted_registry
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.probe import run_doctor
from zenml_docker_connector.registry.settings import ConnectionSettings
from zenml_docker_connector.registry.verification import AccessQuestion

SECRET = "Probe-Secret-1"
USER = Credentials("alice", SECRET)


def _basic(seen: Seen) -> Reply:
    if seen.path.endswith("/tags/list"):
        return Reply(403)
    if seen.headers.get("Authorization") == USER.basic_header():
        return registry_ok()
    # A registry that echoes what it got: the probe must scrub it.
    return Reply(401, [("WWW-Authenticate", f'Basic realm="echo {SECRET}"')])


def test_a_successful_probe_explains_each_step(monkeypatch: pytest.MonkeyPatch) -> None:
    reference = parse_registry_reference("127.0.0.1:5000")
    with scripted_registry(monkeypatch, _basic):
        result = run_doctor(reference, USER)
    assert result.ok and result.error is None and result.warnings == []
    text = "\n".join(result.lines)
    assert result.lines[:3] == [
        "Registry:        127.0.0.1:5000",
        "Scheme:          http (loopback registry named without scheme: http, then https if "
        "the port speaks TLS)",
        "Credentials:     user 'alice' with a password/token",
    ]
    assert 'Challenge:       Basic realm="echo ********"' in text
    assert "Requests:\n  GET http://127.0.0.1:5000/v2/ -> 401\n" in text
    assert "  GET http://127.0.0.1:5000/v2/ (Basic) -> 200" in text
    assert_no_secret(result.lines, SECRET, usernames=["alice"])


def test_the_probe_never_answers_from_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    reference = parse_registry_reference("127.0.0.1:5000")
    with scripted_registry(monkeypatch, _basic) as transports:
        run_doctor(reference, USER)
        run_doctor(reference, USER)
    assert [t.counter.registry for t in transports] == [2, 2]


def test_a_failed_probe_lists_the_requests_and_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    reference = parse_registry_reference("https://r.example")
    with scripted_registry(monkeypatch, lambda seen: basic_challenge()):
        result = run_doctor(reference, USER, settings=ConnectionSettings(insecure=True))
    assert not result.ok and result.error is not None
    assert "rejected the credentials of user 'alice'" in result.error
    assert "Scheme:          https (as named)" in result.lines
    assert "TLS:             certificate verification DISABLED (connector option insecure)" in (
        result.lines
    )
    assert result.lines[-1].startswith("Took 2 registry and 0 token service request(s)")


def test_denied_access_and_open_registries_are_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    reference = parse_registry_reference("127.0.0.1:5000")
    with scripted_registry(monkeypatch, _basic):
        denied = run_doctor(reference, USER, AccessQuestion("team/app", push=True))
    assert not denied.ok
    assert denied.warnings == [
        "pull NOT granted on repository:team/app:pull,push (GET /v2/team/app/tags/list answered "
        "403; push needs a write to test)"
    ]
    assert "Registry:        127.0.0.1:5000 (repository team/app)" in denied.lines
    with scripted_registry(monkeypatch, lambda seen: registry_ok()):
        open_registry = run_doctor(reference, Credentials.anonymous())
    assert open_registry.ok and "Credentials:     none" in open_registry.lines
    assert open_registry.warnings == [
        "the registry accepts anyone: the credentials were not tested"
    ]
