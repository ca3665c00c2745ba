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

ZenML's loop verifies one connector after another, so a listing would cost the sum of its
checks and every silent registry its whole timeout. Before delegating, `listing_resources`
fetches the page the store call is about to walk (same filter, same permissions), builds our
docker connectors there (secrets loaded by the store's thread, as in the loop) and runs their
`verify` on up to `LISTING_WORKERS_ENV` threads (8; 1 turns it off), each check under its own
deadline. ZenML's loop then builds them again and our `verify` hands back the outcome already
won (value or exception), so resources and errors are those of the sequential pass.
"""

from __future__ import annotations

import contextvars
import inspect
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from zenml.service_connectors.service_connector_registry import (
    service_connector_registry,
)

from zenml_docker_connector.glue import spec

LISTING_WORKERS_ENV = "ZENML_DOCKER_CONNECTOR_LISTING_WORKERS"
DEFAULT_LISTING_WORKERS = 8

CheckKey = tuple[Any, Any, Any]
"""(connector id, resource type, resource id) of one `verify(..., list_resources=True)`."""


@dataclass
class _Listing:
    """One store call: its store, the models it fetched with secrets (by connector id), and
    the checks already run for it (each used once)."""

    store: Any
    loaded: dict[Any, Any] = field(default_factory=dict)
    checked: dict[CheckKey, Future[Any]] = field(default_factory=dict)


_listing: ContextVar[_Listing | None] = ContextVar("zenml_docker_listing", default=None)


@contextmanager
def listing_resources(store: Any, *args: Any, **kwargs: Any) -> Iterator[None]:
    """Mark the current call as `store.list_service_connector_resources(*args, **kwargs)`,
    and verify its docker connectors side by side before ZenML's loop asks for them."""
    listing = _Listing(store)
    token = _listing.set(listing)
    try:
        filter_model = kwargs.get("filter_model", args[0] if args else None)
        workers = listing_workers(os.environ)
        if workers > 1 and hasattr(filter_model, "model_copy"):
            # If the pass ahead cannot even start, ZenML's loop still checks one by one.
            with suppress(Exception):
                listing.checked.update(_check_side_by_side(store, filter_model, workers))
        yield
    finally:
        _listing.reset(token)


def listing_store() -> Any:
    """The store whose resource listing is running in this context, else None."""
    listing = _listing.get()
    return None if listing is None else listing.store


def listing_workers(environ: Mapping[str, str]) -> int:
    """How many checks a listing runs at once; a value that is not a positive integer
    counts as unset rather than failing the listing."""
    value = environ.get(LISTING_WORKERS_ENV, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_LISTING_WORKERS


def prechecked(connector_id: Any, arguments: Mapping[str, Any]) -> Future[Any] | None:
    """The outcome of this very `verify` call, when the listing already ran it (taken out,
    so that a second call asks the registry again)."""
    listing = _listing.get()
    if listing is None or not set(arguments) <= {"resource_type", "resource_id", "list_resources"}:
        return None
    if not arguments.get("list_resources", True):
        return None
    key = (connector_id, arguments.get("resource_type"), arguments.get("resource_id"))
    return listing.checked.pop(key, None)


def _check_side_by_side(store: Any, filter_model: Any, workers: int) -> dict[CheckKey, Future[Any]]:
    """Build and verify, as ZenML's loop will, the docker connectors of the page it walks."""
    resource_type, resource_id = filter_model.resource_type, filter_model.resource_id
    page = store.list_service_connectors(
        filter_model=filter_model.model_copy(update={"resource_id": None})
    )
    connectors = [_built(model) for model in page.items if model.type == spec.CONNECTOR_TYPE]
    ours = [c for c in connectors if getattr(c, "checks_ahead_in_listing", False)]
    if len(ours) < 2:
        return {}
    futures: dict[CheckKey, Future[Any]] = {}
    with ThreadPoolExecutor(max_workers=min(workers, len(ours))) as pool:
        for connector in ours:
            context = contextvars.copy_context()
            futures[(connector.id, resource_type, resource_id)] = pool.submit(
                context.run,
                connector.verify,
                resource_type=resource_type,
                resource_id=resource_id,
                list_resources=True,
            )
    return futures


def _built(model: Any) -> Any:
    """The connector ZenML's loop would build, or None where building fails (the loop then
    fails the same way, and reports it)."""
    with suppress(Exception):  # the loop repeats it and reports what went wrong
        return service_connector_registry.instantiate_connector(model=model)
    return None


def model_with_secrets(model: Any) -> Any | None:
    """The same connector fetched again with its secrets, while resources are being listed.

    None outside `listing_resources`, for models that were never stored (no id), and on
    ZenML versions whose store has no `expand_secrets` (there the connector class loads the
    secret itself, so there is nothing to fix).
    """
    listing = _listing.get()
    connector_id = getattr(model, "id", None)
    if listing is None or connector_id is None:
        return None
    getter = listing.store.get_service_connector
    if "expand_secrets" not in inspect.signature(getter).parameters:
        return None
    # The pass ahead and ZenML's loop build the same connector: one fetch serves both.
    cached = listing.loaded.get(connector_id)
    if cached is not None and getattr(cached, "updated", None) == getattr(model, "updated", None):
        return cached
    loaded = getter(connector_id, expand_secrets=True)
    listing.loaded[connector_id] = loaded
    return loaded
