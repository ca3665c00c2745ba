"""A manifest as text (YAML or JSON), and the private file it may be written to.

PyYAML's safe dumper (a ZenML dependency) quotes whatever needs it, so a connector name in an
annotation cannot break the document; a file is replaced atomically, mode 0600 from the start
(`local.atomic`), so no reader sees half a Secret or a wider mode.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from zenml_docker_connector.errors import DockerConnectorError
from zenml_docker_connector.local.atomic import remedy, replace_file, resolve_for_writing

FORMATS = ("yaml", "json")
FILE_MODE = 0o600


def render(manifest: dict[str, Any], output: str) -> str:
    """`manifest` as `output` ("yaml" or "json") text, ending with a newline."""
    if output == "json":
        return json.dumps(manifest, indent=2) + "\n"
    if output == "yaml":
        return str(yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False))
    raise ValueError(f"unknown output format {output!r}; use one of {', '.join(FORMATS)}")


def write_private_file(path: Path, text: str) -> Path:
    """Replace `path` (following a symlink to its target unless someone else may have
    planted it, see `local.atomic`) with `text`, mode 0600, atomically."""
    try:
        target = resolve_for_writing(Path(os.path.expanduser(path)))
    except OSError as error:
        raise _write_error(path, error) from None
    if not target.parent.is_dir():
        raise DockerConnectorError(
            f"Cannot write {path}: the directory {target.parent} does not exist. Create it or "
            "choose another --file, then retry."
        )
    try:
        replace_file(target, text.encode("utf-8"), FILE_MODE)
    except OSError as error:
        raise _write_error(path, error) from None
    return target


def _write_error(path: Path, error: OSError) -> DockerConnectorError:
    return DockerConnectorError(
        f"Cannot write {path} ({error.strerror or type(error).__name__}); nothing was "
        "written. "
        + remedy(error, fix="check the directory's permissions", elsewhere="choose another --file")
    )
