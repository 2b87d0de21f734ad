"""The environment files of a saved model: ``requirements.txt``, ``conda.yaml``, ``python_env.yaml``
(and ``constraints.txt`` when constraints are given), in MLflow's formats.

Requirements are pinned to the installed versions (``scikit-learn==1.9.1``). By default they are the
flavor's own packages plus the distributions of the top-level modules the serialized model refers to
(read from the pickle stream without loading it) and ``eventlog`` itself, the model's loader. MLflow
instead infers them by loading the model in a subprocess and recording every module imported, which
takes seconds; ``pip_requirements`` / ``extra_pip_requirements`` / ``conda_env`` override or extend the
defaults exactly as in MLflow.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import pickletools
import platform
import sys
from collections.abc import Iterable
from typing import Any

__all__ = [
    "CONDA_ENV_FILE_NAME",
    "CONSTRAINTS_FILE_NAME",
    "PYTHON_ENV_FILE_NAME",
    "REQUIREMENTS_FILE_NAME",
    "pickle_requirements",
    "pinned_requirement",
    "validate_env_arguments",
    "write_environment",
]

CONDA_ENV_FILE_NAME = "conda.yaml"
REQUIREMENTS_FILE_NAME = "requirements.txt"
PYTHON_ENV_FILE_NAME = "python_env.yaml"
CONSTRAINTS_FILE_NAME = "constraints.txt"


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def pinned_requirement(dist: str) -> str:
    version = _version(dist)
    return f"{dist}=={version}" if version else dist


@functools.lru_cache(maxsize=1)
def _module_distributions() -> dict[str, list[str]]:
    return dict(importlib.metadata.packages_distributions())


def _top_level_modules_in_pickle(path: str) -> set[str]:
    """The top-level packages named by the GLOBAL / STACK_GLOBAL opcodes of a pickle file."""
    modules: set[str] = set()
    strings: list[str] = []  # every string pushed, in order (module and name precede STACK_GLOBAL)
    memo: dict[int, str | None] = {}
    last: str | None = None  # what the previous opcode pushed, if it was a string
    with open(path, "rb") as fh:
        for opcode, arg, _ in pickletools.genops(fh):
            name = opcode.name
            pushed: str | None = None
            if name == "GLOBAL" and isinstance(arg, str):
                modules.add(arg.split(" ", 1)[0].split(".", 1)[0])
            elif name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE") and isinstance(
                arg, str
            ):
                pushed = arg
            elif name == "MEMOIZE":
                memo[len(memo)] = last
            elif name in ("BINPUT", "LONG_BINPUT", "PUT") and isinstance(arg, int):
                memo[arg] = last
            elif name in ("BINGET", "LONG_BINGET", "GET") and isinstance(arg, int):
                pushed = memo.get(arg)
            elif name == "STACK_GLOBAL" and len(strings) >= 2:
                modules.add(strings[-2].split(".", 1)[0])
            if pushed is not None:
                strings.append(pushed)
            if name not in ("MEMOIZE", "BINPUT", "LONG_BINPUT", "PUT"):
                last = pushed
    return modules


def pickle_requirements(path: str) -> list[str]:
    """Pinned distributions of the third-party modules a pickle file refers to (best effort)."""
    try:
        modules = _top_level_modules_in_pickle(path)
    except Exception:
        return []
    stdlib: frozenset[str] = getattr(sys, "stdlib_module_names", frozenset())
    distributions = _module_distributions()
    found: set[str] = set()
    for module in modules:
        if module in stdlib or module in ("builtins", "__main__", "copyreg"):
            continue
        for dist in distributions.get(module, []):
            found.add(dist)
    return sorted(pinned_requirement(dist) for dist in found)


def _read_requirements(value: str | Iterable[str]) -> list[str]:
    if isinstance(value, str):
        with open(value, encoding="utf-8") as fh:
            lines = [line.strip() for line in fh]
        return [line for line in lines if line and not line.startswith("#")]
    return [str(item) for item in value]


def _key(requirement: str) -> str:
    for sep in ("==", ">=", "<=", "~=", "!=", ">", "<", "[", ";", " "):
        requirement = requirement.split(sep, 1)[0]
    return requirement.strip().lower().replace("_", "-")


def _merge(base: list[str], extra: list[str]) -> list[str]:
    keys = {_key(r) for r in extra}
    return [r for r in base if _key(r) not in keys] + extra


def _conda_env(pip_requirements: list[str]) -> dict[str, Any]:
    pip_version = _version("pip")
    dependencies: list[Any] = [f"python={platform.python_version()}"]
    dependencies.append(f"pip<={pip_version}" if pip_version else "pip")
    dependencies.append({"pip": pip_requirements})
    return {"channels": ["conda-forge"], "dependencies": dependencies, "name": "mlflow-env"}


def _pip_of_conda_env(conda_env: dict[str, Any]) -> list[str]:
    for dep in conda_env.get("dependencies", []):
        if isinstance(dep, dict) and "pip" in dep:
            return [str(r) for r in dep["pip"]]
    return []


def _python_env() -> dict[str, Any]:
    build = []
    for dist in ("pip", "setuptools", "wheel"):
        version = _version(dist)
        build.append(f"{dist}=={version}" if version else dist)
    return {
        "python": platform.python_version(),
        "build_dependencies": build,
        "dependencies": [f"-r {REQUIREMENTS_FILE_NAME}"],
    }


def _dump_yaml(data: dict[str, Any], path: str) -> None:
    import yaml

    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(data, fh, default_flow_style=False, sort_keys=False)


def validate_env_arguments(conda_env: Any, pip_requirements: Any, extra_pip_requirements: Any) -> None:
    """At most one of the three may be given (MLflow raises ValueError too)."""
    if sum(x is not None for x in (conda_env, pip_requirements, extra_pip_requirements)) > 1:
        raise ValueError(
            "Only one of `conda_env`, `pip_requirements`, and `extra_pip_requirements` can be specified"
        )


def write_environment(
    path: str,
    default_requirements: list[str],
    conda_env: str | dict[str, Any] | None = None,
    pip_requirements: str | Iterable[str] | None = None,
    extra_pip_requirements: str | Iterable[str] | None = None,
) -> None:
    """Write the environment files of a model saved at ``path``.

    As in MLflow: at most one of ``conda_env`` and ``pip_requirements``; ``extra_pip_requirements``
    extends the defaults (not ``pip_requirements``); ``-c file`` lines become ``constraints.txt``.
    """
    validate_env_arguments(conda_env, pip_requirements, extra_pip_requirements)
    if conda_env is not None:
        if isinstance(conda_env, str):
            import yaml

            with open(conda_env, encoding="utf-8") as fh:
                conda_env = yaml.safe_load(fh)
        assert isinstance(conda_env, dict)
        requirements = _pip_of_conda_env(conda_env)
        env = conda_env
    else:
        own = [pinned_requirement("eventlog")]
        if pip_requirements is not None:
            requirements = _read_requirements(pip_requirements)
        else:
            requirements = _merge(own + list(default_requirements), [])
            if extra_pip_requirements is not None:
                requirements = _merge(requirements, _read_requirements(extra_pip_requirements))
        env = _conda_env([r for r in requirements if not r.startswith("-c ")])
    constraints = [r[3:].strip() for r in requirements if r.startswith("-c ")]
    requirements = [r for r in requirements if not r.startswith("-c ")]
    if constraints:
        lines: list[str] = []
        for constraint in constraints:
            lines.extend(_read_requirements(constraint) if os.path.isfile(constraint) else [constraint])
        with open(os.path.join(path, CONSTRAINTS_FILE_NAME), "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
        requirements.append(f"-c {CONSTRAINTS_FILE_NAME}")
    _dump_yaml(env, os.path.join(path, CONDA_ENV_FILE_NAME))
    with open(os.path.join(path, REQUIREMENTS_FILE_NAME), "w", encoding="utf-8") as fh:
        fh.write("\n".join(_dedupe(requirements)))
    _dump_yaml(_python_env(), os.path.join(path, PYTHON_ENV_FILE_NAME))


def _dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out
