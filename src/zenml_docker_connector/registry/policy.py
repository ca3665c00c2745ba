"""The request policy: one function decides, for every request and every redirect, whether it
may be sent, with what, and to which kind of address.

Credentials (a Basic header, a bearer token, a password in a POST body) go only to the
registry's own origin and to the token realm its own challenge named (as Docker sends them);
over https, or over plain HTTP only to a registry the user named with `http://`, or, when the
registry is a plain-HTTP loopback registry, to loopback hosts, and then the connection must
really reach a loopback address (Docker decides on the resolved address, not on a name such
as `*.localhost`).

Redirects: registry requests stay within the registry's origin (or the same host's http->https
upgrade on default ports), so no answer from elsewhere stands for the registry's; token
requests with credentials stay within the realm's origin, anonymous ones may go elsewhere
(their body is then never quoted). 303, and 301/302 after a POST, become a body-less GET.

With `refuse_private` (a ZenML server), hosts other than the registry's must be public, and
that is decided before any connection: the host is resolved (`PolicyRules.resolve`) and every
address must be public; one that does not resolve, or an IPv4 address in another numeric
spelling (`2130706433`, `0x7f000001`, `127.1`), is refused too, all with one message, so
that open, closed, silent and unresolvable destinations cannot be told apart (no port
scanning through a realm or a redirect). The transport checks the connected address again
(DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urlsplit

from zenml_docker_connector.errors import (
    DestinationRefusedError,
    InsecureTransportError,
    NotARegistryError,
    RegistryError,
    TokenServiceError,
)
from zenml_docker_connector.references import RegistryReference, is_loopback_host

ALLOW_PRIVATE_NETWORKS_ENV = "ZENML_DOCKER_CONNECTOR_ALLOW_PRIVATE_NETWORKS"
"""Set to `true` on a ZenML server whose registries' token services live on private networks."""


def private_networks_allowed(environ: Mapping[str, str]) -> bool:
    """Did the operator opt in to private destinations (`ALLOW_PRIVATE_NETWORKS_ENV`)?"""
    value = environ.get(ALLOW_PRIVATE_NETWORKS_ENV, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


# --- URLs -------------------------------------------------------------------------------


def shown_url(url: str) -> str:
    """`scheme://host[:port]/path`: what messages and step logs show (no query, no user info)."""
    return base_of(url) + urlsplit(url).path


def base_of(url: str) -> str:
    """`scheme://host[:port]` of `url`."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def v2_root(base_url: str) -> str:
    return f"{base_url}/v2/"


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with default ports filled in: what "same origin" compares."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def host_of(url: str) -> str:
    """The host as `references` writes it (IPv6 in brackets), for loopback checks."""
    host = (urlsplit(url).hostname or "").lower()
    return f"[{host}]" if ":" in host else host


def scheme_of(url: str) -> str:
    return urlsplit(url).scheme.lower()


# --- the request ------------------------------------------------------------------------

Role = Literal["registry", "token"]
PeerRule = Literal["any", "loopback", "public"]
"""What address a request's connection must reach (decided by `policy`)."""

DEFAULT_MAX_BODY = 64 * 1024
"""Registry answers we read are small JSON documents; larger bodies are refused unread."""


@dataclass(frozen=True)
class Outgoing:
    """A request before it is sent; the `Authorization` value never shows in `repr`."""

    method: str
    url: str
    role: Role = "registry"
    authorization: str | None = field(default=None, repr=False)
    auth_label: str = ""
    """What `authorization` is, for step logs ("Basic", "bearer token"), never its value."""
    form: Mapping[str, str] | None = field(default=None, repr=False)
    form_has_credentials: bool = False
    params: tuple[tuple[str, str], ...] = ()
    max_body: int = DEFAULT_MAX_BODY
    peer: PeerRule = "any"

    @property
    def carries_credentials(self) -> bool:
        return self.authorization is not None or self.form_has_credentials


def role_text(role: Role) -> str:
    return "registry" if role == "registry" else "token service"


# --- the policy -------------------------------------------------------------------------


@dataclass(frozen=True)
class Redirect:
    """A redirect answer: its status, the URL that answered and where it points."""

    status: int
    source: str
    target: str


Resolver = Callable[[str, int], Sequence[str]]
"""Every address a host name (or IP literal) resolves to; empty when it does not resolve."""


def resolve_addresses(host: str, port: int) -> tuple[str, ...]:
    """`socket.getaddrinfo`'s addresses for `host` (what urllib3 will connect to), or ()."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        return ()
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class PolicyRules:
    """What the policy needs to know about the check in progress."""

    reference: RegistryReference
    base_url: str
    """Where the registry's API answers: its named scheme, or https after the fallback."""
    refuse_private: bool = False
    show: Callable[[str], str] = shown_url
    """How messages show a URL that came from the network (redacted and printable)."""
    resolve: Resolver = resolve_addresses
    """How a `public` destination's host is resolved before it is contacted."""

    @property
    def registry(self) -> str:
        return self.reference.resource_id

    @property
    def registry_host(self) -> str:
        """The host the registry's API answers on, as `urls.host_of` writes hosts."""
        return host_of(self.reference.api_url)


def request_policy(
    request: Outgoing, rules: PolicyRules, redirect: Redirect | None = None
) -> Outgoing:
    """The request to send (after `redirect`, when given), with the peer rule its connection
    must satisfy; raises a `RegistryError` naming the registry when it must not be sent."""
    if redirect is not None:
        request = _follow(request, redirect, rules)
    peer: PeerRule = "any"
    if request.carries_credentials and scheme_of(request.url) != "https":
        peer = _plain_http_rule(request, rules)
    return replace(request, peer=_destination_rule(request, rules, peer))


def same_site(source: str, target: str) -> bool:
    """Same origin, or the same host upgraded from http:80 to https:443."""
    (s_scheme, s_host, s_port), (t_scheme, t_host, t_port) = origin(source), origin(target)
    upgrade = (s_scheme, s_port, t_scheme, t_port) == ("http", 80, "https", 443)
    return s_host == t_host and (upgrade or (s_scheme, s_port) == (t_scheme, t_port))


def _follow(request: Outgoing, redirect: Redirect, rules: PolicyRules) -> Outgoing:
    target, show = redirect.target, rules.show
    if scheme_of(target) not in ("http", "https"):
        raise role_error(
            rules.registry,
            request.role,
            f"The {role_text(request.role)} of registry {rules.registry} redirected to an "
            f"unsupported location {show(target)}.",
            RegistryError,
        )
    if not same_site(redirect.source, target):
        if request.role == "registry":
            raise NotARegistryError(
                rules.registry,
                f"Registry {rules.registry} redirected {request.method} {show(redirect.source)} "
                f"to another origin, {show(target)}. The connector only takes the registry's "
                "own answers; if the registry has moved, name it by its new address.",
            )
        if request.carries_credentials:
            raise InsecureTransportError(
                rules.registry,
                f"The token service of registry {rules.registry} redirected a request carrying "
                f"credentials to another origin, {show(target)}; refusing to send them there. "
                "Fix the registry's token realm to name the token service directly.",
            )
    if redirect.status == 303 or (redirect.status in (301, 302) and request.method == "POST"):
        request = replace(request, method="GET", form=None, form_has_credentials=False)
    return replace(request, url=target, params=())


def _plain_http_rule(request: Outgoing, rules: PolicyRules) -> PeerRule:
    """Credentials over plain HTTP: where they may go, or an `InsecureTransportError`."""
    reference, host = rules.reference, host_of(request.url)
    named_http = reference.scheme_explicit and reference.scheme == "http"
    if request.role == "registry" and named_http and host == rules.registry_host:
        return "any"
    loopback_registry = scheme_of(rules.base_url) == "http" and is_loopback_host(
        rules.registry_host
    )
    if loopback_registry and is_loopback_host(host):
        return "loopback"
    if request.role == "token":
        raise InsecureTransportError(
            rules.registry,
            f"Registry {rules.registry} names a plain-HTTP token realm "
            f"{rules.show(request.url)}; credentials go to a token service over https only "
            "(plain HTTP is accepted only when the registry itself is a plain-HTTP loopback "
            "registry and its token service is on loopback too). Fix the registry's token realm.",
        )
    raise InsecureTransportError(
        rules.registry,
        f"Refusing to send credentials for registry {rules.registry} over plain HTTP to "
        f"{rules.show(request.url)}: use https, or name the registry with http:// if it "
        "really is a plain-HTTP registry on a network you trust.",
    )


def _destination_rule(request: Outgoing, rules: PolicyRules, peer: PeerRule) -> PeerRule:
    """Inside a ZenML server, hosts other than the registry's must be public: judged here,
    before any connection, on every address the host resolves to (and again by the
    transport on the address connected to)."""
    host = host_of(request.url)
    if not rules.refuse_private or host == rules.registry_host:
        return peer
    name = host.strip("[]")
    if peer == "loopback" or _other_ipv4_spelling(name):
        raise private_destination_error(rules, request.url)
    addresses = rules.resolve(name, origin(request.url)[2])
    if not addresses or not all(peer_allowed(address, "public") for address in addresses):
        raise private_destination_error(rules, request.url)
    return "public"


def _other_ipv4_spelling(host: str) -> bool:
    """An IPv4 address as `inet_aton` (and so getaddrinfo) reads it, but not dotted decimal
    (`2130706433`, `0x7f000001`, `127.1`, `017700000001`): never needed, only a disguise."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return False
    try:
        socket.inet_aton(host)
    except (OSError, ValueError):
        return False
    return True


def private_destination_error(rules: PolicyRules, url: str) -> RegistryError:
    """Why a request to `url` is refused inside a ZenML server: one text for every reason
    (the URL aside), because telling them apart would tell which internal ports are open
    and which internal names exist."""
    return DestinationRefusedError(
        rules.registry,
        f"Refusing to contact {rules.show(url)} for registry {rules.registry}: inside a ZenML "
        "server the connector contacts hosts other than the registry's own only when all "
        "their addresses are public, and this one has a loopback, link-local or private "
        "address, does not resolve, or is an IP address in an unusual spelling (a registry "
        "could otherwise make the server probe its internal network). If this service really "
        f"is on the server's private network, set {ALLOW_PRIVATE_NETWORKS_ENV}=true in the "
        "server's environment.",
    )


def address_kind(address: str) -> str:
    """ "public", "loopback", "link-local" or "private" (anything else not globally routable,
    multicast included); IPv4-mapped IPv6 addresses count as their IPv4 address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    return "public" if ip.is_global and not ip.is_multicast else "private"


def peer_allowed(address: str, peer: PeerRule) -> bool:
    if peer == "any":
        return True
    return address_kind(address) == peer


def role_error(
    registry: str, role: Role, message: str, other: type[RegistryError] = NotARegistryError
) -> RegistryError:
    """`TokenServiceError` for what a token service did, else `other`."""
    return (TokenServiceError if role == "token" else other)(registry, message)
