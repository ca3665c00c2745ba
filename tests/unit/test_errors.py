"""The exception hierarchy callers (and `connector.py`) rely on."""

from __future__ import annotations

import pytest

from zenml_docker_connector import errors


@pytest.mark.parametrize(
    "kind",
    [
        errors.CredentialsRejectedError,
        errors.AccessDeniedError,
        errors.RegistryUnreachableError,
        errors.RegistryTLSError,
        errors.NotARegistryError,
        errors.InsecureTransportError,
        errors.TokenServiceError,
    ],
)
def test_registry_errors_carry_the_registry_and_their_message(kind: type) -> None:
    error = kind("r.example:5000", "Registry r.example:5000 says no.")
    assert isinstance(error, errors.RegistryError) and isinstance(
        error, errors.DockerConnectorError
    )
    assert error.registry == "r.example:5000" and str(error) == "Registry r.example:5000 says no."


def test_local_errors_are_not_registry_errors() -> None:
    for kind in (errors.LocalConfigError, errors.DockerDaemonUnavailableError):
        error = kind("message")
        assert isinstance(error, errors.DockerConnectorError)
        assert not isinstance(error, errors.RegistryError)
