"""How `zenml-docker` prints: through ZenML's CLI helpers, so it looks like `zenml` itself,
without markup and made printable (registry answers must not reach a terminal as escapes)."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from zenml_docker_connector.glue.zenml_access import cli_helper, is_zenml_stdout
from zenml_docker_connector.printable import printable


def declare(text: str) -> None:
    _show(text, "declare", click.echo)


def warn(text: str) -> None:
    _show(text, "warning", lambda shown: click.secho(shown, fg="yellow", err=True))


def success(text: str) -> None:
    _show(text, "success", lambda shown: click.secho(shown, fg="green"))


def fail(text: str) -> None:
    """Print `text` as an error and exit non-zero (ZenML's `error` raises to do so)."""
    text = printable(text)
    zenml_error = cli_helper("error")
    if zenml_error is None:  # pragma: no cover - every supported ZenML has it
        raise click.ClickException(text)
    zenml_error(text)


def _show(text: str, helper: str, fallback: Callable[[str], None]) -> None:
    """Through ZenML's `helper` when this ZenML has it (0.60 has no `success`), else click."""
    text = printable(text)
    shown = cli_helper(helper)
    if shown is None:
        fallback(text)
        return
    shown(text, markup=False, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def logs_to_stderr() -> Iterator[None]:
    """While ZenML works, its console logs and prints go to standard error (they would corrupt
    a manifest piped into `kubectl apply -f -`); handlers created meanwhile follow
    `redirect_stdout`."""
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
    loggers = [logging.getLogger(), *list(logging.root.manager.loggerDict.values())]
    return [
        handler
        for logger in loggers
        if isinstance(logger, logging.Logger)
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler) and _is_stdout(handler.stream)
    ]


def _is_stdout(stream: Any) -> bool:
    """Standard output itself, or ZenML's stream that forwards to it (ZenML 0.9x)."""
    return stream is sys.stdout or stream is sys.__stdout__ or is_zenml_stdout(stream)
