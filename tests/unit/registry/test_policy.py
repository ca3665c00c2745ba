"""The request policy (`policy.request_policy`): where credentials may go, what a redirect may
do, and which destinations a ZenML server refuses; the request value it decides on and the URL
pieces it compares. Pure decisions, no network."""

from __future__ import annotations

import ipaddress

import pytest

from zenml_docker_connector.errors import (
    DestinationRefusedError,
    InsecureTransportError,
    NotARegistryError,
    RegistryError,
    TokenServiceError,
)
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.policy import (
    ALLOW_PRIVATE_NETWORKS_ENV,
    DEFAULT_MAX_BODY,
    Outgoing,
    PolicyRules,
    Redirect,
    Resolver,
    address_kind,
    base_of,
    host_of,
    origin,
    peer_allowed,
    private_networks_allowed,
    request_policy,
    resolve_addresses,
    role_error,
    role_text,
    same_site,
    scheme_of,
    shown_url,
    v2_root,
)
from zenml_docker_connector.registry.transport import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DEADLINE,
    DEFAULT_READ_TIMEOUT,
    ConnectionSettings,
    Timeouts,
)

BASIC = "Basic dXNlcjpwYXNz"


_DNS: dict[str, tuple[str, ...]] = {
    "auth.example.com": ("93.184.216.34", "2606:2800:220:1::248"),
    "mixed.example.com": ("93.184.216.34", "10.0.0.7"),
    "rebound.example.com": ("::ffff:127.0.0.1",),
    "metadata.example.com": ("169.254.169.254",),
    "localhost": ("127.0.0.1", "::1"),
}
"""What the fake resolver knows; IP literals resolve to themselves, other names to nothing."""


def _resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        return _DNS.get(host, ())


def _rules(
    registry: str,
    *,
    base_url: str | None = None,
    private: bool = False,
    resolve: Resolver = _resolve,
) -> PolicyRules:
    reference = parse_registry_reference(registry)
    return PolicyRules(
        reference, base_url or reference.api_url, refuse_private=private, resolve=resolve
    )


def _basic(url: str) -> Outgoing:
    return Outgoing("GET", url, authorization=BASIC, auth_label="Basic")


def _token_post(url: str) -> Outgoing:
    return Outgoing("POST", url, role="token", form={"password": "pw"}, form_has_credentials=True)


@pytest.mark.parametrize(
    ("registry", "request_", "peer"),
    [
        ("registry.example.com", _basic("https://registry.example.com/v2/"), "any"),
        ("http://registry.example.com", _basic("http://registry.example.com/v2/"), "any"),
        ("http://registry.example.com:5000", _basic("http://registry.example.com:5000/v2/"), "any"),
        ("localhost:5000", _basic("http://localhost:5000/v2/"), "loopback"),
        ("127.0.0.1:5000", _basic("http://127.0.0.1:5000/v2/"), "loopback"),
        ("[::1]:5000", _basic("http://[::1]:5000/v2/"), "loopback"),
        ("app.localhost:5000", _basic("http://app.localhost:5000/v2/"), "loopback"),
        ("localhost:5000", _token_post("http://127.0.0.1:5001/token"), "loopback"),
        ("registry.example.com", _token_post("https://auth.example.com/token"), "any"),
        ("registry.example.com", Outgoing("GET", "http://registry.example.com/v2/"), "any"),
    ],
)
def test_credentials_go_where_the_rules_allow(registry: str, request_: Outgoing, peer: str) -> None:
    decided = request_policy(request_, _rules(registry))
    assert decided.peer == peer
    assert decided.authorization == request_.authorization


@pytest.mark.parametrize(
    ("registry", "request_", "words"),
    [
        # An https registry never gets credentials in clear, not even on loopback addresses.
        ("registry.example.com", _basic("http://registry.example.com/v2/"), "over plain HTTP"),
        ("registry.example.com", _token_post("http://127.0.0.1:5001/token"), "plain-HTTP"),
        # A registry named http:// is not a loopback registry: its realm must be https.
        ("http://registry.example.com", _token_post("http://registry.example.com:5001/t"), "realm"),
        ("http://registry.example.com", _token_post("http://127.0.0.1:5001/token"), "realm"),
        ("http://registry.example.com", _basic("http://other.example.com/v2/"), "plain HTTP"),
        # A loopback registry's plain-HTTP realm must be on loopback too.
        ("localhost:5000", _token_post("http://10.0.0.1/token"), "realm"),
    ],
)
def test_credentials_in_clear_are_refused_before_sending(
    registry: str, request_: Outgoing, words: str
) -> None:
    with pytest.raises(InsecureTransportError) as caught:
        request_policy(request_, _rules(registry))
    assert words in str(caught.value) and "dXNlcjpwYXNz" not in str(caught.value)


def test_a_loopback_registry_that_speaks_tls_needs_an_https_realm() -> None:
    rules = _rules("127.0.0.1:5000", base_url="https://127.0.0.1:5000")
    with pytest.raises(InsecureTransportError, match="plain-HTTP token realm"):
        request_policy(_token_post("http://127.0.0.1:5001/token"), rules)


@pytest.mark.parametrize(
    ("source", "target", "same"),
    [
        ("https://r.example/v2/", "https://r.example/v2/x", True),
        ("https://r.example/v2/", "https://r.example:443/other", True),
        ("http://r.example/v2/", "https://r.example/v2/", True),  # 80 -> 443 upgrade
        ("http://r.example:5000/v2/", "https://r.example:5001/v2/", False),  # another port
        ("http://r.example:5000/v2/", "https://r.example:5000/v2/", False),
        ("https://r.example/v2/", "http://r.example/v2/", False),  # downgrade
        ("https://r.example/v2/", "https://r.example:8443/v2/", False),
        ("https://r.example/v2/", "https://cdn.example/blob", False),
        ("https://R.Example/v2/", "https://r.example/v2/", True),
    ],
)
def test_same_site_is_the_origin_or_the_default_port_upgrade(
    source: str, target: str, same: bool
) -> None:
    assert same_site(source, target) is same


def test_registry_redirects_stay_within_the_registry_origin() -> None:
    rules = _rules("registry.example.com")
    moved = request_policy(
        _basic("https://registry.example.com/v2/"),
        rules,
        Redirect(307, "https://registry.example.com/v2/", "https://registry.example.com/v2/x"),
    )
    assert moved.url == "https://registry.example.com/v2/x" and moved.authorization == BASIC
    for target in ("https://cdn.example.com/v2/", "https://registry.example.com:8443/v2/"):
        for request_ in (
            _basic("https://registry.example.com/v2/"),
            Outgoing("GET", "https://registry.example.com/v2/"),
        ):
            with pytest.raises(NotARegistryError, match="another origin"):
                request_policy(
                    request_, rules, Redirect(302, "https://registry.example.com/v2/", target)
                )


def test_an_authenticated_http_request_upgrades_only_on_the_default_ports() -> None:
    rules = _rules("http://registry.example.com")
    upgraded = request_policy(
        _basic("http://registry.example.com/v2/"),
        rules,
        Redirect(301, "http://registry.example.com/v2/", "https://registry.example.com/v2/"),
    )
    assert upgraded.authorization == BASIC and upgraded.url.startswith("https://")
    port_rules = _rules("http://registry.example.com:5000")
    with pytest.raises(NotARegistryError):
        request_policy(
            _basic("http://registry.example.com:5000/v2/"),
            port_rules,
            Redirect(
                301, "http://registry.example.com:5000/v2/", "https://registry.example.com:5001/"
            ),
        )


def test_token_requests_with_credentials_never_leave_the_realm_origin() -> None:
    rules = _rules("registry.example.com")
    source = "https://auth.example.com/token"
    for request_ in (
        _token_post(source),
        Outgoing("GET", source, role="token", authorization=BASIC),
    ):
        for target in ("https://other.example.com/t", "https://auth.example.com:8443/token"):
            with pytest.raises(InsecureTransportError, match="refusing to send them there"):
                request_policy(request_, rules, Redirect(307, source, target))
    # An anonymous token request may be redirected elsewhere (its body is never quoted).
    anonymous = Outgoing("GET", source, role="token", params=(("service", "s"),))
    moved = request_policy(anonymous, rules, Redirect(302, source, "https://cdn.example.com/t"))
    assert moved.url == "https://cdn.example.com/t" and moved.params == ()


def test_see_other_and_post_redirects_drop_the_body() -> None:
    rules = _rules("registry.example.com")
    source = "https://auth.example.com/token"
    for status in (301, 302, 303):
        after = request_policy(_token_post(source), rules, Redirect(status, source, source + "2"))
        assert (after.method, after.form, after.form_has_credentials) == ("GET", None, False)
    kept = request_policy(_token_post(source), rules, Redirect(308, source, source + "/v2"))
    assert kept.method == "POST" and kept.form_has_credentials


def test_redirects_to_other_schemes_are_refused() -> None:
    with pytest.raises(TokenServiceError, match="unsupported location"):
        request_policy(
            Outgoing("GET", "https://auth.example.com/t", role="token"),
            _rules("registry.example.com"),
            Redirect(302, "https://auth.example.com/t", "file:///etc/passwd"),
        )
    with pytest.raises(RegistryError, match="unsupported location"):
        request_policy(
            Outgoing("GET", "https://registry.example.com/v2/"),
            _rules("registry.example.com"),
            Redirect(302, "https://registry.example.com/v2/", "gopher://registry.example.com/"),
        )


def test_inside_a_server_other_hosts_must_be_public() -> None:
    rules = _rules("registry.example.com", private=True)
    assert request_policy(_token_post("https://auth.example.com/t"), rules).peer == "public"
    assert request_policy(_basic("https://registry.example.com/v2/"), rules).peer == "any"
    for url in (
        "https://10.0.0.5/token",
        "https://169.254.169.254/latest",
        "https://[fd00::1]/token",
        "https://[::ffff:127.0.0.1]/token",
    ):
        with pytest.raises(DestinationRefusedError) as caught:
            request_policy(Outgoing("GET", url, role="token"), rules)
        assert ALLOW_PRIVATE_NETWORKS_ENV in str(caught.value)
    outside = _rules("registry.example.com")
    assert request_policy(Outgoing("GET", "https://10.0.0.5/t", role="token"), outside).peer == (
        "any"
    )


_REFUSED_HOSTS = [
    "127.0.0.1",  # loopback literal
    "localhost",  # a name for it
    "nothing-here.invalid",  # no address at all
    "mixed.example.com",  # one public address is not enough: every address must be
    "rebound.example.com",  # an IPv4-mapped loopback address
    "metadata.example.com",  # link-local
    "2130706433",  # 127.0.0.1 as numbers inet_aton (and getaddrinfo) accept ...
    "0x7f000001",
    "127.1",
    "017700000001",
    "1572395042",  # ... and a public address so spelled: no such spelling is ever needed
]


def test_inside_a_server_a_host_is_resolved_and_judged_before_any_connection() -> None:
    """One refusal, the same text (but for the URL) whatever the host and its state, so a
    registry's realm or redirect cannot probe which internal ports are open or names exist."""
    rules = _rules("registry.example.com", private=True)
    assert request_policy(_token_post("https://auth.example.com/t"), rules).peer == "public"
    messages = set()
    for host in _REFUSED_HOSTS:
        for request in (
            Outgoing("GET", f"http://{host}:8080/t", role="token"),
            _token_post(f"https://{host}:8080/t"),
        ):
            with pytest.raises(DestinationRefusedError) as caught:
                request_policy(request, rules)
            messages.add(str(caught.value).replace(base_of(request.url), "URL"))
    assert len(messages) == 1, messages
    (message,) = messages
    assert message.startswith("Refusing to contact URL/t for registry registry.example.com: ")
    assert ALLOW_PRIVATE_NETWORKS_ENV in message


def test_a_redirect_target_is_resolved_and_judged_before_it_is_followed() -> None:
    rules = _rules("registry.example.com", private=True)
    source = "https://auth.example.com/t"
    for host in _REFUSED_HOSTS:
        with pytest.raises(DestinationRefusedError):
            request_policy(
                Outgoing("GET", source, role="token"),
                rules,
                Redirect(302, source, f"https://{host}/t"),
            )


def test_only_a_servers_public_rule_resolves_names() -> None:
    """Outside a server, and for the registry's own host, nothing is looked up in advance."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> tuple[str, ...]:
        asked.append(host)
        return ()

    outside = _rules("registry.example.com", resolve=resolve)
    assert request_policy(_token_post("https://nothing-here.invalid/t"), outside).peer == "any"
    inside = _rules("registry.example.com", private=True, resolve=resolve)
    assert request_policy(_basic("https://registry.example.com/v2/"), inside).peer == "any"
    assert request_policy(_token_post("https://registry.example.com:8443/t"), inside).peer == "any"
    assert asked == []
    with pytest.raises(DestinationRefusedError):
        request_policy(_token_post("https://auth.example.com:8443/t"), inside)
    assert asked == ["auth.example.com"]


def test_resolve_addresses_returns_every_address_or_none() -> None:
    assert resolve_addresses("127.0.0.1", 80) == ("127.0.0.1",)
    assert resolve_addresses("::1", 80) == ("::1",)
    assert resolve_addresses("bad\x00name", 80) == ()
    assert resolve_addresses("a" * 300, 80) == ()


def test_inside_a_server_the_registry_host_itself_stays_reachable() -> None:
    rules = _rules("127.0.0.1:5000", private=True)
    same_host = request_policy(_token_post("http://127.0.0.1:5001/token"), rules)
    assert same_host.peer == "loopback"
    with pytest.raises(DestinationRefusedError, match="loopback"):
        request_policy(_token_post("http://localhost:5001/token"), rules)
    with pytest.raises(DestinationRefusedError):
        request_policy(
            Outgoing("GET", "http://127.0.0.1:5001/token", role="token"),
            rules,
            Redirect(302, "http://127.0.0.1:5001/token", "http://127.0.0.2:8080/internal"),
        )


def test_messages_show_network_urls_through_the_given_function() -> None:
    reference = parse_registry_reference("registry.example.com")
    rules = PolicyRules(reference, reference.api_url, show=lambda url: "<shown>")
    with pytest.raises(NotARegistryError) as caught:
        request_policy(
            Outgoing("GET", "https://registry.example.com/v2/"),
            rules,
            Redirect(302, "https://registry.example.com/v2/", "https://x.example/\x1b[2J"),
        )
    assert "<shown>" in str(caught.value) and "\x1b" not in str(caught.value)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("10.1.2.3", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("0.0.0.0", "private"),
        ("224.0.0.1", "private"),
        ("93.184.216.34", "public"),
        ("2606:4700::1111", "public"),
    ],
)
def test_address_kinds(address: str, kind: str) -> None:
    assert address_kind(address) == kind
    assert peer_allowed(address, "any")
    assert peer_allowed(address, "public") is (kind == "public")
    assert peer_allowed(address, "loopback") is (kind == "loopback")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://r.example/token?service=s&account=alice", "https://r.example/token"),
        ("https://alice:pw@r.example:5000/v2/", "https://r.example:5000/v2/"),
        ("http://[::1]:5000/v2/#frag", "http://[::1]:5000/v2/"),
    ],
)
def test_shown_url_drops_query_fragment_and_user_info(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def test_base_and_v2_root() -> None:
    assert base_of("https://u:p@r.example:5000/v2/x?y=1") == "https://r.example:5000"
    assert v2_root("https://r.example:5000") == "https://r.example:5000/v2/"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://R.Example/v2/", ("https", "r.example", 443)),
        ("HTTP://r.example/v2/", ("http", "r.example", 80)),
        ("https://r.example:8443/", ("https", "r.example", 8443)),
        ("http://[::1]:5000/", ("http", "::1", 5000)),
    ],
)
def test_origin_fills_in_default_ports(url: str, expected: tuple[str, str, int]) -> None:
    assert origin(url) == expected


def test_host_and_scheme() -> None:
    assert host_of("http://[::1]:5000/v2/") == "[::1]"
    assert host_of("https://Registry.Example:5000/") == "registry.example"
    assert scheme_of("HTTPS://r.example/") == "https"


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
    assert form.max_body == DEFAULT_MAX_BODY == 64 * 1024


def test_role_text() -> None:
    assert role_text("registry") == "registry"
    assert role_text("token") == "token service"


def test_defaults_are_safe() -> None:
    settings = ConnectionSettings()
    assert settings.insecure is False and settings.cert_dirs is None
    assert settings.timeouts == Timeouts(DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT)
    assert settings.deadline == DEFAULT_DEADLINE == 30.0
    assert settings.refuse_private_destinations is False  # the glue turns it on in a server


@pytest.mark.parametrize(
    ("value", "allowed"),
    [("true", True), ("1", True), (" YES ", True), ("on", True), ("", False), ("no", False)],
)
def test_private_networks_are_allowed_only_by_an_explicit_setting(
    value: str, allowed: bool
) -> None:
    assert private_networks_allowed({ALLOW_PRIVATE_NETWORKS_ENV: value}) is allowed
    assert private_networks_allowed({}) is False


# --- what each refusal says, and about which registry ------------------------------------------

_REG = "registry.example.com"
_PRIVATE = (
    f"Refusing to contact https://10.0.0.1/t for registry {_REG}: inside a ZenML server the "
    "connector contacts hosts other than the registry's own only when all their addresses are "
    "public, and this one has a loopback, link-local or private address, does not resolve, or is "
    "an IP address in an unusual spelling (a registry could otherwise make the server probe its "
    "internal network). If this service really is on the server's private network, set "
    f"{ALLOW_PRIVATE_NETWORKS_ENV}=true in the server's environment."
)


@pytest.mark.parametrize(
    ("registry", "request_", "redirect", "kind", "message"),
    [
        (
            _REG,
            Outgoing("GET", f"https://{_REG}/v2/"),
            Redirect(302, f"https://{_REG}/v2/", "gopher://x/"),
            RegistryError,
            f"The registry of registry {_REG} redirected to an unsupported location gopher://x/.",
        ),
        (
            _REG,
            Outgoing("GET", "https://auth.example.com/t", role="token"),
            Redirect(302, "https://auth.example.com/t", "ftp://x/"),
            TokenServiceError,
            f"The token service of registry {_REG} redirected to an unsupported location ftp://x/.",
        ),
        (
            _REG,
            Outgoing("GET", f"https://{_REG}/v2/"),
            Redirect(302, f"https://{_REG}/v2/", "https://cdn.example.com/v2/"),
            NotARegistryError,
            f"Registry {_REG} redirected GET https://{_REG}/v2/ to another origin, "
            "https://cdn.example.com/v2/. The connector only takes the registry's own answers; "
            "if the registry has moved, name it by its new address.",
        ),
        (
            _REG,
            _token_post("https://auth.example.com/t"),
            Redirect(307, "https://auth.example.com/t", "https://other.example.com/t"),
            InsecureTransportError,
            f"The token service of registry {_REG} redirected a request carrying credentials to "
            "another origin, https://other.example.com/t; refusing to send them there. Fix the "
            "registry's token realm to name the token service directly.",
        ),
        (
            _REG,
            _token_post("http://auth.example.com/t"),
            None,
            InsecureTransportError,
            f"Registry {_REG} names a plain-HTTP token realm http://auth.example.com/t; "
            "credentials go to a token service over https only (plain HTTP is accepted only when "
            "the registry itself is a plain-HTTP loopback registry and its token service is on "
            "loopback too). Fix the registry's token realm.",
        ),
        (
            _REG,
            _basic(f"http://{_REG}/v2/"),
            None,
            InsecureTransportError,
            f"Refusing to send credentials for registry {_REG} over plain HTTP to "
            f"http://{_REG}/v2/: use https, or name the registry with http:// if it really is a "
            "plain-HTTP registry on a network you trust.",
        ),
    ],
)
def test_each_refusal_names_its_registry_and_says_what_to_do(
    registry: str,
    request_: Outgoing,
    redirect: Redirect | None,
    kind: type[RegistryError],
    message: str,
) -> None:
    with pytest.raises(RegistryError) as caught:
        request_policy(request_, _rules(registry), redirect)
    assert type(caught.value) is kind
    assert (caught.value.registry, str(caught.value)) == (registry, message)


def test_a_private_destination_is_refused_with_one_text_naming_the_registry() -> None:
    with pytest.raises(DestinationRefusedError) as caught:
        request_policy(_token_post("https://10.0.0.1/t"), _rules(_REG, private=True))
    assert (caught.value.registry, str(caught.value)) == (_REG, _PRIVATE)


def test_inside_a_server_public_ip_literals_are_contacted() -> None:
    rules = _rules(_REG, private=True)
    for url in ("https://8.8.8.8/t", "https://[2001:4860:4860::8888]/t"):
        assert request_policy(_token_post(url), rules).peer == "public"


def test_inside_a_server_a_loopback_name_is_refused_whatever_it_resolves_to() -> None:
    """A plain-HTTP loopback realm must reach loopback; inside a server it is refused even
    when a resolver (DNS) says the name is public."""
    rules = _rules("localhost:5000", private=True, resolve=lambda host, port: ("93.184.216.34",))
    with pytest.raises(DestinationRefusedError):
        request_policy(_token_post("http://evil.localhost:5001/token"), rules)


def test_inside_a_server_an_ip_address_in_another_spelling_is_refused_even_if_public() -> None:
    """`134744072` is 8.8.8.8 to `inet_aton` (and so to getaddrinfo): refused as a disguise."""
    rules = _rules(_REG, private=True, resolve=lambda host, port: ("8.8.8.8",))
    for host in ("134744072", "0x08080808", "8.8.2056"):
        with pytest.raises(DestinationRefusedError):
            request_policy(_token_post(f"https://{host}/t"), rules)


def test_the_base_url_drops_user_information_even_with_an_at_sign_in_the_password() -> None:
    url = "https://user:p@ss@registry.example.com:5000/v2/?q=1"
    assert base_of(url) == "https://registry.example.com:5000"
    assert shown_url(url) == "https://registry.example.com:5000/v2/"


def test_role_error_is_the_token_service_error_only_for_token_requests() -> None:
    token = role_error(_REG, "token", "m")
    registry = role_error(_REG, "registry", "m")
    assert type(token) is TokenServiceError and type(registry) is NotARegistryError
    assert token.registry == registry.registry == _REG
