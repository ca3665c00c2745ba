"""`zenml-docker pull-secret CONNECTOR`: a Kubernetes image pull secret, ready for kubectl.

Standard output carries the manifest alone (or nothing, with `--file`); every message goes to
standard error. Nothing is emitted unless the registry accepted the credentials.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import click

from zenml_docker_connector.cli.output import logs_to_stderr
from zenml_docker_connector.errors import DockerConnectorError
from zenml_docker_connector.glue.pull_secrets import create_pull_secret
from zenml_docker_connector.kubernetes.names import (
    DEFAULT_NAME_FORM,
    check_namespace,
    check_secret_name,
)
from zenml_docker_connector.kubernetes.pull_secret import format_timestamp
from zenml_docker_connector.kubernetes.render import FORMATS, render, write_private_file

_Callback = Callable[[click.Context, click.Parameter, "str | None"], "str | None"]


def _checked(check: Callable[[str], str]) -> _Callback:
    """A click callback running a `names` check, so a bad name fails before ZenML is asked."""

    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check(value)
        except ValueError as error:
            raise click.BadParameter(str(error)) from None

    return callback


@click.command("pull-secret")
@click.argument("connector_name")
@click.option(
    "--name",
    callback=_checked(check_secret_name),
    help=f"Secret name. Default: derived from the connector ({DEFAULT_NAME_FORM}), the same "
    "on every run.",
)
@click.option(
    "--namespace",
    "-n",
    callback=_checked(check_namespace),
    help="Namespace written into the manifest. Default: none (kubectl's current namespace).",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(FORMATS),
    default="yaml",
    show_default=True,
    help="Manifest format.",
)
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the manifest to this file (mode 0600, replaced atomically) instead of "
    "standard output.",
)
@click.option(
    "--resource-id",
    metavar="REGISTRY",
    help="Which registry, for a connector that serves several (e.g. an Azure connector).",
)
def pull_secret(
    connector_name: str,
    name: str | None,
    namespace: str | None,
    output: str,
    path: Path | None,
    resource_id: str | None,
) -> None:
    """Make a kubernetes.io/dockerconfigjson Secret from CONNECTOR_NAME's registry credentials.

    The credentials are verified against the registry first. Apply the result with
    `zenml-docker pull-secret CONNECTOR_NAME | kubectl apply -f -` and name the Secret in
    `KubernetesPodSettings.image_pull_secrets`.
    """
    try:
        with logs_to_stderr():
            secret = create_pull_secret(
                connector_name, name=name, namespace=namespace, resource_id=resource_id
            )
        text = render(secret.manifest, output)
        if path is not None:
            written = write_private_file(path, text)
    except DockerConnectorError as error:
        raise click.ClickException(str(error)) from None
    if path is None:
        click.echo(text, nl=False)
    else:
        click.echo(
            f"Wrote Secret '{secret.name}' for {secret.registry} to {written} (mode 0600). "
            f"Apply it with: kubectl apply -f {written}",
            err=True,
        )
    if secret.expires_at is not None:
        click.echo(refresh_notice(connector_name, secret.expires_at), err=True)


def refresh_notice(connector_name: str, expires_at: datetime, now: datetime | None = None) -> str:
    """When short-lived credentials stop working, and what to run before then."""
    left = expires_at - (now or datetime.now(timezone.utc))
    minutes = max(int(left.total_seconds() // 60), 0)
    return (
        f"Note: the registry credentials in this Secret expire at "
        f"{format_timestamp(expires_at)} (in {minutes // 60} h {minutes % 60} min). Refresh "
        f"the Secret before then: run `zenml-docker pull-secret {connector_name}` again with "
        "the same options and re-apply it (for example from a scheduled job)."
    )
