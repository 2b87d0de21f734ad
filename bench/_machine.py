"""The machine a benchmark ran on, in one line that docs/benchmarks.md and the README can cite."""

from __future__ import annotations

import datetime as dt
import os
import platform
from importlib import metadata
from pathlib import Path

__all__ = ["load_line", "machine_line"]

# Versions come from package metadata: the parent process must not import mlflow (seconds, and memory
# that is no figure's), nor polars/pyarrow before a figure needs them.
_PACKAGES = ("eventlog", "mlflow", "polars", "pyarrow")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.0f} GiB RAM"
    except (OSError, ValueError):
        pass
    return "RAM unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_line() -> str:
    versions = ", ".join(f"{p} {_version(p)}" for p in _PACKAGES)
    return (
        f"machine: {_cpu_model()}, {os.cpu_count()} cores, {_ram()}, {platform.system()} "
        f"{platform.machine()} | Python {platform.python_version()} | {versions} | "
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
    )


def load_line() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"
    except OSError:
        return "load average unknown"
