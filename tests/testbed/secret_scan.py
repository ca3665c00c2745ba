"""pytest plugin: no test secret may appear in anything the session printed or logged.

Fixtures register the secrets they make (`register_secret`: the registries' and the token
server's passwords, the tokens it issues, the credential helper's secrets, test-made
passwords via the `new_secret` fixture). Everything a test printed or logged is kept: the
captured stdout, stderr and log sections of every report (our own loggers log at DEBUG for
this), the output of every in-process click command (`CliRunner.invoke`, so `zenml` and
`zenml-docker` run in-process) and of the real `zenml` executable (`observe`). At the end
of the session every text is searched for every registered secret in every form
`testbed.leaks.secret_forms` knows (clear text, base64, base64 of `user:secret`); a hit
fails the run and names the test, where the text came from and which secret it was by its
label, never the secret itself.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets as random_secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner, Result

from testbed.leaks import secret_forms

MIN_SECRET_LENGTH = 8
"""Shorter strings match by chance."""

_FORM_NAMES = ("clear text", "base64", "base64 of user:secret")


@dataclass(frozen=True)
class Hit:
    test: str
    where: str
    label: str
    form: str


_forms: dict[str, tuple[str, str]] = {}  # form -> (label, form name)
_texts: dict[tuple[str, str], str] = {}  # (test id, where) -> text
_guard = threading.Lock()
_state = threading.local()
_current_test = ["(outside any test)"]
_hits: list[Hit] = []


def register_secret(secret: str, label: str, usernames: Iterable[str] = ()) -> str:
    """Scan for `secret` (and its encodings with these usernames); returns it for chaining.

    Secrets shorter than `MIN_SECRET_LENGTH` (a test's deliberately trivial "pw") are not
    scanned for: they would match ordinary words.
    """
    if len(secret) < MIN_SECRET_LENGTH:
        return secret
    users = [user for user in usernames if user]
    with _guard:
        for index, form in enumerate(secret_forms(secret, users)):
            name = _FORM_NAMES[min(index, len(_FORM_NAMES) - 1)]
            _forms.setdefault(form, (label, name))
    return secret


def make_secret(label: str = "test-made password", usernames: Iterable[str] = ()) -> str:
    """A fresh random password, registered."""
    return register_secret(f"Zs-{random_secrets.token_hex(10)}", label, usernames)


def observe(text: str, where: str) -> None:
    """Keep output pytest does not capture itself (a subprocess's, a CliRunner's)."""
    if getattr(_state, "allowed", False) or not text:
        return
    with _guard:
        key = (_current_test[0], where)
        _texts[key] = _texts.get(key, "") + text


@contextlib.contextmanager
def secrets_shown_on_purpose() -> Iterator[None]:
    """For a command whose job is to print a secret (`describe --show-secrets`)."""
    _state.allowed = True
    try:
        yield
    finally:
        _state.allowed = False


def _observed_invoke(invoke: Callable[..., Result]) -> Callable[..., Result]:
    @functools.wraps(invoke)
    def wrapper(self: CliRunner, cli: Any, args: Any = None, *more: Any, **kw: Any) -> Result:
        result = invoke(self, cli, args, *more, **kw)
        name = getattr(cli, "name", None) or "cli"
        shown = " ".join(str(arg) for arg in args or ())[:80]
        exception = f"\n{result.exception!r}" if result.exception else ""
        observe(result.output + exception, f"output of `{name} {shown}`")
        return result

    return wrapper


@pytest.fixture
def new_secret() -> Callable[..., str]:
    """`new_secret(label)` makes and registers a random password for this test."""
    return make_secret


def pytest_configure(config: pytest.Config) -> None:
    CliRunner.invoke = _observed_invoke(CliRunner.invoke)  # type: ignore[method-assign]
    # Our debug lines reach pytest's captured log sections (the root logger stays at WARNING).
    logging.getLogger("zenml_docker_connector").setLevel(logging.DEBUG)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    _current_test[0] = item.nodeid
    yield
    _current_test[0] = "(outside any test)"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    with _guard:
        for title, content in report.sections:
            _texts[(report.nodeid, title)] = content  # later phases repeat earlier sections


def find_hits() -> list[Hit]:
    """Every (text, secret) pair where the text holds a form of the secret."""
    with _guard:
        forms = sorted(_forms.items(), key=lambda item: len(item[0]), reverse=True)
        texts = list(_texts.items())
    found = []
    for (test, where), text in texts:
        for form, (label, name) in forms:
            if form in text:
                found.append(Hit(test, where, label, name))
                break
    return found


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _hits[:] = find_hits()
    if _hits and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _hits:
        terminalreporter.write_line(
            f"secret scan: {len(_texts)} captured outputs searched for {len(_forms)} secret "
            "forms, none found"
        )
        return
    terminalreporter.section("secret scan: test secrets in captured output", red=True)
    for hit in _hits:
        terminalreporter.write_line(
            f"{hit.test}: {hit.where} holds the {hit.label} ({hit.form})", red=True
        )
    terminalreporter.write_line(f"secret scan failed: {len(_hits)} outputs hold a test secret")
