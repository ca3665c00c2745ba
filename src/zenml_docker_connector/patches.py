"""Every place we rely on another library's internals, in one module.

Each entry of `PATCHES` says what is touched, why, on which versions it was verified, and what
happens when the target is missing or has changed. The rule for every entry is the same: the
patch is checked before it is applied (`require`), and a target that is not there (or not of
the expected shape) is recorded with `record_failure`. That logs one warning naming the patch
and the installed version of the library, leaves ZenML's built-in `docker` connector serving
(or, for docker-py/urllib3, falls back as the entry says), and makes `zenml-docker status`
exit 1 with the same text (`failure_report`).

| id | target | why | verified on | when missing or changed |
|---|---|---|---|---|
<!-- table rows: one per entry of PATCHES, kept in step with it by tests/unit/test_patches.py -->

This module imports no ZenML: the ZenML targets are handed in by the glue (`glue.activation`)
once ZenML loaded them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import metadata
from typing import Any

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Patch:
    """One reliance on another library's internals (a row of the table above)."""

    id: str
    library: str
    """The distribution whose version a failure names: `zenml`, `docker`, `urllib3`."""
    target: str
    why: str
    verified: str
    when_missing: str


class PatchTargetMissingError(Exception):
    """The internal a patch needs is not there (or not of the shape it was verified on)."""

    def __init__(self, patch: Patch, detail: str) -> None:
        super().__init__(f"{patch.id}: {detail}")
        self.patch = patch
        self.detail = detail


@dataclass(frozen=True)
class PatchFailure:
    patch: Patch
    detail: str
    version: str

    def __str__(self) -> str:
        return (
            f"zenml-docker-connector patch '{self.patch.id}' ({self.patch.target}) does not "
            f"match {self.patch.library} {self.version} (verified on {self.patch.verified}): "
            f"{self.detail}. {self.patch.when_missing}"
        )


_failures: dict[str, PatchFailure] = {}


def installed_version(library: str) -> str:
    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def require(patch: Patch, owner: Any, attribute: str) -> Any:
    """`owner.attribute`, or `PatchTargetMissingError` naming the patch."""
    try:
        return getattr(owner, attribute)
    except AttributeError:
        name = getattr(owner, "__name__", type(owner).__name__)
        raise PatchTargetMissingError(patch, f"{name} has no attribute {attribute!r}") from None


def record_failure(patch: Patch, error: BaseException) -> PatchFailure:
    """Remember (once per patch) and log a patch that could not be applied."""
    detail = error.detail if isinstance(error, PatchTargetMissingError) else (
        f"{type(error).__name__}: {error}"
    )
    failure = _failures.get(patch.id)
    if failure is None:
        failure = PatchFailure(patch, detail, installed_version(patch.library))
        _failures[patch.id] = failure
        _log.warning("%s", failure)
    return failure


def failure_report() -> tuple[str, ...]:
    """What `zenml-docker status` prints (and exits 1 for) when a patch did not apply."""
    return tuple(str(failure) for failure in _failures.values())


# --- ZenML ----------------------------------------------------------------------------
# (glue helper: the connector registry, the cloud connector modules' DockerServiceConnector
# name, SqlZenStore.list_service_connector_resources, the redeclared _TYPE, the
# get_service_connector secrets keyword, ZenML's stdout stream class)

ZENML_PATCHES: tuple[Patch, ...] = ()


# --- docker-py ------------------------------------------------------------------------
# (local helper: APIClient._auth_configs)

DOCKER_PY_PATCHES: tuple[Patch, ...] = ()


# --- urllib3 --------------------------------------------------------------------------
# (registry helper: HTTPConnection._new_conn, PoolManager.pool_classes_by_scheme)

URLLIB3_PATCHES: tuple[Patch, ...] = ()


PATCHES: tuple[Patch, ...] = ZENML_PATCHES + DOCKER_PY_PATCHES + URLLIB3_PATCHES
"""Every entry above, in table order."""
