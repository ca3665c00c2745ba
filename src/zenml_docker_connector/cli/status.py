"""`zenml-docker status`: which class serves ZenML's `docker` connector type here, and why;
and every reliance on another library's internals that did not hold (`patches`)."""

from __future__ import annotations

import platform

import click

from zenml_docker_connector import __version__
from zenml_docker_connector.cli.output import declare, fail, success, warn
from zenml_docker_connector.glue import activation, zenml_access


@click.command("status")
def status() -> None:
    """Say whether zenml-docker-connector serves the `docker` type in this environment."""
    failures = activation.check_patches()
    found = zenml_access.docker_type_status()
    declare(
        f"zenml-docker-connector {__version__}, ZenML {zenml_access.zenml_version()}, "
        f"Python {platform.python_version()}"
    )
    if not found.ours:
        declare(f"Connector type 'docker' is served by {found.connector_class}, not this plugin:")
        for reason in found.reasons:
            declare(f"  - {reason}")
        fail("zenml-docker-connector is not active in this environment.")
    success(f"Connector type 'docker' is served by {found.connector_class} (this plugin).")
    for failure in failures:
        warn(f"Warning: {failure}")
    if failures:
        fail(f"{len(failures)} of zenml-docker-connector's patches did not apply (see above).")
