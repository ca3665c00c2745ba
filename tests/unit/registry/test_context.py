"""`CheckContext`: what every step of one check shares."""

from __future__ import annotations

from testbed.local_http import registry_ok
from testbed.scripted_http import scripted_context
from zenml_docker_connector.credentials import Credentials


def test_the_context_names_the_registry_and_shares_the_step_log() -> None:
    context = scripted_context(
        "https://R.example:5000/ns", lambda seen: registry_ok(), Credentials("u", "p")
    )
    assert context.registry == "r.example:5000"
    assert context.steps is context.transport.steps
    context.steps.append("a step")
    assert context.transport.steps == ["a step"]
    assert "'p'" not in repr(context.credentials)
