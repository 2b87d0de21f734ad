"""Hermetic tests: no user environment, a fresh working directory and fresh eventlog process state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_PREFIXES = ("EVENTLOG_", "MLFLOW_")


@pytest.fixture(autouse=True, scope="session")
def _session_workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Module- and session-scoped fixtures are set up before any test's own working directory: give them
    a scratch one too. Otherwise MLflow's default artifact root (``./mlruns``) lands in the checkout —
    the directory ``make demo`` uses as its store, which eventlog then refuses as a foreign one."""
    checkout = Path(__file__).resolve().parent.parent
    before = {name: (checkout / name).exists() for name in ("mlruns", "mlflow.db")}
    previous = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("session-cwd"))
    yield
    os.chdir(previous)
    left = [name for name, existed in before.items() if not existed and (checkout / name).exists()]
    assert not left, f"the tests left {left} in the checkout ({checkout})"


@pytest.fixture(autouse=True)
def _hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    # No automatic compaction unless a test asks for it (tests/test_auto_compaction.py): it would start
    # detached compaction processes, at the latest when the test session exits, for stores of tests long
    # gone, and a commit no test planned for would change what some tests count.
    monkeypatch.setenv("EVENTLOG_AUTO_COMPACT", "0")
    monkeypatch.chdir(tmp_path)
    from eventlog._reset import reset_process_state

    reset_process_state()
    yield
    reset_process_state()
    import fsspec.implementations.memory as memory

    memory.MemoryFileSystem.store.clear()
    memory.MemoryFileSystem.pseudo_dirs.clear()
    memory.MemoryFileSystem.pseudo_dirs.append("")


@pytest.fixture
def store_uri(tmp_path: Path) -> str:
    """A fresh local store for one test."""
    return str(tmp_path / "store")
