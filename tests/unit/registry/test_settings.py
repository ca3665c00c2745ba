"""`ConnectionSettings`: how to reach a registry, in one value."""

from __future__ import annotations

from zenml_docker_connector.registry.settings import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    ConnectionSettings,
    Timeouts,
)


def test_the_deadline_defaults_to_connect_plus_read() -> None:
    assert Timeouts().deadline == DEFAULT_CONNECT_TIMEOUT + DEFAULT_READ_TIMEOUT == 25.0
    assert Timeouts(connect=1, read=2).deadline == 3
    assert Timeouts(connect=1, read=2, total=10).deadline == 10


def test_defaults_are_safe() -> None:
    settings = ConnectionSettings()
    assert settings.insecure is False and settings.cert_dirs is None
    assert settings.timeouts == Timeouts()
