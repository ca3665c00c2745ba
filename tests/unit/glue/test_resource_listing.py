"""When a connector may fetch its own secrets: inside the store's resource listing only."""

from __future__ import annotations

import uuid
from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

from zenml_docker_connector.glue.resource_listing import (
    DEFAULT_LISTING_WORKERS,
    LISTING_WORKERS_ENV,
    _listing,
    listing_resources,
    listing_store,
    listing_workers,
    model_with_secrets,
    prechecked,
)


class Store:
    """Records what it is asked; the keyword is what ZenML 0.85+ stores take."""

    def __init__(self) -> None:
        self.asked: list[tuple[Any, bool]] = []

    def get_service_connector(self, connector_id: Any, expand_secrets: bool = False) -> Any:
        self.asked.append((connector_id, expand_secrets))
        return SimpleNamespace(id=connector_id, with_secrets=expand_secrets)


class OldStore:
    """ZenML 0.60: no `expand_secrets` (its connector class loads the secret itself)."""

    def get_service_connector(self, connector_id: Any, hydrate: bool = True) -> Any:
        raise AssertionError("must not be asked")


def test_outside_the_listing_nothing_is_fetched() -> None:
    assert model_with_secrets(SimpleNamespace(id=uuid.uuid4())) is None


def test_inside_the_listing_the_same_store_fetches_the_secrets() -> None:
    store, connector_id = Store(), uuid.uuid4()
    with listing_resources(store):
        loaded = model_with_secrets(SimpleNamespace(id=connector_id))
        assert model_with_secrets(SimpleNamespace(id=None)) is None  # never stored
        again = model_with_secrets(SimpleNamespace(id=connector_id))  # the loop, after the pass
    assert loaded == SimpleNamespace(id=connector_id, with_secrets=True)
    assert again is loaded
    assert store.asked == [(connector_id, True)]
    assert model_with_secrets(SimpleNamespace(id=connector_id)) is None


def test_stores_without_expand_secrets_are_left_alone() -> None:
    with listing_resources(OldStore()):
        assert model_with_secrets(SimpleNamespace(id=uuid.uuid4())) is None


def test_listing_workers_default_to_eight_and_ignore_nonsense() -> None:
    assert listing_workers({}) == DEFAULT_LISTING_WORKERS == 8
    assert listing_workers({LISTING_WORKERS_ENV: "1"}) == 1
    assert listing_workers({LISTING_WORKERS_ENV: " 3 "}) == 3
    for nonsense in ("0", "-2", "many", ""):
        assert listing_workers({LISTING_WORKERS_ENV: nonsense}) == 8


def test_a_check_run_ahead_is_handed_out_once_and_only_for_the_same_question() -> None:
    connector_id, done = uuid.uuid4(), Future[Any]()
    done.set_result("resources")
    asked = {"resource_type": "docker-registry", "resource_id": None, "list_resources": True}
    assert prechecked(connector_id, asked) is None  # outside a listing
    with listing_resources(Store()):
        listing = _listing.get()
        assert listing is not None
        listing.checked[(connector_id, "docker-registry", None)] = done
        assert prechecked(connector_id, asked | {"list_resources": False}) is None
        assert prechecked(connector_id, asked | {"resource_id": "other"}) is None
        assert prechecked(connector_id, asked | {"extra": 1}) is None
        assert prechecked(uuid.uuid4(), asked) is None
        assert prechecked(connector_id, asked) is done
        assert prechecked(connector_id, asked) is None  # a second verify asks again
    assert listing_store() is None


def test_a_listing_without_a_filter_model_checks_nothing_ahead() -> None:
    store = Store()
    with listing_resources(store, "not a filter", hydrate=True):
        assert listing_store() is store
        listing = _listing.get()
        assert listing is not None and listing.checked == {}
