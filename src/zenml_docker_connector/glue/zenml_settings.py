"""What ZenML's settings say about this process (asked by the connector, so below it)."""

from __future__ import annotations

import os

from zenml.config.global_config import GlobalConfiguration
from zenml.constants import ENV_ZENML_SERVER


def inside_zenml_server() -> bool:
    """Is this process a ZenML server? (ZenML's own test: its `ZENML_SERVER` variable.)"""
    return ENV_ZENML_SERVER in os.environ


def configured_container_engine() -> str | None:
    """ZenML's `container_engine` setting ("docker"/"podman"; ZenML >= 0.94.3), None if unset,
    unsupported or unreadable."""
    try:
        value = getattr(GlobalConfiguration(), "container_engine", None)
    except Exception:  # noqa: BLE001 - an unreadable global config must not break a login
        return None
    text = str(getattr(value, "value", value) or "").strip().lower()
    return text if text in ("docker", "podman") else None
