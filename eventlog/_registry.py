"""One TrackingStore per store URI per process, shared by the fluent API and every client."""

from __future__ import annotations

import json
import threading
from typing import Any

from eventlog import _config
from eventlog._store import TrackingStore
from eventlog.exceptions import InvalidParameterValue
from eventlog.storage import UnsupportedURIError, open_location

__all__ = ["all_stores", "get_store"]

_STORES: dict[tuple[str, str], TrackingStore] = {}
_LOCK = threading.Lock()


def get_store(uri: str | None = None, storage_options: dict[str, Any] | None = None) -> TrackingStore:
    """The store for ``uri`` (default: the current tracking URI), built on first use."""
    if storage_options is not None:
        options = dict(storage_options)
    elif uri is None or str(uri) == _config.get_tracking_uri():
        options = _config.storage_options_from_env()
    else:
        # Another store than the tracking store (e.g. `eventlog compact URI`, MlflowClient(uri)): the
        # environment's options apply, as fsspec users expect; set_tracking_uri's belong to its URI.
        options = _config.env_storage_options()
    if uri is None:
        uri = _config.get_tracking_uri()
    key = (str(uri), json.dumps(options, sort_keys=True, default=str))
    store = _STORES.get(key)
    if store is not None:
        return store
    with _LOCK:
        store = _STORES.get(key)
        if store is None:
            try:
                location = open_location(uri, options)
            except UnsupportedURIError as exc:
                raise InvalidParameterValue(str(exc)) from None
            store = TrackingStore(location, _config.writer_settings())
            _STORES[key] = store
        return store


def all_stores() -> list[TrackingStore]:
    """Every store this process has opened."""
    return list(_STORES.values())
