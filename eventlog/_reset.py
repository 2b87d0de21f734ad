"""Return this process to the state of a fresh ``import eventlog`` (used by the test suite)."""

from __future__ import annotations

from eventlog import _config, _fluent, _registry

__all__ = ["reset_process_state"]


def reset_process_state() -> None:
    """Flush and forget every store, end no runs, clear the active experiment and the run stacks."""
    for store in list(_registry._STORES.values()):
        store.writer.close()
    _registry._STORES.clear()
    _fluent._active_experiment_id = None
    _fluent._state.stack.clear()
    _fluent._state.last_run_id = None
    _config.set_tracking_uri(None)
