"""ZenML glue: `zenml service-connector list-resources` verifies our connectors with secrets.

ZenML's SQL store lists resources by building each connector from a model fetched without
its secret values (seen on 0.85, 0.94 and 0.98, whose stores expand secrets only on request;
0.60's connector class still fetched the secret itself), so every
password connector fails there with "username/password Field required". Our class fixes
that for itself, and only inside that one store call: `activation` wraps
`SqlZenStore.list_service_connector_resources` in `listing_resources(store)`, and
`DockerServiceConnector.from_model` asks `model_with_secrets` for a second try when the
first one failed.

Who may read what does not change. The SQL store runs where the database is: in the user's
own process for a local ZenML, else inside the ZenML server. There the endpoint has already
narrowed the list to connectors the caller may read, and for exactly those connectors
ZenML's own verify endpoint (`PUT /service_connectors/{id}/verify`, READ permission) loads
the secrets on the server and verifies. We do the same; the secrets stay in the store's
process, and what leaves it is a list of resource names or a secret-free error. A client
talking to a server never takes this path (its REST store has no such wrapper), so it gets
nothing the server would not give it.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_listing_store: ContextVar[Any] = ContextVar("zenml_docker_listing_store", default=None)


@contextmanager
def listing_resources(store: Any) -> Iterator[None]:
    """Mark the current call as `store.list_service_connector_resources`."""
    token = _listing_store.set(store)
    try:
        yield
    finally:
        _listing_store.reset(token)


def model_with_secrets(model: Any) -> Any | None:
    """The same connector fetched again with its secrets, while resources are being listed.

    None outside `listing_resources`, for models that were never stored (no id), and on
    ZenML versions whose store has no `expand_secrets` (there the connector class loads the
    secret itself, so there is nothing to fix).
    """
    store = _listing_store.get()
    connector_id = getattr(model, "id", None)
    if store is None or connector_id is None:
        return None
    getter = store.get_service_connector
    if "expand_secrets" not in inspect.signature(getter).parameters:
        return None
    return getter(connector_id, expand_secrets=True)
