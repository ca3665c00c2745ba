"""What ZenML's settings say about this process: is it a server, which container engine.

The connector asks these while it works; they sit below it (`zenml_access`, which hands out
connectors, sits above it).
"""

from __future__ import annotations

import os

from zenml.config.global_config import GlobalConfiguration
from zenml.constants import ENV_ZENML_SERVER


def inside_zenml_server() -> bool:
    """Is this process a ZenML server? (ZenML's own test: its `ZENML_SERVER` variable.)"""
    return ENV_ZENML_SERVER in os.environ


def configured_container_engine() -> str | None:
    """ZenML's `container_engine` setting ("docker"/"podman"), None if unset or unsupported.

    The setting exists from ZenML 0.94.3 (`GlobalConfiguration.container_engine`, overridable
    with `ZENML_CONTAINER_ENGINE`); older versions have no such field, so every failure here
    means "not configured".
    """
    try:
        value = getattr(GlobalConfiguration(), "container_engine", None)
    except Exception:  # noqa: BLE001 - an unreadable global config must not break a login
        return None
    text = str(getattr(value, "value", value) or "").strip().lower()
    return text if text in ("docker", "podman") else None
