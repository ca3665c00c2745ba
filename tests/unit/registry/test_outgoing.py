"""`Outgoing`: a request before it is sent; what it carries never shows in `repr`."""

from __future__ import annotations

from zenml_docker_connector.registry.outgoing import DEFAULT_MAX_BODY, Outgoing, role_text


def test_repr_hides_the_authorization_and_the_form() -> None:
    request = Outgoing(
        "POST",
        "https://auth.example/token",
        role="token",
        authorization="Basic c2VjcmV0",
        auth_label="Basic",
        form={"password": "pw-in-form"},
        form_has_credentials=True,
    )
    text = repr(request)
    assert "c2VjcmV0" not in text and "pw-in-form" not in text
    assert "auth.example" in text and "'Basic'" in text


def test_what_carries_credentials() -> None:
    assert not Outgoing("GET", "https://r.example/v2/").carries_credentials
    assert Outgoing("GET", "https://r.example/v2/", authorization="Bearer t").carries_credentials
    form = Outgoing("POST", "https://a.example/t", form={}, form_has_credentials=True)
    assert form.carries_credentials


def test_without_authorization_keeps_everything_else() -> None:
    request = Outgoing(
        "GET",
        "https://r.example/v2/",
        authorization="Bearer t",
        auth_label="bearer token",
        params=(("n", "1"),),
    )
    bare = request.without_authorization()
    assert (bare.authorization, bare.auth_label) == (None, "")
    assert (bare.method, bare.url, bare.params, bare.role) == (
        "GET",
        request.url,
        (("n", "1"),),
        "registry",
    )
    assert request.max_body == DEFAULT_MAX_BODY == 64 * 1024


def test_role_text() -> None:
    assert role_text("registry") == "registry"
    assert role_text("token") == "token service"
