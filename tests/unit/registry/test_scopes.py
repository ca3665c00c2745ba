"""Repository scopes: what to ask for, and what a token or `tags/list` says was granted."""

from __future__ import annotations

import base64
import json

import pytest

from testbed.local_http import Reply
from testbed.loopback import Loopback
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import NotARegistryError, RegistryUnreachableError
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.scopes import (
    ScopeCheck,
    check_with_token,
    granted_without_auth,
    normalize_repository,
    probe,
    requested_scopes,
    scope_actions,
)
from zenml_docker_connector.registry.tokens import BearerToken, parse_token_response


def test_scopes() -> None:
    assert requested_scopes(None, True) == ()
    assert requested_scopes("team/app", False) == ("repository:team/app:pull",)
    assert requested_scopes("team/app", True) == ("repository:team/app:pull,push",)
    assert scope_actions(["repository:localhost:5000/app:pull,push", "registry:catalog:*"]) == [
        ("repository", "localhost:5000/app", ("pull", "push")),
        ("registry", "catalog", ("*",)),
    ]


@pytest.mark.parametrize(
    ("registry", "repository", "expected"),
    [
        ("docker.io", "app", "library/app"),
        ("docker.io", "team/app", "team/app"),
        ("127.0.0.1:5000", "/team/app/", "team/app"),
        ("[::1]:5000", "a/b/c", "a/b/c"),
        ("127.0.0.1:5000", "", None),
        ("127.0.0.1:5000", None, None),
    ],
)
def test_repository_names(registry: str, repository: str | None, expected: str | None) -> None:
    assert normalize_repository(parse_registry_reference(registry), repository) == expected


USER = Credentials("u", "p")


def _token(access: list[dict[str, object]] | None) -> BearerToken:
    claims = base64.urlsafe_b64encode(json.dumps({"access": access}).encode()).decode()
    value = f"e30.{claims.rstrip('=')}.c2ln" if access is not None else "opaque-token"
    return parse_token_response("r", "https://r/t", json.dumps({"token": value}).encode(), "POST")


def test_denied_is_what_was_neither_granted_nor_uncheckable() -> None:
    check = ScopeCheck("repository:a/b:pull,push", ("pull", "push"), ("pull",), ("push",), "x")
    assert check.denied == ()
    assert check.describe() == "repository:a/b:pull,push: granted pull; push not checkable (x)"
    refused = ScopeCheck("repository:a/b:pull", ("pull",), (), (), "y")
    assert refused.denied == ("pull",)
    assert refused.describe() == "repository:a/b:pull: granted nothing (y)"


def test_a_registry_without_auth_grants_everything_asked() -> None:
    (check,) = granted_without_auth(("repository:a/b:pull,push",))
    assert check.granted == ("pull", "push") and check.denied == ()
    assert "requires no authentication" in check.source


@pytest.mark.parametrize(
    ("access", "granted"),
    [
        (
            [{"type": "repository", "name": "team/app", "actions": ["pull", "push"]}],
            ("pull", "push"),
        ),
        ([{"type": "repository", "name": "team/app", "actions": ["pull"]}], ("pull",)),
        ([{"type": "repository", "name": "team/app", "actions": ["*"]}], ("pull", "push")),
        ([{"type": "repository", "name": "other/app", "actions": ["*"]}], ()),
        ([], ()),
    ],
)
def test_the_access_claim_answers_without_a_request(
    loopback: Loopback, access: list[dict[str, object]], granted: tuple[str, ...]
) -> None:
    context = loopback.context(lambda seen: Reply(500), USER)
    check = check_with_token(context, loopback.url, "repository:team/app:pull,push", _token(access))
    assert check.granted == granted and check.unknown == ()
    assert check.source == "the token's access claim"
    assert context.transport.counter.registry == 0 and loopback.seen == []


def test_an_opaque_token_is_checked_with_tags_list(loopback: Loopback) -> None:
    context = loopback.context(lambda seen: Reply(200, body=b'{"name":"team/app","tags":[]}'), USER)
    check = check_with_token(context, loopback.url, "repository:team/app:pull", _token(None))
    assert check.granted == ("pull",)
    seen = loopback.seen
    assert [(s.method, s.path, s.query) for s in seen] == [("GET", "/v2/team/app/tags/list", "n=1")]
    assert seen[0].headers["Authorization"] == "Bearer opaque-token"
    assert context.steps == [
        f"GET {loopback.url}/v2/team/app/tags/list (opaque bearer token) -> 200"
    ]


@pytest.mark.parametrize(
    ("status", "granted", "source"),
    [
        (200, ("pull",), "GET /v2/team/app/tags/list answered 200; push needs a write to test"),
        (
            404,
            ("pull",),
            "GET /v2/team/app/tags/list answered 404: repository not pushed yet; push needs a "
            "write to test",
        ),
        (401, (), "GET /v2/team/app/tags/list answered 401; push needs a write to test"),
        (403, (), "GET /v2/team/app/tags/list answered 403; push needs a write to test"),
    ],
)
def test_tags_list_answers_pull_and_leaves_push_unknown(
    loopback: Loopback, status: int, granted: tuple[str, ...], source: str
) -> None:
    context = loopback.context(lambda seen: Reply(status), USER)
    check = probe(context, loopback.url, "repository:team/app:pull,push", ("Basic eDp5", "Basic"))
    assert (check.granted, check.unknown, check.source) == (granted, ("push",), source)


@pytest.mark.parametrize(
    ("status", "error"), [(500, RegistryUnreachableError), (418, NotARegistryError)]
)
def test_tags_list_answering_nonsense_is_an_error(
    loopback: Loopback, status: int, error: type[Exception]
) -> None:
    context = loopback.context(lambda seen: Reply(status), USER)
    with pytest.raises(error):
        probe(context, loopback.url, "repository:team/app:pull", ("Basic eDp5", "Basic"))


def test_repository_names_are_quoted_in_the_url() -> None:
    assert scope_actions(["repository(plugin):a/b:pull"]) == [("repository", "a/b", ("pull",))]
    assert requested_scopes("library/app", False) == ("repository:library/app:pull",)
