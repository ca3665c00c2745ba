"""`GET /v2/`: the anonymous ping, the challenge it yields, and answers that are no registry.

A loopback port that speaks TLS and answers plain HTTP as Go does (the trigger for retrying
over https) needs a real TLS registry: tests/integration/registry/test_transport.py
(`test_loopback_without_scheme_falls_back_to_https`).
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from requests.structures import CaseInsensitiveDict

from testbed.local_http import Reply, basic_challenge, bearer_challenge, registry_ok
from testbed.loopback import Loopback, check_context
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import (
    AccessDeniedError,
    NotARegistryError,
    RegistryError,
    RegistryUnreachableError,
)
from zenml_docker_connector.registry.ping import (
    HTTPS_EXPECTED,
    Endpoint,
    cached_endpoint,
    discover,
    forget,
    fresh_challenge,
    remember,
    require_api_access,
    unexpected_answer,
)
from zenml_docker_connector.registry.responses import HttpResponse

USER = Credentials("alice", "Ping-Secret-1")


def test_a_challenge_is_read_from_the_401(loopback: Loopback) -> None:
    realm = f"{loopback.url}/token"
    context = loopback.context(lambda seen: bearer_challenge(realm), USER)
    endpoint = discover(context)
    assert endpoint.base_url == loopback.url
    assert endpoint.challenge is not None and endpoint.challenge.realm == realm
    assert context.steps == [f"GET {loopback.url}/v2/ -> 401"]
    assert [(s.method, s.path, s.headers.get("Authorization")) for s in loopback.seen] == [
        ("GET", "/v2/", None)
    ]


def test_a_200_means_no_challenge(loopback: Loopback) -> None:
    context = loopback.context(lambda seen: registry_ok(), USER)
    assert discover(context) == Endpoint(loopback.url, None)


def test_no_https_retry_when_http_was_named(loopback: Loopback) -> None:
    context = loopback.context(
        lambda seen: Reply(400, body=HTTPS_EXPECTED), USER, named=f"http://{loopback.netloc}"
    )
    with pytest.raises(
        NotARegistryError, match=re.escape(f"is an HTTPS port but registry {loopback.netloc}")
    ):
        discover(context)
    assert context.transport.counter.registry == 1 and len(loopback.seen) == 1


@pytest.mark.parametrize(
    ("reply", "error", "expected"),
    [
        (Reply(200, [("Content-Type", "text/html")], b"<html/>"), NotARegistryError, "text/html"),
        (Reply(401), NotARegistryError, "no WWW-Authenticate header"),
        (Reply(401, [("WWW-Authenticate", "Negotiate")]), NotARegistryError, "Negotiate"),
        (Reply(401, [("WWW-Authenticate", 'Bearer service="s"')]), NotARegistryError, "realm"),
        (Reply(404), NotARegistryError, "HTTP 404 (empty body)"),
        (Reply(429), RegistryError, "rate-limiting"),
        (Reply(502), RegistryUnreachableError, "HTTP 502"),
    ],
)
def test_answers_that_are_no_registry(
    loopback: Loopback, reply: Reply, error: type[Exception], expected: str
) -> None:
    context = loopback.context(lambda seen: reply, USER)
    with pytest.raises(error, match=re.escape(expected)) as caught:
        discover(context)
    assert loopback.netloc in str(caught.value)


def test_a_json_200_without_the_version_header_is_still_a_registry(loopback: Loopback) -> None:
    context = loopback.context(lambda seen: Reply(200, body=b'{"x": 1}'), USER)
    assert discover(context).challenge is None


def test_remembered_endpoints_are_per_registry_and_ignored_by_explicit_checks(
    loopback: Loopback,
) -> None:
    context = loopback.context(lambda seen: basic_challenge(), USER)
    endpoint = discover(context)
    remember(context, endpoint)
    assert cached_endpoint(context) == endpoint
    other = check_context(f"localhost:{loopback.port}", USER)  # another name: another registry
    assert cached_endpoint(dataclasses.replace(other, cache=context.cache)) is None
    assert cached_endpoint(dataclasses.replace(context, use_cache=False)) is None
    forget(context)
    assert cached_endpoint(context) is None


def _answer(status: int, challenge: str | None = None) -> HttpResponse:
    return HttpResponse(
        url="http://127.0.0.1:5000/v2/",
        status=status,
        headers=CaseInsensitiveDict(),
        www_authenticate=(challenge,) if challenge else (),
        body=b"",
    )


def test_fresh_challenge_of_an_authenticated_answer() -> None:
    assert fresh_challenge(_answer(401, 'Basic realm="r"')).scheme == "basic"  # type: ignore[union-attr]
    assert fresh_challenge(_answer(401, 'Bearer realm="unterminated')) is None
    assert fresh_challenge(_answer(401)) is None


def test_authenticated_api_access(loopback: Loopback) -> None:
    context = loopback.context(lambda seen: registry_ok(), USER)
    require_api_access(context, _answer(200), "the Basic credentials")
    with pytest.raises(AccessDeniedError) as caught:
        require_api_access(context, _answer(403), "the Basic credentials")
    assert "accepted the Basic credentials but refuses" in str(caught.value)
    assert "alice" not in str(caught.value)
    assert isinstance(unexpected_answer(context.reference, _answer(500)), RegistryUnreachableError)
