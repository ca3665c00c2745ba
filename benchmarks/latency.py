"""Section 2: wall time of one cold verification, ours vs `docker login` / `skopeo login`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clients import (
    Contender,
    Target,
    docker_login,
    ours_in_process,
    ours_subprocess,
    skopeo_login,
)
from stats import Series, interleaved, paired_ratio

OURS_IN_PROCESS = "ours, in-process"
OURS_SUBPROCESS = "ours, python -c"


@dataclass
class LatencyResult:
    target: Target
    series: list[Series]

    def get(self, name: str) -> Series:
        return next(s for s in self.series if s.name == name)

    def ratios(self, name: str) -> tuple[float, float]:
        """(name / ours in-process, name / ours python -c), medians of paired ratios."""
        return (
            paired_ratio(self.get(name), self.get(OURS_IN_PROCESS)),
            paired_ratio(self.get(name), self.get(OURS_SUBPROCESS)),
        )

    def as_json(self) -> dict[str, object]:
        return {
            "registry": self.target.kind,
            "series": [s.as_json() for s in self.series],
            "ratios": {
                s.name: {
                    "vs_ours_in_process": self.ratios(s.name)[0],
                    "vs_ours_python_c": self.ratios(s.name)[1],
                }
                for s in self.series
            },
        }


def measure(target: Target, scratch: Path, env: dict[str, str], rounds: int) -> LatencyResult:
    contenders: dict[str, Contender] = {
        c.name: c
        for c in (
            ours_in_process(target),
            ours_subprocess(target, env),
            docker_login(target, scratch, env),
            skopeo_login(target, scratch, env),
        )
    }
    series = interleaved(list(contenders), lambda name: contenders[name].timed(), rounds)
    return LatencyResult(target, series)
