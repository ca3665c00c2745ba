"""Layer 4: `zenml-docker`, for what ZenML's own CLI has no room for (diagnostics, logout,
Kubernetes pull secrets, pointing docker at the credential helper, `exec`)."""

from __future__ import annotations

import click

from zenml_docker_connector import __version__
from zenml_docker_connector.cli import (
    configure_docker,
    doctor,
    exec_command,
    logout,
    pull_secret,
    status,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zenml-docker")
def main() -> None:
    """Tools for ZenML `docker` service connectors served by zenml-docker-connector."""


main.add_command(configure_docker.configure_docker)
main.add_command(doctor.doctor)
main.add_command(exec_command.exec_command)
main.add_command(logout.logout)
main.add_command(pull_secret.pull_secret)
main.add_command(status.status)
