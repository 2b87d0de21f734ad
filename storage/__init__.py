"""Everything that touches a filesystem.

``storage`` knows files, not runs: it resolves a URI to an fsspec filesystem, publishes files whole or not at
all, offers put-if-absent per backend, lists directories and reads files. The layout of an eventlog store
(which file means what) lives in ``views``; the run model lives in ``eventlog``.

Errors stay in the ``OSError`` family (``FileExistsError``, ``FileNotFoundError``) or are the typed errors
below; ``eventlog`` translates them into ``MlflowException`` at its boundary.
"""

from eventlog.storage._errors import NotAnEventlogStoreError, PutIfAbsentUnsupportedError, UnsupportedURIError
from eventlog.storage._location import Location, open_location
from eventlog.storage._marker import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MARKER_FILE,
    StoreMarker,
    ensure_store,
    read_marker,
)
from eventlog.storage._transfer import (
    CHUNK_SIZE,
    TEMP_PREFIX,
    Entry,
    Transferred,
    download_file,
    download_tree,
    iter_local_files,
    list_dir,
    make_dirs,
    path_kind,
    sha256_file,
    upload_file,
    upload_tree,
)

__all__ = [
    "CHUNK_SIZE",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MARKER_FILE",
    "TEMP_PREFIX",
    "Entry",
    "Location",
    "NotAnEventlogStoreError",
    "PutIfAbsentUnsupportedError",
    "StoreMarker",
    "Transferred",
    "UnsupportedURIError",
    "download_file",
    "download_tree",
    "ensure_store",
    "iter_local_files",
    "list_dir",
    "make_dirs",
    "open_location",
    "path_kind",
    "read_marker",
    "sha256_file",
    "upload_file",
    "upload_tree",
]
