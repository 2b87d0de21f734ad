"""Post-import hooks: run a callback when a module is first imported (at once if it already is).

A ``sys.meta_path`` finder, inserted first, answers only for modules that have pending hooks: it asks
the rest of the import system for the real spec and wraps its loader, so that when the module has been
executed the hooks run with the finished module. The module's ``__loader__`` and ``__spec__.loader`` are
set back to the real loader afterwards, so nothing downstream sees the wrapper.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["register_post_import_hook"]

Hook = Callable[[ModuleType], None]

_lock = threading.RLock()
_hooks: dict[str, list[Hook]] = {}
_in_progress: set[str] = set()
_finder: _PostImportFinder | None = None


def _hook_key(hook: Hook) -> str | None:
    return getattr(hook, "__qualname__", None) or getattr(hook, "__name__", None)


def register_post_import_hook(hook: Hook, name: str, overwrite: bool = True) -> None:
    """Call ``hook(module)`` once ``name`` is imported; now, if it already is.

    With ``overwrite``, a pending hook of the same function name for ``name`` is replaced.
    """
    _install_finder()
    with _lock:
        module = sys.modules.get(name)
        if module is None or name in _in_progress:
            pending = _hooks.setdefault(name, [])
            if overwrite:
                key = _hook_key(hook)
                pending[:] = [h for h in pending if key is None or _hook_key(h) != key]
            pending.append(hook)
            return
    hook(module)


def _install_finder() -> None:
    global _finder
    with _lock:
        if _finder is None or _finder not in sys.meta_path:
            _finder = _PostImportFinder()
            sys.meta_path.insert(0, _finder)


def _notify(name: str, module: ModuleType) -> None:
    with _lock:
        hooks = _hooks.pop(name, [])
    for hook in hooks:
        hook(module)


class _HookLoader(importlib.abc.Loader):
    def __init__(self, loader: Any, name: str) -> None:
        self._loader = loader
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        # Resource readers, get_source, is_package...: the real loader's.
        return getattr(self._loader, attr)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self._loader
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._loader
        # A package may replace itself in sys.modules while it executes.
        _notify(self._name, sys.modules.get(self._name, module))


class _PostImportFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        with _lock:
            if fullname not in _hooks or fullname in _in_progress:
                return None
            _in_progress.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        except (ImportError, ValueError, AttributeError):
            return None
        finally:
            with _lock:
                _in_progress.discard(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _HookLoader(spec.loader, fullname)
        return spec
