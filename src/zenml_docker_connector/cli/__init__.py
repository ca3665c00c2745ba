"""ZenML glue: `zenml-docker`, for what ZenML's own CLI has no room for (diagnostics, logout,
Kubernetes pull secrets)."""

from __future__ import annotations

import click

from zenml_docker_connector import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zenml-docker")
def main() -> None:
    """Tools for ZenML `docker` service connectors served by zenml-docker-connector."""


def _register_commands() -> None:
    from zenml_docker_connector.cli.configure_docker import configure_docker
    from zenml_docker_connector.cli.doctor import doctor
    from zenml_docker_connector.cli.exec_command import exec_command
    from zenml_docker_connector.cli.logout import logout
    from zenml_docker_connector.cli.pull_secret import pull_secret
    from zenml_docker_connector.cli.status import status

    main.add_command(configure_docker)
    main.add_command(doctor)
    main.add_command(exec_command)
    main.add_command(logout)
    main.add_command(pull_secret)
    main.add_command(status)


_register_commands()
