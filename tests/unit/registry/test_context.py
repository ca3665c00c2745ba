"""`CheckContext`: what every step of one check shares."""

from __future__ import annotations

from testbed.local_http import registry_ok
from testbed.loopback import Loopback, check_context
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.registry.outgoing import Outgoing


def test_the_context_names_the_registry_and_shares_the_step_log() -> None:
    # No request is made, so the registry need not exist.
    context = check_context("https://R.example:5000/ns", Credentials("u", "p"))
    assert context.registry == "r.example:5000"
    assert context.steps is context.transport.steps
    context.steps.append("a step")
    assert context.transport.steps == ["a step"]
    assert "'p'" not in repr(context.credentials)


def test_the_transport_logs_its_requests_into_the_context(loopback: Loopback) -> None:
    context = loopback.context(lambda seen: registry_ok(), Credentials("u", "p"))
    assert context.registry == loopback.netloc
    context.transport.request(Outgoing("GET", f"{loopback.url}/v2/"))
    assert context.steps == [f"GET {loopback.url}/v2/ -> 200"]
