"""`zenml-docker logout NAME`: undo `zenml service-connector login NAME` on this machine
(ZenML has none): remove exactly that registry's local entries, and say which."""

from __future__ import annotations

import click

from zenml_docker_connector.errors import DockerConnectorError
from zenml_docker_connector.glue.zenml_access import load_docker_connector
from zenml_docker_connector.local.login import logout_local_clients

_ENGINE_CHOICES = ("auto", "docker", "podman", "both")


@click.command("logout")
@click.argument("connector_name")
@click.option(
    "--engine",
    type=click.Choice(_ENGINE_CHOICES),
    default="auto",
    show_default=True,
    help="Which local clients to log out: auto (every place a login may have written), "
    "docker (config.json and its credential helper), podman (auth.json), or both.",
)
def logout(connector_name: str, engine: str) -> None:
    """Remove the local docker/podman login for the registry of CONNECTOR_NAME."""
    try:
        connector = load_docker_connector(connector_name)
        reference = connector.registry_reference()
        result = logout_local_clients(reference, engine=None if engine == "auto" else engine)
    except DockerConnectorError as error:
        raise click.ClickException(str(error)) from None
    if result.nothing_removed:
        click.echo(
            f"Nothing to remove: no local login for {result.registry} found in "
            f"{', '.join(result.checked)}."
        )
    else:
        click.echo(f"Logged out of {result.registry}. Removed:")
        for line in result.removed:
            click.echo(f"  - {line}")
    for note in result.notes:
        click.echo(f"Note: {note}", err=True)
