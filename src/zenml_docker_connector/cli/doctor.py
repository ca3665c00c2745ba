"""`zenml-docker doctor CONNECTOR`: show what verifying that connector's registry involves."""

from __future__ import annotations

import click

from zenml_docker_connector.cli.output import declare, fail, success, warn
from zenml_docker_connector.errors import DockerConnectorError
from zenml_docker_connector.glue.zenml_access import load_docker_connector
from zenml_docker_connector.registry.diagnosis import run_doctor
from zenml_docker_connector.registry.verification import AccessQuestion


@click.command("doctor")
@click.argument("connector_name")
@click.option(
    "--repository",
    "-r",
    default=None,
    metavar="NS/REPO",
    help="Also check access to this repository (pull, and push with --push).",
)
@click.option("--push", is_flag=True, help="Check push access to --repository as well.")
def doctor(connector_name: str, repository: str | None, push: bool) -> None:
    """Verify CONNECTOR_NAME's registry afresh and explain every step (no secrets shown)."""
    if push and not repository:
        raise click.UsageError("--push needs --repository NS/REPO.")
    try:
        connector = load_docker_connector(connector_name)
        repo = repository.strip().strip("/") if repository else None
        result = run_doctor(
            connector.registry_reference(),
            connector.credentials(),
            AccessQuestion(repo, push),
            connector.connection_settings(),
        )
    except DockerConnectorError as error:
        raise click.ClickException(str(error)) from None
    except ValueError as error:  # a malformed --repository
        raise click.BadParameter(str(error), param_hint="--repository") from None
    declare(f"Docker connector '{connector_name}':")
    for line in result.lines:
        declare(f"  {line}")
    for warning in result.warnings:
        warn(f"Warning: {warning}")
    if result.error is not None:
        fail(result.error)
    if not result.ok:
        fail("the requested repository access is not granted (see the warnings above).")
    success("The registry accepts this connector's configuration.")
