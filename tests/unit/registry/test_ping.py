"""`GET /v2/`: the anonymous ping, the challenge it yields, and answers that are no registry."""

from __future__ import annotations

import dataclasses
import re

import pytest
from requests.structures import CaseInsensitiveDict

from testbed.local_http import Reply, Seen, basic_challenge, bearer_challenge, registry_ok
from testbed.scripted_http import scripted_context
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


def test_a_challenge_is_read_from_the_401() -> None:
    context = scripted_context("127.0.0.1:5000", lambda seen: bearer_challenge("http://a/t"), USER)
    endpoint = discover(context)
    assert endpoint.base_url == "http://127.0.0.1:5000"
    assert endpoint.challenge is not None and endpoint.challenge.realm == "http://a/t"
    assert context.steps == ["GET http://127.0.0.1:5000/v2/ -> 401"]


def test_a_200_means_no_challenge() -> None:
    context = scripted_context("127.0.0.1:5000", lambda seen: registry_ok(), USER)
    assert discover(context) == Endpoint("http://127.0.0.1:5000", None)


def test_a_loopback_port_speaking_tls_is_retried_over_https() -> None:
    def script(seen: Seen) -> Reply:
        return Reply(400, body=HTTPS_EXPECTED + b".\n")

    context = scripted_context("127.0.0.1:5000", script, USER)
    sent = context.transport.sent  # type: ignore[attr-defined]
    with pytest.raises(NotARegistryError):
        discover(context)  # the scripted https answer is the same 400
    assert [r.url for r in sent] == ["http://127.0.0.1:5000/v2/", "https://127.0.0.1:5000/v2/"]
    assert "the port speaks HTTPS: retrying over https" in context.steps


def test_no_https_retry_when_http_was_named() -> None:
    context = scripted_context(
        "http://127.0.0.1:5000", lambda seen: Reply(400, body=HTTPS_EXPECTED), USER
    )
    with pytest.raises(
        NotARegistryError, match=re.escape("is an HTTPS port but registry 127.0.0.1:5000")
    ):
        discover(context)
    assert context.transport.counter.registry == 1


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
def test_answers_that_are_no_registry(reply: Reply, error: type[Exception], expected: str) -> None:
    context = scripted_context("127.0.0.1:5000", lambda seen: reply, USER)
    with pytest.raises(error, match=re.escape(expected)) as caught:
        discover(context)
    assert "127.0.0.1:5000" in str(caught.value)


def test_a_json_200_without_the_version_header_is_still_a_registry() -> None:
    context = scripted_context("127.0.0.1:5000", lambda seen: Reply(200, body=b'{"x": 1}'), USER)
    assert discover(context).challenge is None


def test_remembered_endpoints_are_per_registry_and_ignored_by_explicit_checks() -> None:
    context = scripted_context("127.0.0.1:5000", lambda seen: basic_challenge(), USER)
    endpoint = discover(context)
    remember(context, endpoint)
    assert cached_endpoint(context) == endpoint
    other = scripted_context("127.0.0.1:5001", lambda seen: basic_challenge(), USER)
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


def test_authenticated_api_access() -> None:
    context = scripted_context("127.0.0.1:5000", lambda seen: registry_ok(), USER)
    require_api_access(context, _answer(200), "the Basic credentials")
    with pytest.raises(AccessDeniedError) as caught:
        require_api_access(context, _answer(403), "the Basic credentials")
    assert "accepted the Basic credentials of the credentials of user 'alice'" in str(caught.value)
    assert isinstance(unexpected_answer(context.reference, _answer(500)), RegistryUnreachableError)
