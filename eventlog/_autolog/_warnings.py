"""Warnings and event logs while autologging code runs: silent mode and rerouting, as MLflow does it.

Two kinds of warnings are told apart by the file that emits them: eventlog's own and everyone else's.

- While a patched training function runs the *autologging* code around the user's call (before and
  after it), both kinds are rerouted to the ``eventlog.autolog`` logger (they are rarely actionable for
  the user) and dropped entirely in silent mode. Warnings raised by the user's own training call (the
  original function) are shown as usual, even in silent mode.
- While ``autolog()`` itself enables an integration, eventlog's warnings are shown as usual (they are
  about the user's configuration) and others are rerouted; silent mode drops both.

Silent mode also drops the ``eventlog.autolog`` logger's records. The state is per thread; the
``warnings.showwarning`` hook is installed only while some thread needs it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["logger", "warnings_behavior"]

logger = logging.getLogger("eventlog.autolog")

_EVENTLOG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _State(threading.local):
    def __init__(self) -> None:
        self.own_disabled = False
        self.own_rerouted = False
        self.other_disabled = False
        self.other_rerouted = False
        self.silent_logs = False


_state = _State()
_lock = threading.Lock()
_users = 0
_previous_showwarning: Any = None


class _SilentFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _state.silent_logs


# Silent mode covers every eventlog logger autologging code may log through.
for _name in ("eventlog", "eventlog.autolog", "eventlog.models"):
    logging.getLogger(_name).addFilter(_SilentFilter())


def _is_own(filename: str) -> bool:
    try:
        return os.path.abspath(filename).startswith(_EVENTLOG_DIR + os.sep)
    except (TypeError, ValueError):
        return False


def _showwarning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    own = _is_own(filename)
    disabled = _state.own_disabled if own else _state.other_disabled
    rerouted = _state.own_rerouted if own else _state.other_rerouted
    if disabled:
        return
    if rerouted:
        logger.warning(
            'eventlog autologging encountered a warning: "%s:%d: %s: %s"',
            filename,
            lineno,
            category.__name__,
            message,
        )
        return
    previous = _previous_showwarning or warnings._showwarning_orig  # type: ignore[attr-defined]
    previous(message, category, filename, lineno, file, line)


def _install() -> None:
    global _users, _previous_showwarning
    with _lock:
        if _users == 0 and warnings.showwarning is not _showwarning:
            _previous_showwarning = warnings.showwarning
            warnings.showwarning = _showwarning
        _users += 1


def _uninstall() -> None:
    global _users, _previous_showwarning
    with _lock:
        _users -= 1
        if _users == 0 and warnings.showwarning is _showwarning:
            warnings.showwarning = _previous_showwarning
            _previous_showwarning = None


@contextlib.contextmanager
def warnings_behavior(
    *,
    own_disabled: bool | None = None,
    own_rerouted: bool | None = None,
    other_disabled: bool | None = None,
    other_rerouted: bool | None = None,
    silent_logs: bool | None = None,
) -> Iterator[None]:
    """Set this thread's routing of warnings (``None`` keeps the current setting) for the block."""
    saved = (
        _state.own_disabled,
        _state.own_rerouted,
        _state.other_disabled,
        _state.other_rerouted,
        _state.silent_logs,
    )
    if own_disabled is not None:
        _state.own_disabled = own_disabled
    if own_rerouted is not None:
        _state.own_rerouted = own_rerouted
    if other_disabled is not None:
        _state.other_disabled = other_disabled
    if other_rerouted is not None:
        _state.other_rerouted = other_rerouted
    if silent_logs is not None:
        _state.silent_logs = silent_logs
    _install()
    try:
        yield
    finally:
        _uninstall()
        (
            _state.own_disabled,
            _state.own_rerouted,
            _state.other_disabled,
            _state.other_rerouted,
            _state.silent_logs,
        ) = saved
