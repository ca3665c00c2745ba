"""Section 3: what the plugin adds to start-up, from paired runs of "without" and "with".

Without uninstalling anything, "without" is made two ways:
- `python -c pass`: the same `-S` driver processes every `.pth` file of the site directories,
  once skipping ours (`zenml_docker_connector_activate.pth`) and once not. This is the cost
  every Python start in the venv pays, whether it uses ZenML or not.
- ZenML rows: `ZENML_DOCKER_CONNECTOR_DISABLE=1` makes activation a no-op. The `.pth` line
  (and ZenML's init hook) still import our tiny package in both runs, so these rows show what
  activation itself adds on top of that (row 1).
"""

from __future__ import annotations

import os
import re
import shutil
import site
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from clients import DISABLE_ENV
from stats import Series, interleaved, paired_differences

PTH_NAME = "zenml_docker_connector_activate.pth"

# `python -S -c SITE_DRIVER DIR[:DIR] [skipped.pth ...]`: the .pth processing of site.main()
# for the venv's site directories (under -S, site.getsitepackages() would name the base
# Python's, since the venv is only detected by site.main()), minus the skipped files.
SITE_DRIVER = """\
import os, site, sys
directories, *skip = sys.argv[1:]
for directory in directories.split(os.pathsep):
    if os.path.isdir(directory):
        sys.path.append(directory)
        for name in sorted(os.listdir(directory)):
            if name.endswith(".pth") and name not in skip:
                site.addpackage(directory, name, None)
"""
MODULES_CODE = SITE_DRIVER + "print(len(sys.modules))\n"
TYPE_CODE = (
    "from zenml.service_connectors.service_connector_registry import "
    "service_connector_registry as r\n"
    "c = r.get_service_connector_type('docker').connector_class\n"
    "print(c.__module__)\n"
)


@dataclass
class StartupRow:
    """One paired comparison; `without`/`with_plugin` are the two series."""

    label: str
    without_label: str
    with_label: str
    without: Series
    with_plugin: Series

    @property
    def ratio(self) -> float:
        """with / without, of the medians."""
        return self.with_plugin.median / self.without.median

    @property
    def differences(self) -> tuple[float, float, float]:
        """Quartiles of the paired differences with - without, in seconds."""
        return paired_differences(self.with_plugin, self.without)

    def as_json(self) -> dict[str, object]:
        return {
            "label": self.label,
            "without": self.without_label,
            "with": self.with_label,
            "without_series": self.without.as_json(),
            "with_series": self.with_plugin.as_json(),
            "ratio_of_medians": self.ratio,
            "paired_difference_quartiles_s": list(self.differences),
        }


@dataclass
class StartupResult:
    rows: list[StartupRow]
    import_time_us: float | None
    extra_modules: int | None
    type_check: dict[str, str]

    def as_json(self) -> dict[str, object]:
        return {
            "rows": [row.as_json() for row in self.rows],
            "pth_import_time_us": self.import_time_us,
            "modules_added_by_pth": self.extra_modules,
            "docker_connector_class": self.type_check,
        }


def _run(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    process = subprocess.run(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300
    )
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        tail = process.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise RuntimeError(f"{' '.join(command[:3])} exited {process.returncode}: {tail}")
    return elapsed


def _pair(
    label: str,
    without: tuple[str, list[str], dict[str, str]],
    with_plugin: tuple[str, list[str], dict[str, str]],
    rounds: int,
) -> StartupRow:
    commands = {"without": without, "with": with_plugin}
    series = interleaved(
        ["without", "with"], lambda key: _run(commands[key][1], commands[key][2]), rounds
    )
    return StartupRow(label, without[0], with_plugin[0], series[0], series[1])


def pth_installed() -> bool:
    return any((Path(d) / PTH_NAME).exists() for d in site.getsitepackages())


def _import_time_us(env: dict[str, str], samples: int = 5) -> float | None:
    """Cumulative import time of our package when the `.pth` line runs (`-X importtime`)."""
    values: list[float] = []
    for _ in range(samples):
        process = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "pass"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        for line in process.stderr.splitlines():
            match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s+zenml_docker_connector$", line)
            if match:
                values.append(float(match[1]))
    return statistics.median(values) if values else None


def _site_directories() -> str:
    return os.pathsep.join(site.getsitepackages())


def _module_count(env: dict[str, str], skip: list[str]) -> int:
    output = subprocess.run(
        [sys.executable, "-S", "-c", MODULES_CODE, _site_directories(), *skip],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return int(output.strip())


def _connector_class(env: dict[str, str]) -> str:
    process = subprocess.run(
        [sys.executable, "-c", TYPE_CODE], env=env, capture_output=True, text=True, timeout=120
    )
    if process.returncode != 0:
        return f"error: {process.stderr.strip().splitlines()[-1:]}"
    return process.stdout.strip()


def measure(env: dict[str, str], python_rounds: int, zenml_rounds: int) -> StartupResult:
    disabled = dict(env, **{DISABLE_ENV: "1"})
    python = sys.executable
    rows: list[StartupRow] = []
    import_time: float | None = None
    extra_modules: int | None = None
    if pth_installed():
        driver = [python, "-S", "-c", SITE_DRIVER, _site_directories()]
        rows.append(
            _pair(
                "python -c pass",
                ("our .pth skipped", [*driver, PTH_NAME], env),
                ("our .pth run", driver, env),
                python_rounds,
            )
        )
        import_time = _import_time_us(env)
        extra_modules = _module_count(env, []) - _module_count(env, [PTH_NAME])
    rows.append(
        _pair(
            'python -c "import zenml"',
            ("disabled", [python, "-c", "import zenml"], disabled),
            ("active", [python, "-c", "import zenml"], env),
            zenml_rounds,
        )
    )
    rows.append(
        _pair(
            "python: resolve ZenML's docker connector type",
            ("disabled (built-in)", [python, "-c", TYPE_CODE], disabled),
            ("active (ours)", [python, "-c", TYPE_CODE], env),
            zenml_rounds,
        )
    )
    zenml = shutil.which("zenml", path=str(Path(python).parent)) or shutil.which("zenml")
    if zenml is not None:
        rows.append(
            _pair(
                "zenml --help",
                ("disabled", [zenml, "--help"], disabled),
                ("active", [zenml, "--help"], env),
                zenml_rounds,
            )
        )
    type_check = {"disabled": _connector_class(disabled), "active": _connector_class(env)}
    return StartupResult(rows, import_time, extra_modules, type_check)
