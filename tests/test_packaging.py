"""The package as a user installs it: the wheel, in an empty virtualenv, with the core dependencies only.

The repository keeps ``eventlog/``, ``views/`` and ``storage/`` side by side, but pyproject.toml installs
``views`` and ``storage`` as ``eventlog.views`` and ``eventlog.storage`` (a ``package-dir`` mapping and an
explicit ``packages`` list), so that a user's own ``views.py`` or ``storage.py`` can never shadow them:

- the wheel, installed into a fresh virtualenv, logs, compacts (the venv's ``eventlog`` console script)
  and searches with a filter string; ``import views`` and ``import storage`` fail there, and the wheel
  holds nothing outside ``eventlog/`` and its ``.dist-info``;
- a script next to a ``views.py`` and a ``storage.py`` that raise on import (its directory is the working
  directory and ``sys.path[0]``) logs, compacts through the Python API and ``python -m eventlog.cli``,
  and searches;
- the ``packages`` list names every package directory of the repository, and nothing else (a package
  missing from it would be left out of the wheel without any error).

The first two build and install a wheel (marked ``slow``: about half a minute, mostly pip unpacking
numpy, pyarrow and polars from its cache).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]

# Not copied into the build tree: environments, caches, build outputs and stores.
_NOT_SOURCES = {
    ".git",
    ".venv",
    ".tools",
    ".pkgtree",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".bench",
    "__pycache__",
    "build",
    "dist",
    "mlruns",
    "demo-store",
}


def _ignore(directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n in _NOT_SOURCES or n.endswith(".egg-info")]


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: no settings of this test run, no other venv or Python path."""
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH", "VIRTUAL_ENV", "PYTHONUSERBASE")
    env = {
        k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("EVENTLOG_", "MLFLOW_"))
    }
    env.update(extra)
    return env


def _run(
    args: list[Any], *, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env if env is not None else _clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, (
        f"{' '.join(map(str, args))} exited {proc.returncode}\n"
        f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
    )
    return proc


class Installed:
    """A fresh virtualenv with the repository's wheel and its core dependencies."""

    def __init__(self, root: Path, wheel: Path) -> None:
        self.root = root
        self.wheel = wheel
        self.venv = root / "venv"
        bindir = "Scripts" if os.name == "nt" else "bin"
        self.bin = self.venv / bindir
        self.python = self.bin / ("python.exe" if os.name == "nt" else "python")
        self.eventlog = self.bin / ("eventlog.exe" if os.name == "nt" else "eventlog")

    def env(self) -> dict[str, str]:
        # As an activated venv: its bin first on PATH.
        path = f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"
        return _clean_env(PATH=path, VIRTUAL_ENV=str(self.venv))

    def script(self, directory: Path, name: str, code: str, *args: Any) -> Any:
        """Run ``code`` as ``directory/name`` with the venv's python (cwd and sys.path[0]: ``directory``);
        returns the JSON it prints on its last line."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / name
        path.write_text(textwrap.dedent(code))
        proc = _run([self.python, path, *args], cwd=directory, env=self.env(), timeout=120)
        return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("packaging")
    # Built from a copy of the sources: a build in the checkout would write build/ and *.egg-info into the
    # shared working tree, and setuptools reuses build/lib, so a module deleted from the repository could
    # still end up in the wheel.
    source = root / "source"
    shutil.copytree(REPO, source, ignore=_ignore, symlinks=True)
    wheels = root / "wheels"
    # Build isolation (pip installs the build-system requirements, setuptools>=68, into a throwaway
    # environment): the test environment's own setuptools may be older than the one pyproject.toml names.
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source])
    built = sorted(wheels.glob("eventlog-*.whl"))
    assert len(built) == 1, built
    found = Installed(root, built[0])
    # An empty venv (not even pip): this interpreter's pip installs into it.
    _run([sys.executable, "-m", "venv", "--without-pip", found.venv])
    _run(
        [sys.executable, "-m", "pip", "--python", found.python, "install", "-q", "--no-compile", found.wheel],
        timeout=600,
    )
    return found


# Shared by both scripts of the first test: the searches, as JSON-comparable answers.
SEARCHES = """\
    import json
    import sys

    import eventlog


    def found(filter_string):
        runs = eventlog.search_runs(
            experiment_names=["packaging"], filter_string=filter_string, output_format="list"
        )
        return [
            {
                "run_id": r.info.run_id,
                "run_name": r.info.run_name,
                "status": r.info.status,
                "params": r.data.params,
                "metrics": r.data.metrics,
                "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")},
            }
            for r in runs
        ]


    def searches():
        return {
            "adam": found("params.optimizer = 'adam' AND metrics.loss < 0.5"),
            "either": found("params.optimizer IN ('adam', 'sgd') OR tags.stage = 'wheel'"),
        }
"""

# What is importable (run in a directory holding nothing else), then a store logged and searched.
LOG = (
    SEARCHES
    + """\

    import importlib.util

    import eventlog.storage
    import eventlog.views

    failed = {}
    for name in ("views", "storage"):
        try:
            __import__(name)
        except ModuleNotFoundError as exc:
            failed[name] = exc.name
    modules = {
        "failed": failed,
        "eventlog": eventlog.__file__,
        "eventlog.views": eventlog.views.__file__,
        "eventlog.storage": eventlog.storage.__file__,
        "optional": {n: importlib.util.find_spec(n) is not None for n in ("pandas", "mlflow", "s3fs")},
        "prefix": sys.prefix,
    }

    eventlog.set_tracking_uri(sys.argv[1])
    eventlog.set_experiment("packaging")
    with eventlog.start_run(run_name="adam"):
        run_id = eventlog.active_run().info.run_id
        eventlog.log_params({"optimizer": "adam", "lr": 0.01})
        for step in range(5):
            eventlog.log_metric("loss", 1.0 / (step + 1), step=step)
        eventlog.set_tag("stage", "wheel")
    eventlog.start_run(run_name="sgd")
    eventlog.log_param("optimizer", "sgd")
    eventlog.log_metric("loss", 0.1)
    eventlog.end_run()
    print(json.dumps({"modules": modules, "run_id": run_id, "before": searches()}))
"""
)

SEARCH = (
    SEARCHES
    + """\

    eventlog.set_tracking_uri(sys.argv[1])
    print(json.dumps(searches()))
"""
)


@pytest.mark.slow
def test_wheel_in_an_empty_venv_logs_compacts_and_searches(installed: Installed, tmp_path: Path) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = wheel.namelist()
    # Only one top-level name is installed: no views/ or storage/ of their own.
    assert {n.split("/")[0] for n in names} == {"eventlog", "eventlog-0.1.0.dist-info"}
    for package in ("eventlog", "eventlog/views", "eventlog/views/filter", "eventlog/storage"):
        assert f"{package}/__init__.py" in names
    for package in ("eventlog", "eventlog/views", "eventlog/storage"):
        assert f"{package}/py.typed" in names
    assert "eventlog-0.1.0.dist-info/licenses/LICENSE" in names

    store = tmp_path / "store"
    logged = installed.script(tmp_path / "job", "log.py", LOG, store)
    modules = logged["modules"]
    assert modules["failed"] == {"views": "views", "storage": "storage"}
    site = Path(modules["prefix"]).resolve()
    for name in ("eventlog", "eventlog.views", "eventlog.storage"):
        assert Path(modules[name]).resolve().is_relative_to(site), modules[name]
    assert Path(modules["eventlog.views"]).parent.parent.name == "eventlog"
    assert Path(modules["eventlog.storage"]).parent.parent.name == "eventlog"
    # The core install: none of the extras came along.
    assert modules["optional"] == {"pandas": False, "mlflow": False, "s3fs": False}

    assert installed.eventlog.exists()
    proc = _run([installed.eventlog, "compact", store, "--json"], cwd=tmp_path, env=installed.env())
    results = {r["stream"]: r for r in json.loads(proc.stdout)}
    assert "catalog" in results
    assert all(s == "catalog" or s.startswith("experiments/") for s in results), results
    committed = [r for r in results.values() if r["status"] == "committed"]
    assert any(r["stream"].startswith("experiments/") and r["events"] > 0 for r in committed), results

    after = installed.script(tmp_path / "job", "search.py", SEARCH, store)
    assert after == logged["before"]  # compaction changes how fast a read is, never what it returns
    assert after["adam"] == [
        {
            "run_id": logged["run_id"],
            "run_name": "adam",
            "status": "FINISHED",
            "params": {"optimizer": "adam", "lr": "0.01"},
            "metrics": {"loss": 0.2},
            "tags": {"stage": "wheel"},
        }
    ]
    assert sorted(r["run_name"] for r in after["either"]) == ["adam", "sgd"]


TRAP = 'raise RuntimeError("the user\'s own {name}.py was imported instead of eventlog.{name}")\n'

JOB = """\
    import json
    import sys

    import eventlog
    from eventlog.storage import open_location
    from eventlog.views import DEFAULT_RETENTION_S, compact_stream, store_streams

    store = sys.argv[1]
    eventlog.set_tracking_uri(store)
    eventlog.set_experiment("collision")
    with eventlog.start_run(run_name="shadowed"):
        run_id = eventlog.active_run().info.run_id
        eventlog.log_param("model", "mlp")
        eventlog.log_metric("accuracy", 0.75, step=0)
        eventlog.log_metric("accuracy", 0.9, step=1)
        eventlog.set_tag("cwd", "trapped")

    location = open_location(store)
    statuses = [
        compact_stream(location, stream, retention_s=DEFAULT_RETENTION_S).status
        for stream in store_streams(location)
    ]
    runs = eventlog.search_runs(
        experiment_names=["collision"],
        filter_string="params.model = 'mlp' AND metrics.accuracy > 0.8 AND tags.cwd = 'trapped'",
        output_format="list",
    )
    loaded = sorted(n for n in sys.modules if n.split(".")[0] in ("views", "storage"))
    try:
        import views  # noqa: F401  (the trap: proves this directory really was on sys.path)
        trapped = False
    except RuntimeError:
        trapped = True
    print(json.dumps({
        "path0": sys.path[0],
        "statuses": statuses,
        "found": [(r.info.run_id, r.data.params, r.data.metrics) for r in runs],
        "run_id": run_id,
        "loaded_before_trap": loaded,
        "trapped": trapped,
    }))
"""


@pytest.mark.slow
def test_own_views_and_storage_modules_do_not_shadow_eventlogs(installed: Installed, tmp_path: Path) -> None:
    directory = tmp_path / "project"
    directory.mkdir()
    for name in ("views", "storage"):
        (directory / f"{name}.py").write_text(TRAP.format(name=name))
    store = tmp_path / "store"

    out = installed.script(directory, "job.py", JOB, store)
    assert Path(out["path0"]).resolve() == directory.resolve()
    assert out["trapped"] is True
    assert out["loaded_before_trap"] == []
    assert "committed" in out["statuses"]
    assert out["found"] == [[out["run_id"], {"model": "mlp"}, {"accuracy": 0.9}]]

    # `python -m` puts the working directory first on sys.path too; the command still finds its modules.
    proc = _run(
        [installed.python, "-m", "eventlog.cli", "compact", store, "--json"],
        cwd=directory,
        env=installed.env(),
    )
    assert {r["status"] for r in json.loads(proc.stdout)} == {"up-to-date"}


# --- the packages list -------------------------------------------------------------------------------

# Repository directory -> the package name it is installed as.
_ROOTS = {"eventlog": "eventlog", "views": "eventlog.views", "storage": "eventlog.storage"}


def _package_dirs() -> tuple[set[str], list[str]]:
    """Installed names of the repository's package directories, and directories holding Python modules
    without an ``__init__.py`` (which setuptools would leave out)."""
    packages: set[str] = set()
    orphans: list[str] = []
    for top, name in _ROOTS.items():
        for directory, subdirs, files in os.walk(REPO / top):
            subdirs[:] = sorted(d for d in subdirs if d != "__pycache__" and not d.startswith("."))
            rel = Path(directory).relative_to(REPO / top)
            dotted = ".".join((name, *rel.parts))
            if "__init__.py" in files:
                packages.add(dotted)
            elif any(f.endswith(".py") for f in files):
                orphans.append(str(Path(directory).relative_to(REPO)))
    return packages, orphans


def test_packages_list_names_every_package_directory() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == {package: directory for directory, package in _ROOTS.items()}
    listed = config["packages"]
    assert len(listed) == len(set(listed)), "a package is listed twice"
    found, orphans = _package_dirs()
    assert not orphans, f"directories with Python modules but no __init__.py: {orphans}"
    missing = sorted(found - set(listed))
    extra = sorted(set(listed) - found)
    assert not missing, f"package directories missing from [tool.setuptools] packages: {missing}"
    assert not extra, f"[tool.setuptools] packages names what is no package directory: {extra}"
