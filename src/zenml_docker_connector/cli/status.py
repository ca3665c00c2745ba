"""`zenml-docker status`: which class serves ZenML's `docker` connector type here, and why."""

from __future__ import annotations

import platform

import click

from zenml_docker_connector.cli.output import declare, fail, success


@click.command("status")
def status() -> None:
    """Say whether zenml-docker-connector serves the `docker` type in this environment."""
    import zenml

    from zenml_docker_connector import __version__
    from zenml_docker_connector.glue.zenml_access import docker_type_status

    found = docker_type_status()
    declare(
        f"zenml-docker-connector {__version__}, ZenML {zenml.__version__}, "
        f"Python {platform.python_version()}"
    )
    if found.ours:
        success(f"Connector type 'docker' is served by {found.connector_class} (this plugin).")
        return
    declare(f"Connector type 'docker' is served by {found.connector_class}, not this plugin:")
    for reason in found.reasons:
        declare(f"  - {reason}")
    fail("zenml-docker-connector is not active in this environment.")
