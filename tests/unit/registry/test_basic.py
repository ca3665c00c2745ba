"""HTTP Basic registries: the credentials go with one authenticated `GET /v2/`."""

from __future__ import annotations

import pytest

from testbed.local_http import Reply, Seen, basic_challenge, bearer_challenge, registry_ok
from testbed.scripted_http import scripted_context
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import AccessDeniedError, CredentialsRejectedError
from zenml_docker_connector.registry.basic import authenticate_basic
from zenml_docker_connector.registry.challenges import Challenge
from zenml_docker_connector.registry.ping import Endpoint, StaleChallengeError

USER = Credentials("alice", "Basic-Secret-1")
ENDPOINT = Endpoint("http://127.0.0.1:5000", Challenge("basic", {"realm": "r"}))


def _registry(seen: Seen) -> Reply:
    if seen.headers.get("Authorization") == USER.basic_header():
        return registry_ok()
    return basic_challenge()


def test_accepted_credentials_cost_one_request_and_give_the_header() -> None:
    context = scripted_context("127.0.0.1:5000", _registry, USER)
    assert authenticate_basic(context, ENDPOINT, from_cache=False) == USER.basic_header()
    assert context.steps == ["GET http://127.0.0.1:5000/v2/ (Basic) -> 200"]


def test_rejected_credentials_name_the_user_not_the_secret() -> None:
    wrong = Credentials("alice", "Wrong-Secret-2")
    context = scripted_context("127.0.0.1:5000", _registry, wrong)
    with pytest.raises(CredentialsRejectedError) as caught:
        authenticate_basic(context, ENDPOINT, from_cache=False)
    message = str(caught.value)
    assert "Registry 127.0.0.1:5000 rejected the credentials of user 'alice'" in message
    assert "Wrong-Secret-2" not in message and wrong.basic_value() not in message


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        (Credentials.anonymous(), "requires credentials, but none are configured"),
        (Credentials("alice", None), "requires credentials, but none are configured"),
        (Credentials("alice", "refresh", identity_token=True), "not an identity token"),
    ],
)
def test_unusable_credentials_are_refused_without_a_request(
    credentials: Credentials, expected: str
) -> None:
    context = scripted_context("127.0.0.1:5000", _registry, credentials)
    with pytest.raises(CredentialsRejectedError, match=expected):
        authenticate_basic(context, ENDPOINT, from_cache=False)
    assert context.transport.counter.registry == 0


def test_a_remembered_challenge_contradicted_by_the_registry_is_stale() -> None:
    context = scripted_context("127.0.0.1:5000", lambda seen: bearer_challenge("http://a/t"), USER)
    with pytest.raises(StaleChallengeError):
        authenticate_basic(context, ENDPOINT, from_cache=True)
    # A fresh challenge is not second-guessed: the 401 is a rejection.
    with pytest.raises(CredentialsRejectedError):
        authenticate_basic(context, ENDPOINT, from_cache=False)


def test_valid_credentials_without_api_access() -> None:
    context = scripted_context("127.0.0.1:5000", lambda seen: Reply(403), USER)
    with pytest.raises(AccessDeniedError, match="HTTP 403"):
        authenticate_basic(context, ENDPOINT, from_cache=False)
