"""Skip locally, fail in CI: a missing service must never turn CI green by skipping."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """CI sets `CI=true`; there every service is installed, so absence is a failure."""
    return os.environ.get("CI", "").strip().lower() == "true"


def require_service(name: str, reason: str) -> NoReturn:
    """Stop the current test because `name` is unavailable (skip locally, fail under CI)."""
    message = f"{name}: {reason}"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_binary(name: str, package: str | None = None) -> str:
    """Return the absolute path of executable `name`, or stop the test."""
    found = shutil.which(name)
    if found is None:
        hint = f" (apt-get install {package})" if package else ""
        require_service(name, f"executable {name!r} not found on PATH{hint}")
    return found
