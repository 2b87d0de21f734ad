"""The library versions each autologging integration is known to work with (MLflow 3.17.2's table)."""

from __future__ import annotations

import importlib
import importlib.metadata
import re

__all__ = ["SUPPORTED_VERSIONS", "installed_version", "is_supported", "version_tuple"]

# integration -> (module, pip distribution, minimum, maximum)
SUPPORTED_VERSIONS: dict[str, tuple[str, str, str, str]] = {
    "sklearn": ("sklearn", "scikit-learn", "1.6.0", "1.9.1"),
    "xgboost": ("xgboost", "xgboost", "2.1.2", "3.4.1"),
    "lightgbm": ("lightgbm", "lightgbm", "4.6.0", "4.7.0"),
}

_RELEASE = re.compile(r"^\s*v?(\d+(?:\.\d+)*)(.*)$")


def version_tuple(version: str) -> tuple[tuple[int, ...], bool] | None:
    """(release numbers, is a final release) of a PEP 440-ish version string; None if unparsable."""
    match = _RELEASE.match(version)
    if match is None:
        return None
    release = tuple(int(part) for part in match.group(1).split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    rest = match.group(2).strip().lower()
    final = rest == "" or rest.startswith("+") or rest.startswith(".post") or rest.startswith("post")
    return release, final


def installed_version(integration: str) -> str | None:
    module_name, dist, _, _ = SUPPORTED_VERSIONS[integration]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def is_supported(integration: str, check_max_version: bool = True) -> bool:
    """Whether the installed library is in the known-good range (pre-releases never are)."""
    if integration not in SUPPORTED_VERSIONS:
        return True
    version = installed_version(integration)
    if version is None:
        return True
    parsed = version_tuple(version)
    if parsed is None or not parsed[1]:
        return False
    _, _, low, high = SUPPORTED_VERSIONS[integration]
    low_t = version_tuple(low)
    high_t = version_tuple(high)
    assert low_t is not None and high_t is not None
    if parsed[0] < low_t[0]:
        return False
    return not (check_max_version and parsed[0] > high_t[0])
