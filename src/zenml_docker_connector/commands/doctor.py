"""`zenml-docker doctor CONNECTOR`: show what verifying that connector's registry involves."""

from __future__ import annotations

import click

from zenml_docker_connector.errors import DockerConnectorError


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
    from zenml_docker_connector.connector_lookup import load_docker_connector
    from zenml_docker_connector.doctor import run_doctor

    if push and not repository:
        raise click.UsageError("--push needs --repository NS/REPO.")
    try:
        connector = load_docker_connector(connector_name)
        reference = connector.registry_reference()
        repo = repository.strip().strip("/") if repository else None
        result = run_doctor(
            reference,
            connector.config.username.get_secret_value(),
            connector.config.password.get_secret_value(),
            repo,
            push,
            bool(getattr(connector.config, "insecure", False)),
        )
    except DockerConnectorError as error:
        raise click.ClickException(str(error)) from None
    except ValueError as error:  # a malformed --repository
        raise click.BadParameter(str(error), param_hint="--repository") from None
    _declare(f"Docker connector '{connector_name}':")
    for line in result.lines:
        _declare(f"  {line}")
    for warning in result.warnings:
        _warn(f"Warning: {warning}")
    if result.error is not None:
        _fail(result.error)
    if not result.ok:
        _fail("the requested repository access is not granted (see the warnings above).")
    _success("The registry accepts this connector's configuration.")


def _declare(text: str) -> None:
    try:
        from zenml.cli.utils import declare
    except ImportError:  # pragma: no cover - zenml is a dependency
        click.echo(text)
        return
    declare(text, markup=False, highlight=False, soft_wrap=True)


def _warn(text: str) -> None:
    try:
        from zenml.cli.utils import warning
    except ImportError:  # pragma: no cover
        click.secho(text, fg="yellow", err=True)
        return
    warning(text, markup=False, highlight=False, soft_wrap=True)


def _success(text: str) -> None:
    try:
        from zenml.cli.utils import success
    except ImportError:  # pragma: no cover
        click.secho(text, fg="green")
        return
    success(text, markup=False, highlight=False, soft_wrap=True)


def _fail(text: str) -> None:
    try:
        from zenml.cli.utils import error
    except ImportError:  # pragma: no cover
        raise click.ClickException(text) from None
    error(text)
