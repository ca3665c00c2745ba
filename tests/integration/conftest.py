"""Integration tests: the real services of the test bed, loaded only for this directory.

`testbed.fixtures` holds the registries, token server, dockerd and credential helper,
`zenml_fixtures` the ZenML CLI helpers, `zenml_server_fixture` the ZenML servers,
`cloud_fixtures` moto's AWS API with a local ECR stand-in, and `corpus` prints the bad-input
corpus line. (pytest takes `pytest_plugins` only in the top-level conftest, so they are
imported here by name: pytest finds fixtures and hooks in a conftest's namespace.)
"""

from __future__ import annotations

from testbed.cloud_fixtures import ecr, moto_server
from testbed.corpus import pytest_terminal_summary
from testbed.fixtures import (
    _path_farms,
    credential_helper,
    dockerd,
    htpasswd_registry,
    no_podman,
    open_registry,
    testbed,
    tiny_image,
    tls_registry,
    token_registry,
    token_server,
)
from testbed.round_trips import tls_round_trip_beds
from testbed.zenml_fixtures import unique_name, zen, zenml_subprocess
from testbed.zenml_server_fixture import builtin_zenml_server, zenml_server, zenml_server_pool

__all__ = [
    "_path_farms",
    "builtin_zenml_server",
    "credential_helper",
    "dockerd",
    "ecr",
    "htpasswd_registry",
    "moto_server",
    "no_podman",
    "open_registry",
    "pytest_terminal_summary",
    "testbed",
    "tiny_image",
    "tls_registry",
    "tls_round_trip_beds",
    "token_registry",
    "token_server",
    "unique_name",
    "zen",
    "zenml_server",
    "zenml_server_pool",
    "zenml_subprocess",
]
