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
        errors.RegistryOutOfReachError,
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


def test_out_of_reach_is_one_kind_of_unreachable_and_not_tls() -> None:
    """Callers that catch "unreachable" keep working; the glue tells "out of reach" apart."""
    error = errors.RegistryOutOfReachError("r.example", "Cannot reach r.example.")
    assert isinstance(error, errors.RegistryUnreachableError) and not error.remembered
    assert errors.RegistryOutOfReachError("r.example", "x", remembered=True).remembered
    assert not issubclass(errors.RegistryTLSError, errors.RegistryUnreachableError)
