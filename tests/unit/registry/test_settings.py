"""`ConnectionSettings`: how to reach a registry, in one value."""

from __future__ import annotations

import pytest

from zenml_docker_connector.registry.settings import (
    ALLOW_PRIVATE_NETWORKS_ENV,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DEADLINE,
    DEFAULT_READ_TIMEOUT,
    ConnectionSettings,
    Timeouts,
    private_networks_allowed,
)


def test_defaults_are_safe() -> None:
    settings = ConnectionSettings()
    assert settings.insecure is False and settings.cert_dirs is None
    assert settings.timeouts == Timeouts(DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT)
    assert settings.deadline == DEFAULT_DEADLINE == 30.0
    assert settings.refuse_private_destinations is False  # the glue turns it on in a server


@pytest.mark.parametrize(
    ("value", "allowed"),
    [("true", True), ("1", True), (" YES ", True), ("on", True), ("", False), ("no", False)],
)
def test_private_networks_are_allowed_only_by_an_explicit_setting(
    value: str, allowed: bool
) -> None:
    assert private_networks_allowed({ALLOW_PRIVATE_NETWORKS_ENV: value}) is allowed
    assert private_networks_allowed({}) is False
