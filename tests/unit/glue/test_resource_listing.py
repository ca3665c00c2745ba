"""When a connector may fetch its own secrets: inside the store's resource listing only."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from zenml_docker_connector.glue.resource_listing import listing_resources, model_with_secrets


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
    assert loaded == SimpleNamespace(id=connector_id, with_secrets=True)
    assert store.asked == [(connector_id, True)]
    assert model_with_secrets(SimpleNamespace(id=connector_id)) is None


def test_stores_without_expand_secrets_are_left_alone() -> None:
    with listing_resources(OldStore()):
        assert model_with_secrets(SimpleNamespace(id=uuid.uuid4())) is None
