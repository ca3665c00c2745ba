"""The doctor's probe against the real test bed: the explanation and its failure mode.

The `zenml-docker doctor` command itself is tested in tests/integration/cli/test_doctor.py.
"""

from __future__ import annotations

import uuid
from typing import Any

from testbed.leaks import assert_no_secret
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.diagnosis import run_doctor
from zenml_docker_connector.registry.verification import AccessQuestion


def test_doctor_explains_a_token_registry(token_registry: Any) -> None:
    server = token_registry.token_server
    result = run_doctor(
        parse_registry_reference(token_registry.host),
        Credentials(token_registry.username, token_registry.password),
        AccessQuestion("team/app", True),
    )
    text = "\n".join(result.lines)
    assert result.ok and result.error is None and not result.warnings
    assert f"Token realm:     {server.realm}" in text
    assert f"Token service:   {server.service}" in text
    assert "plain HTTP (loopback registry)" in text
    assert "Challenge:       Bearer realm=" in text
    assert "repository:team/app:pull,push: granted pull,push" in text
    assert "2 to the registry, 1 to the token service" in text
    assert f"POST {server.url}/token (OAuth2 password) -> 200" in text
    assert_no_secret(result.lines, token_registry.password)


def test_doctor_ignores_the_cache(htpasswd_registry: Any) -> None:
    reference = parse_registry_reference(htpasswd_registry.host)
    for _ in range(2):
        result = run_doctor(
            reference, Credentials(htpasswd_registry.username, htpasswd_registry.password)
        )
        assert any("2 to the registry, 0 to the token service" in line for line in result.lines)


def test_doctor_reports_failure_with_steps(htpasswd_registry: Any) -> None:
    wrong = f"Wrong-{uuid.uuid4().hex}"
    result = run_doctor(
        parse_registry_reference(htpasswd_registry.host),
        Credentials(htpasswd_registry.username, wrong),
    )
    assert not result.ok and result.error is not None
    assert "rejected" in result.error and f"'{htpasswd_registry.username}'" not in result.error
    assert any("GET http://" in line and "(Basic) -> 401" in line for line in result.lines)
    assert_no_secret([*result.lines, result.error], wrong)


def test_doctor_warns_about_denied_access(token_registry: Any) -> None:
    user, password = f"u{uuid.uuid4().hex[:6]}", f"Pw-{uuid.uuid4().hex}"
    token_registry.token_server.add_user(user, password, {"team/*": ["pull"]})
    result = run_doctor(
        parse_registry_reference(token_registry.host),
        Credentials(user, password),
        AccessQuestion("team/app", True),
    )
    assert not result.ok
    assert any("push NOT granted" in warning for warning in result.warnings)
