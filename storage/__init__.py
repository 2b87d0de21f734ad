"""Everything that touches a filesystem.

``storage`` knows files, not runs: it resolves a URI to an fsspec filesystem, publishes files whole or not at
all, offers put-if-absent per backend, lists directories and reads files. The layout of an eventlog store
(which file means what) lives in ``views``; the run model lives in ``eventlog``.

Errors stay in the ``OSError`` family (``FileExistsError``, ``FileNotFoundError``) or are the typed errors
below; ``eventlog`` translates them into ``MlflowException`` at its boundary.
"""

from storage._errors import NotAnEventlogStoreError, PutIfAbsentUnsupportedError, UnsupportedURIError
from storage._location import Location, open_location
from storage._marker import FORMAT_NAME, FORMAT_VERSION, MARKER_FILE, StoreMarker, ensure_store, read_marker

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MARKER_FILE",
    "Location",
    "NotAnEventlogStoreError",
    "PutIfAbsentUnsupportedError",
    "StoreMarker",
    "UnsupportedURIError",
    "ensure_store",
    "open_location",
    "read_marker",
]
