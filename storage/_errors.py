"""Typed storage errors. ``eventlog`` maps them to MlflowException error codes at its boundary."""

from __future__ import annotations

__all__ = ["NotAnEventlogStoreError", "PutIfAbsentUnsupportedError", "UnsupportedURIError"]


class UnsupportedURIError(ValueError):
    """The URI names something this store cannot serve (a database, a tracking server, a bad scheme)."""


class NotAnEventlogStoreError(OSError):
    """The location holds files that are not an eventlog store; nothing in it was touched."""


class PutIfAbsentUnsupportedError(OSError):
    """The filesystem offers no atomic create-if-absent, so an operation that needs one cannot run."""
