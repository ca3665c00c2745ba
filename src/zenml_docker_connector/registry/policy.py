"""Where credentials may travel, and what a redirect may take along.

- Credentials (a Basic header, a bearer token, a password in a POST body) go over https, or
  over plain HTTP only to loopback hosts or to the host the user named with `http://`.
- A redirect keeps credentials only on the same origin, or on the same host upgraded from
  http to https; a request whose *body* carries credentials is never re-sent to another
  origin (307/308 keep the body), and 301/302/303 turn a POST into a body-less GET.
"""

from __future__ import annotations

from dataclasses import replace

from zenml_docker_connector.errors import InsecureTransportError
from zenml_docker_connector.references import RegistryReference, is_loopback_host
from zenml_docker_connector.registry.outgoing import Outgoing
from zenml_docker_connector.registry.urls import host_of, origin, scheme_of, shown_url


def credentials_allowed(url: str, reference: RegistryReference) -> bool:
    """May credentials travel to `url` for the registry `reference`?"""
    if scheme_of(url) == "https":
        return True
    host = host_of(url)
    if is_loopback_host(host):
        return True
    return (
        reference.scheme_explicit and reference.scheme == "http" and host == reference.host.lower()
    )


def require_credentials_allowed(request: Outgoing, reference: RegistryReference) -> None:
    """Refuse, before connecting, a request that would send credentials in clear."""
    if request.carries_credentials and not credentials_allowed(request.url, reference):
        registry = reference.resource_id
        raise InsecureTransportError(
            registry,
            f"Refusing to send credentials for registry {registry} over plain HTTP "
            f"to {shown_url(request.url)}: use https, or name the registry with http:// if "
            "it really is a plain-HTTP registry on a network you trust.",
        )


def keeps_credentials(source: str, target: str) -> bool:
    """Same origin, or the same host upgraded from http to https."""
    s_scheme, s_host, s_port = origin(source)
    t_scheme, t_host, t_port = origin(target)
    if (s_scheme, s_host, s_port) == (t_scheme, t_host, t_port):
        return True
    return s_host == t_host and s_scheme == "http" and t_scheme == "https"


def redirected(
    request: Outgoing, status: int, source: str, target: str, reference: RegistryReference
) -> tuple[Outgoing, bool]:
    """The request to send to `target` after a `status` redirect from `source`.

    Returns the next request and whether credentials were dropped on the way.
    """
    same = keeps_credentials(source, target)
    if status in (307, 308):
        if request.form_has_credentials and not same:
            raise InsecureTransportError(
                reference.resource_id,
                f"The token service of registry {reference.resource_id} redirected a request "
                f"carrying credentials to {shown_url(target)}; refusing to resend "
                "them to another host.",
            )
    elif request.method == "POST":
        request = replace(request, method="GET", form=None, form_has_credentials=False)
    request = replace(request, url=target, params=())
    keep = same and credentials_allowed(target, reference)
    if request.authorization is not None and not keep:
        return request.without_authorization(), True
    return request, False
