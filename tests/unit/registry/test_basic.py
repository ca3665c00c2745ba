"""HTTP Basic registries: the credentials go with one authenticated `GET /v2/`."""

from __future__ import annotations

import pytest

from testbed.local_http import Reply, Seen, basic_challenge, bearer_challenge, registry_ok
from testbed.loopback import Loopback
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import AccessDeniedError, CredentialsRejectedError
from zenml_docker_connector.registry.basic import authenticate_basic
from zenml_docker_connector.registry.challenges import Challenge
from zenml_docker_connector.registry.ping import Endpoint, StaleChallengeError

USER = Credentials("alice", "Basic-Secret-1")


def _endpoint(loopback: Loopback) -> Endpoint:
    return Endpoint(loopback.url, Challenge("basic", {"realm": "r"}))


def _registry(seen: Seen) -> Reply:
    if seen.headers.get("Authorization") == USER.basic_header():
        return registry_ok()
    return basic_challenge()


def test_accepted_credentials_cost_one_request_and_give_the_header(loopback: Loopback) -> None:
    context = loopback.context(_registry, USER)
    assert authenticate_basic(context, _endpoint(loopback), from_cache=False) == USER.basic_header()
    assert context.steps == [f"GET {loopback.url}/v2/ (Basic) -> 200"]
    assert [s.headers.get("Authorization") for s in loopback.seen] == [USER.basic_header()]


def test_rejected_credentials_name_neither_user_nor_secret(loopback: Loopback) -> None:
    wrong = Credentials("alice", "Wrong-Secret-2")
    context = loopback.context(_registry, wrong)
    with pytest.raises(CredentialsRejectedError) as caught:
        authenticate_basic(context, _endpoint(loopback), from_cache=False)
    message = str(caught.value)
    assert f"Registry {loopback.netloc} rejected the credentials:" in message
    assert "alice" not in message
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
    loopback: Loopback, credentials: Credentials, expected: str
) -> None:
    context = loopback.context(_registry, credentials)
    with pytest.raises(CredentialsRejectedError, match=expected):
        authenticate_basic(context, _endpoint(loopback), from_cache=False)
    assert context.transport.counter.registry == 0 and loopback.seen == []


def test_a_remembered_challenge_contradicted_by_the_registry_is_stale(loopback: Loopback) -> None:
    context = loopback.context(lambda seen: bearer_challenge(f"{loopback.url}/token"), USER)
    with pytest.raises(StaleChallengeError):
        authenticate_basic(context, _endpoint(loopback), from_cache=True)
    # A fresh challenge is not second-guessed: the 401 is a rejection.
    with pytest.raises(CredentialsRejectedError):
        authenticate_basic(context, _endpoint(loopback), from_cache=False)


def test_valid_credentials_without_api_access(loopback: Loopback) -> None:
    context = loopback.context(lambda seen: Reply(403), USER)
    with pytest.raises(AccessDeniedError, match="HTTP 403"):
        authenticate_basic(context, _endpoint(loopback), from_cache=False)
