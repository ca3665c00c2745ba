"""How `zenml-docker` prints: through ZenML's CLI helpers, so it looks like `zenml` itself.

Markup and highlighting are off and every line is made printable (`printable`): the text may
contain registry answers and user names, which must not reach the terminal as escape sequences.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

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


@contextlib.contextmanager
def logs_to_stderr() -> Iterator[None]:
    """While ZenML works, its console logs and prints go to standard error.

    ZenML logs to standard output (e.g. "Initializing the ZenML global configuration" on a
    first run), which would corrupt a manifest piped into `kubectl apply -f -`. Handlers
    already writing to standard output are pointed at standard error for the duration; ones
    created meanwhile, and plain prints, follow `redirect_stdout`.
    """
    moved: list[tuple[logging.StreamHandler[Any], Any]] = []
    for handler in _stdout_handlers():
        moved.append((handler, handler.stream))
        handler.setStream(sys.stderr)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        for handler, stream in moved:
            handler.setStream(stream)


def _stdout_handlers() -> list[logging.StreamHandler[Any]]:
    loggers = [logging.getLogger()] + [
        logger
        for logger in list(logging.root.manager.loggerDict.values())
        if isinstance(logger, logging.Logger)
    ]
    found: list[logging.StreamHandler[Any]] = []
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and _is_stdout(handler.stream):
                found.append(handler)
    return found


def _is_stdout(stream: Any) -> bool:
    """Standard output itself, or ZenML's stream that forwards to it (ZenML 0.9x)."""
    return (
        stream is sys.stdout
        or stream is sys.__stdout__
        or (type(stream).__name__ == "_ZenMLStdoutStream")
    )
