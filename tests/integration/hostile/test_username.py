"""ZenML keeps the docker connector's `username` secret (`describe` hides it), so no message,
doctor line or report of ours names it either (issue 19): not when the registry or its token
service rejects the credentials, not when it accepts them, not through `zenml service-connector
register`/`verify` or `zenml-docker doctor`. The username is registered with the secret scan,
so any output of the session that shows it fails the run."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner

from testbed.hostile import bearer_pair
from testbed.local_http import LocalServer, Reply, Seen, basic_challenge, registry_ok
from testbed.secret_scan import register_secret
from testbed.zenml_fixtures import ZenCli, output_of
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import RegistryError
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.cache import AuthCache
from zenml_docker_connector.registry.diagnosis import run_doctor
from zenml_docker_connector.registry.verification import verify_registry_access

pytestmark = pytest.mark.timeout(60)

USERNAME = register_secret("hidden-user-7f3e", "docker username (a secret field in ZenML)")
GOOD = Credentials(USERNAME, register_secret("Good-Pw-Username-0c1d", "username test password"))
WRONG = Credentials(USERNAME, register_secret("Wrong-Pw-Username-9e8f", "username test password"))


def _basic_registry(answer_accepted: Callable[[], Reply]) -> LocalServer:
    def script(seen: Seen) -> Reply:
        if seen.headers.get("Authorization") == GOOD.basic_header():
            return answer_accepted()
        return basic_challenge()

    return LocalServer(script)


@pytest.fixture
def basic_registry() -> Iterator[LocalServer]:
    with _basic_registry(registry_ok) as registry:
        yield registry


def _texts(netloc: str, credentials: Credentials) -> list[str]:
    """The verification's message (or report) and every line `zenml-docker doctor` prints."""
    reference = parse_registry_reference(netloc)
    try:
        report = verify_registry_access(reference, credentials, cache=AuthCache())
        texts = [report.summary(), *report.lines(), repr(report)]
    except RegistryError as error:
        texts = [str(error), repr(error)]
    doctor = run_doctor(reference, credentials)
    return [*texts, *doctor.lines, *doctor.warnings, doctor.error or ""]


def _assert_unnamed(texts: list[str]) -> None:
    assert texts and all(USERNAME not in text for text in texts), texts


def test_rejected_basic_credentials_do_not_name_the_user(basic_registry: LocalServer) -> None:
    texts = _texts(basic_registry.netloc, WRONG)
    assert any("rejected the credentials" in text for text in texts), texts
    _assert_unnamed(texts)


def test_accepted_credentials_do_not_name_the_user(basic_registry: LocalServer) -> None:
    texts = _texts(basic_registry.netloc, GOOD)
    assert any("credentials accepted" in text for text in texts), texts
    _assert_unnamed(texts)


def test_a_registry_refusing_its_api_does_not_name_the_user() -> None:
    with _basic_registry(lambda: Reply(403)) as registry:
        texts = _texts(registry.netloc, GOOD)
    assert any("refuses access to its API" in text for text in texts), texts
    _assert_unnamed(texts)


def test_a_token_service_refusal_does_not_name_the_user() -> None:
    body = json.dumps({"details": "no such login"}).encode()
    refusal = Reply(401, [("Content-Type", "application/json")], body)
    with bearer_pair(lambda seen: refusal) as (registry, _token_service):
        texts = _texts(registry.netloc, WRONG)
    assert any("rejected the credentials: no such login" in text for text in texts), texts
    _assert_unnamed(texts)


def test_zenml_and_doctor_output_do_not_name_the_user(
    basic_registry: LocalServer, zen: ZenCli, unique_name: str
) -> None:
    """`register` refused (wrong password), then registered, `verify` and `doctor`."""
    from zenml_docker_connector.cli import main

    def options(credentials: Credentials) -> list[str]:
        return [
            f"--username={credentials.username}",
            f"--password={credentials.secret}",
            f"--registry={basic_registry.url}",
        ]

    refused = zen.register_docker(unique_name, *options(WRONG))
    registered = zen.register_docker(unique_name, *options(GOOD))
    verified = zen("service-connector", "verify", unique_name)
    doctor = CliRunner().invoke(main, ["doctor", unique_name])
    assert refused.exit_code != 0 and "rejected the credentials" in output_of(refused)
    for result in (registered, verified, doctor):
        assert result.exit_code == 0, output_of(result)
    _assert_unnamed([output_of(r) for r in (refused, registered, verified, doctor)])
