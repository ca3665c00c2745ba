"""The real `Transport` with its socket replaced by a script: registry flows without a network.

Everything above the socket stays real (the credential policy, hand-followed redirects,
request counting, the step log); only `_send_once` answers from a script. Scripts have the
same shape as `local_http` ones (`Seen` in, `Reply` out), so a unit test and a real-socket
integration test can share one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from requests.structures import CaseInsensitiveDict

from testbed.local_http import Reply, Script, Seen
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.references import RegistryReference, parse_registry_reference
from zenml_docker_connector.registry import client as client_module
from zenml_docker_connector.registry.cache import AuthCache
from zenml_docker_connector.registry.context import CheckContext
from zenml_docker_connector.registry.outgoing import Outgoing
from zenml_docker_connector.registry.responses import HttpResponse
from zenml_docker_connector.registry.settings import ConnectionSettings
from zenml_docker_connector.registry.transport import RequestCounter, Transport


def seen_as_server(request: Outgoing) -> Seen:
    """What a server would receive for `request`."""
    parts = urlsplit(request.url)
    query = "&".join(q for q in (parts.query, urlencode(list(request.params))) if q)
    headers = {"Authorization": request.authorization} if request.authorization else {}
    body = urlencode(dict(request.form)).encode() if request.form is not None else b""
    return Seen(request.method, parts.path, query, headers, body)


class ScriptedTransport(Transport):
    """A `Transport` whose every round trip is answered by `script` (no socket is opened)."""

    def __init__(
        self,
        reference: RegistryReference,
        script: Script,
        settings: ConnectionSettings | None = None,
        counter: RequestCounter | None = None,
        steps: list[str] | None = None,
    ) -> None:
        super().__init__(reference, settings, counter, steps)
        self.script = script
        self.sent: list[Outgoing] = []

    @property
    def seen(self) -> list[Seen]:
        return [seen_as_server(request) for request in self.sent]

    def _send_once(self, request: Outgoing) -> HttpResponse:
        self.counter.add(request.role)
        self.sent.append(request)
        reply: Reply = self.script(seen_as_server(request))
        assert not (reply.hang or reply.drip or reply.hang_after_headers), "needs a real socket"
        self._step(request, str(reply.status))
        url = request.url
        if request.params:
            url += ("&" if urlsplit(url).query else "?") + urlencode(list(request.params))
        return HttpResponse(
            url=url,
            status=reply.status,
            headers=CaseInsensitiveDict(dict(reply.headers)),
            www_authenticate=tuple(v for k, v in reply.headers if k.lower() == "www-authenticate"),
            body=reply.body,
        )


def scripted_context(
    registry: str,
    script: Script,
    credentials: Credentials,
    *,
    cache: AuthCache | None = None,
    use_cache: bool = True,
) -> CheckContext:
    """One check's context (the flow modules' input) over a `ScriptedTransport`."""
    reference = parse_registry_reference(registry)
    return CheckContext(
        reference=reference,
        credentials=credentials,
        transport=ScriptedTransport(reference, script),
        cache=cache if cache is not None else AuthCache(),
        use_cache=use_cache,
    )


@contextmanager
def scripted_registry(
    monkeypatch: pytest.MonkeyPatch, script: Script
) -> Iterator[list[ScriptedTransport]]:
    """Every `RegistryClient` created inside gets a `ScriptedTransport` (listed, in order)."""
    made: list[ScriptedTransport] = []

    def factory(reference: RegistryReference, *args: Any, **kwargs: Any) -> ScriptedTransport:
        transport = ScriptedTransport(reference, script, *args, **kwargs)
        made.append(transport)
        return transport

    with monkeypatch.context() as patch:
        patch.setattr(client_module, "Transport", factory)
        yield made


def by_path(routes: dict[str, Callable[[Seen], Reply]]) -> Script:
    """A script answering by request path (`"/v2/"`, `"/token"`, ...); unknown paths 404."""

    def script(seen: Seen) -> Reply:
        route = routes.get(seen.path)
        return route(seen) if route is not None else Reply(404)

    return script
