"""`zenml service-connector list-resources --resource-type docker-registry` lists our connectors.

ZenML's store builds each connector from a model without its secret values there, so out of
the box every docker connector fails with "username/password Field required" (locally) or is
left out (behind a server). Our class fetches the secrets again inside that one store call
(see `zenml_docker_connector.glue.resource_listing`); these tests run it on a local store and
through a real ZenML server, and check that no secret comes back.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from testbed.leaks import assert_no_secret
from testbed.zenml_fixtures import ZenSubprocess, create_docker_connector, output_of
from testbed.zenml_server_fixture import ZenServer

LIST_RESOURCES = ("service-connector", "list-resources", "--resource-type", "docker-registry")


def _rows(output: str, name: str) -> list[str]:
    return [line for line in output.splitlines() if name in line]


def _register_args(name: str, registry: Any) -> tuple[str, ...]:
    return (
        "service-connector",
        "register",
        name,
        "--type=docker",
        f"--username={registry.username}",
        f"--password={registry.password}",
        f"--registry={registry.url}",
    )


def test_list_resources_on_the_local_store(
    zenml_subprocess: ZenSubprocess, htpasswd_registry: Any, unique_name: str
) -> None:
    """A ZenML home of its own: the listing verifies every docker connector in the store,
    and the session's shared store holds connectors to hosts that are not on this machine."""
    registry = htpasswd_registry
    registered = zenml_subprocess.run(*_register_args(unique_name, registry))
    assert registered.returncode == 0, output_of(registered)
    listed = zenml_subprocess.run(*LIST_RESOURCES)
    out = output_of(listed)
    assert listed.returncode == 0, out
    assert "Field required" not in out, out
    (row,) = _rows(out, unique_name)
    assert registry.host in row, out
    assert_no_secret([out], registry.password)


def test_list_resources_outside_the_listing_keeps_secrets_out(
    htpasswd_registry: Any, unique_name: str, no_docker_daemon: None
) -> None:
    """A model fetched without secrets still cannot be used outside `list-resources`."""
    from zenml.client import Client
    from zenml.service_connectors.service_connector_registry import (
        service_connector_registry,
    )

    registry = htpasswd_registry
    create_docker_connector(unique_name, registry.username, registry.password, registry.url)
    model = Client().get_service_connector(unique_name, allow_name_prefix_match=False)
    with pytest.raises(ValueError, match="Field required") as caught:
        service_connector_registry.instantiate_connector(model=model)
    assert_no_secret([str(caught.value)], htpasswd_registry.password)


@pytest.mark.e2e
def test_list_resources_behind_a_zenml_server(
    htpasswd_registry: Any, zenml_server: ZenServer, tmp_path: Path
) -> None:
    """The server lists (it runs our class); the client's own plugin is off to prove it."""
    registry = htpasswd_registry
    name = f"listed-{secrets.token_hex(4)}"
    client = zenml_server.client(tmp_path, plugin=False)
    registered = client.cli(*_register_args(name, registry))
    assert registered.returncode == 0, output_of(registered)

    listed = client.cli(*LIST_RESOURCES)
    out = output_of(listed)
    assert listed.returncode == 0, out
    (row,) = _rows(out, name)
    assert registry.host in row, out

    api = zenml_server.api_get("/service_connectors/resources?resource_type=docker-registry")
    ours = [entry for entry in api if entry["name"] == name]
    assert [(e["error"], [r["resource_ids"] for r in e["resources"]]) for e in ours] == [
        (None, [[registry.host]])
    ]
    assert_no_secret([out, json.dumps(api), zenml_server.log()], registry.password)
