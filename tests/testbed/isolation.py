"""PATH variants: the same programs minus podman (which shares /usr/bin with everything)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

HIDDEN_PROGRAMS = ("podman", "podman-remote", "skopeo", "buildah")


def _hidden(name: str, hidden: Iterable[str]) -> bool:
    return any(name == program or name.startswith(f"{program}-") for program in hidden)


def filtered_path(path: str, farm_root: Path, hidden: Iterable[str] = HIDDEN_PROGRAMS) -> str:
    """`path` with every directory holding a hidden program replaced by a directory of
    symlinks to all its other entries (built once per directory under `farm_root`)."""
    hidden = tuple(hidden)
    result: list[str] = []
    for entry in path.split(os.pathsep):
        directory = Path(entry)
        try:
            names = sorted(p.name for p in directory.iterdir()) if entry else []
        except OSError:
            result.append(entry)
            continue
        if not any(_hidden(name, hidden) for name in names):
            result.append(entry)
            continue
        digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:12]
        farm = farm_root / f"{directory.name or 'root'}-{digest}"
        if not farm.exists():
            staging = farm.with_name(farm.name + ".new")
            staging.mkdir(parents=True)
            for name in names:
                if not _hidden(name, hidden):
                    (staging / name).symlink_to(directory / name)
            staging.rename(farm)
        result.append(str(farm))
    return os.pathsep.join(result)
