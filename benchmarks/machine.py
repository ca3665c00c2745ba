"""Facts that make a figure comparable: when, on what, with which versions."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path


def _version_output(command: list[str]) -> str:
    if shutil.which(command[0]) is None and shutil.which(command[0], path="/usr/sbin") is None:
        return "not installed"
    program = shutil.which(command[0]) or shutil.which(command[0], path="/usr/sbin")
    assert program is not None
    try:
        process = subprocess.run(
            [program, *command[1:]], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unknown ({type(error).__name__})"
    text = (process.stdout or process.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def _distribution(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _os_name() -> str:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return platform.system()
    match = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', text, re.MULTILINE)
    return match[1] if match else platform.system()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def facts() -> dict[str, str]:
    """Ordered name -> value pairs for the report header."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{_os_name()}, kernel {platform.release()}, {platform.machine()}",
        "cpu": f"{_cpu_model()}, nproc {usable}",
        "python": f"{platform.python_version()} ({sys.executable})",
        "zenml": _distribution("zenml"),
        "zenml-docker-connector": _distribution("zenml-docker-connector"),
        "requests": _distribution("requests"),
        "docker CLI": _version_output(["docker", "--version"]),
        "dockerd": _version_output(["dockerd", "--version"]),
        "skopeo": _version_output(["skopeo", "--version"]),
        "registry": _version_output(["docker-registry", "--version"]),
    }
