"""How `zenml-docker` prints: through ZenML's CLI helpers, so it looks like `zenml` itself.

Markup and highlighting are off and every line is made printable (`printable`): the text may
contain registry answers and user names, which must not reach the terminal as escape sequences.
"""

from __future__ import annotations

import click

from zenml_docker_connector.printable import printable


def declare(text: str) -> None:
    text = printable(text)
    try:
        from zenml.cli.utils import declare
    except ImportError:  # pragma: no cover - zenml is a dependency
        click.echo(text)
        return
    declare(text, markup=False, highlight=False, soft_wrap=True)


def warn(text: str) -> None:
    text = printable(text)
    try:
        from zenml.cli.utils import warning
    except ImportError:  # pragma: no cover
        click.secho(text, fg="yellow", err=True)
        return
    warning(text, markup=False, highlight=False, soft_wrap=True)


def success(text: str) -> None:
    text = printable(text)
    try:
        from zenml.cli.utils import success
    except ImportError:  # pragma: no cover
        click.secho(text, fg="green")
        return
    success(text, markup=False, highlight=False, soft_wrap=True)


def fail(text: str) -> None:
    text = printable(text)
    try:
        from zenml.cli.utils import error
    except ImportError:  # pragma: no cover
        raise click.ClickException(text) from None
    error(text)
