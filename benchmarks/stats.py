"""Paired, interleaved measurement: the order alternates every round so that drift (CPU
frequency, caches, other load) hits every contender alike; figures are medians."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class Series:
    """Seconds per run of one contender, in round order (round i of every series is paired)."""

    name: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "median_s": self.median, "runs_s": self.seconds}


def interleaved(
    names: Sequence[str], run: Callable[[str], float], rounds: int, warmup: int = 1
) -> list[Series]:
    """`run(name)` for every name, `rounds` times, rotating (and reversing) the order each
    round; `warmup` untimed rounds first."""
    for _ in range(warmup):
        for name in names:
            run(name)
    series = {name: Series(name, []) for name in names}
    order = list(names)
    for index in range(rounds):
        shift = index % len(order)
        this_round = order[shift:] + order[:shift]
        if index % 2:
            this_round.reverse()
        for name in this_round:
            series[name].seconds.append(run(name))
    return [series[name] for name in names]


def paired_ratio(numerator: Series, denominator: Series) -> float:
    """Median of the per-round ratios numerator/denominator."""
    return statistics.median(
        a / b for a, b in zip(numerator.seconds, denominator.seconds, strict=True)
    )


def paired_differences(numerator: Series, denominator: Series) -> tuple[float, float, float]:
    """(first quartile, median, third quartile) of the per-round differences, in seconds:
    the spread says how much of a small difference is noise."""
    differences = [a - b for a, b in zip(numerator.seconds, denominator.seconds, strict=True)]
    if len(differences) < 2:
        return differences[0], differences[0], differences[0]
    low, middle, high = statistics.quantiles(differences, n=4, method="inclusive")
    return low, middle, high
