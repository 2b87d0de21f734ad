"""Hermetic tests: no user environment, a fresh working directory and fresh eventlog process state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_PREFIXES = ("EVENTLOG_", "MLFLOW_")


@pytest.fixture(autouse=True)
def _hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name, raising=False)
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
