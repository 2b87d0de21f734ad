"""A store location: one fsspec filesystem plus a root path, addressed by relative paths.

Callers never build filesystem paths themselves; they pass ``/``-separated paths relative to the root.
That keeps the local-disk fast paths (``os.link`` publish, direct Parquet paths for Polars) in one place.
"""

from __future__ import annotations

import errno
import os
import posixpath
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eventlog.storage._errors import PutIfAbsentUnsupportedError, UnsupportedURIError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["Location", "open_location"]

# Schemes that name a database or a tracking server rather than a filesystem.
_NOT_A_FILESYSTEM = {
    "sqlite": "a SQLite database",
    "postgresql": "a PostgreSQL database",
    "postgres": "a PostgreSQL database",
    "mysql": "a MySQL database",
    "mssql": "a SQL Server database",
    "databricks": "a Databricks workspace",
    "databricks-uc": "a Databricks workspace",
    "http": "an MLflow tracking server",
    "https": "an MLflow tracking server",
}

# Object stores whose fsspec implementation sends a real conditional PUT for mode="create": s3fs
# ``If-None-Match: *``, gcsfs ``ifGenerationMatch=0``, adlfs (Blob) ``If-None-Match: *``. Not "adl" (Data Lake
# Gen1, retired; its driver only had fsspec's check-then-write create mode).
_CONDITIONAL_PUT_PROTOCOLS = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"}

# URI schemes of those object stores: their filesystems are built without a listings cache (see
# ``_filesystem_kwargs``).
_OBJECT_STORE_SCHEMES = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"}

# The memory filesystem lives in this process only, so a process-wide lock makes its check-then-write atomic.
_MEMORY_LOCK = threading.Lock()


def _protocols(fs: AbstractFileSystem) -> set[str]:
    proto = fs.protocol
    return {proto} if isinstance(proto, str) else set(proto)


@dataclass(frozen=True)
class Location:
    """A root directory on a filesystem. Every path argument is relative to the root, ``/``-separated."""

    uri: str
    fs: AbstractFileSystem = field(repr=False, compare=False)
    root: str
    storage_options: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- addressing -------------------------------------------------------------------------------
    @property
    def is_local(self) -> bool:
        return "file" in _protocols(self.fs) or "local" in _protocols(self.fs)

    def full_path(self, rel: str) -> str:
        """The path of ``rel`` as the filesystem names it."""
        return posixpath.join(self.root, rel) if rel else self.root

    def child_uri(self, rel: str) -> str:
        """A URI for ``rel`` that keeps this location's scheme (used for artifact URIs and messages)."""
        return self.uri.rstrip("/") + "/" + rel if rel else self.uri

    # -- reading ----------------------------------------------------------------------------------
    def exists(self, rel: str) -> bool:
        path = self.full_path(rel)
        if not self.is_local:
            # fsspec answers ``exists`` from a cached listing of the parent when it has one, which would
            # miss a file another process created since; ask the store itself.
            self.fs.invalidate_cache(path)
        return bool(self.fs.exists(path))

    def read_bytes(self, rel: str) -> bytes:
        data = self.fs.cat_file(self.full_path(rel))
        return bytes(data)

    def read_many(self, rels: Iterable[str]) -> dict[str, bytes]:
        """Fetch many small files; object stores fetch them concurrently in one call."""
        rels = list(rels)
        if not rels:
            return {}
        if self.is_local:
            return {rel: Path(self.full_path(rel)).read_bytes() for rel in rels}
        full = {self.full_path(rel): rel for rel in rels}
        fetched = self.fs.cat(list(full), on_error="raise")
        return {full[path]: bytes(data) for path, data in fetched.items()}

    def list_names(self, rel_dir: str) -> list[str]:
        """Names (not paths) of the files directly under ``rel_dir``; an absent directory is empty."""
        if self.is_local:
            return list(_local_children(self.full_path(rel_dir))[0])
        listing = self._fresh_listing(rel_dir)
        names = [posixpath.basename(str(e["name"]).rstrip("/")) for e in listing if e.get("type") == "file"]
        return sorted(names)

    def list_children(self, rel_dir: str) -> tuple[list[str], list[str]]:
        """The names of the files and of the sub-directories directly under ``rel_dir``, from one listing
        (one request on an object store), each sorted; an absent directory is empty."""
        if self.is_local:
            files, dirs = _local_children(self.full_path(rel_dir))
            return list(files), list(dirs)
        listing = self._fresh_listing(rel_dir)
        names = [(posixpath.basename(str(e["name"]).rstrip("/")), e.get("type")) for e in listing]
        return (
            sorted(n for n, kind in names if kind == "file"),
            sorted(n for n, kind in names if kind == "directory"),
        )

    def stable_stamp(self, rel_dir: str) -> int | None:
        """A token that changes whenever an entry is added to or removed from ``rel_dir``, or None when
        there is none to trust: on local disk the directory's mtime once it is old enough that no change
        can share its timestamp (``STABLE_AFTER_NS``); an absent directory is 0. Object stores have none."""
        if not self.is_local:
            return None
        return _stable_mtime(self.full_path(rel_dir))

    def list_dirs(self, rel_dir: str) -> list[str]:
        """Names of the sub-directories directly under ``rel_dir``."""
        if self.is_local:
            return list(_local_children(self.full_path(rel_dir))[1])
        listing = self._fresh_listing(rel_dir)
        return sorted(
            posixpath.basename(str(e["name"]).rstrip("/")) for e in listing if e.get("type") == "directory"
        )

    def list_files(self, rel_dir: str) -> list[str]:
        """Paths (relative to the root) of every file below ``rel_dir``, at any depth, sorted.

        On an object store this is one prefix listing (paged), not one listing per sub-directory: a
        store with thousands of experiment-name claims is listed in a few requests."""
        if self.is_local:
            base = self.full_path(rel_dir)
            found: list[str] = []
            for directory, _, files in os.walk(base):
                relative = posixpath.join(rel_dir, os.path.relpath(directory, base).replace(os.sep, "/"))
                relative = posixpath.normpath(relative)
                found.extend(f"{relative}/{name}" for name in files if not name.startswith(".tmp-"))
            return sorted(found)
        path = self.full_path(rel_dir).rstrip("/")
        self.fs.invalidate_cache(path)
        try:
            listed = self.fs.find(path, withdirs=False, detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return []
        # As in _fresh_listing: keep only what is really below ``path`` (prefix-matching listings).
        prefix = path.strip("/") + "/"
        root = self.full_path("").strip("/") + "/"
        return sorted(
            str(name).strip("/")[len(root) :] for name in listed if str(name).strip("/").startswith(prefix)
        )

    def list_temporary(self, rel_dir: str) -> list[tuple[str, float]]:
        """Leftover ``.tmp-*`` files of interrupted local writes, with their modification times (s)."""
        if not self.is_local:
            return []  # object stores publish in one request and leave no partial files
        try:
            with os.scandir(self.full_path(rel_dir)) as entries:
                return [(e.name, e.stat().st_mtime) for e in entries if e.name.startswith(".tmp-")]
        except (FileNotFoundError, NotADirectoryError):
            return []

    def remove_empty_dir(self, rel_dir: str) -> None:
        """Remove a directory left empty (local disk only: object stores have no directories)."""
        if self.is_local:
            try:
                os.rmdir(self.full_path(rel_dir))
            except OSError:
                pass  # not empty, or already gone

    def _fresh_listing(self, rel_dir: str) -> list[dict[str, Any]]:
        """``ls`` of ``rel_dir`` as the store has it now (never a cached listing); absent: ``[]``.

        Listings must see what other processes published a moment ago. ``refresh=True`` alone is not
        enough: adlfs ignores it and answers from its directory cache. Filesystems opened by
        ``open_location`` for object stores keep no listings cache at all; dropping the entry first covers
        a filesystem built elsewhere.
        """
        path = self.full_path(rel_dir)
        self.fs.invalidate_cache(path)
        try:
            listing = self.fs.ls(path, detail=True, refresh=True)
        except (FileNotFoundError, NotADirectoryError):
            return []
        # Only the entries directly under ``path``. adlfs answers ``ls`` of an absent path that is a string
        # prefix of other names (``.../presen`` next to ``.../present/file``, ``.../top`` next to
        # ``.../top.json``) with those other entries when there is exactly one of them, and ``ls`` of a
        # file lists the file itself on every object store.
        parent = path.strip("/")
        return [e for e in listing if posixpath.dirname(str(e["name"]).strip("/")) == parent]

    def local_path(self, rel: str) -> str | None:
        """The OS path of ``rel`` when the location is on local disk (lets Parquet readers memory-map)."""
        return self.full_path(rel) if self.is_local else None

    # -- writing ----------------------------------------------------------------------------------
    def put_if_absent(self, rel: str, data: bytes, *, durable: bool = True) -> None:
        """Create ``rel`` with ``data`` atomically, or raise ``FileExistsError`` if it exists.

        Readers see the whole file or nothing. This is the one primitive every commit in the store
        rests on, so it is implemented per backend rather than with fsspec's check-then-write.
        ``durable=False`` skips the fsync on local disk (for files that can be rebuilt from others, such
        as run-index entries): a process crash still leaves the file whole, a power loss may not.
        """
        path = self.full_path(rel)
        protocols = _protocols(self.fs)
        if self.is_local:
            _local_put_if_absent(path, data, durable=durable)
        elif "memory" in protocols:
            with _MEMORY_LOCK:
                if self.fs.exists(path):
                    raise FileExistsError(path)
                self.fs.pipe_file(path, data)
        elif protocols & _CONDITIONAL_PUT_PROTOCOLS:
            # One request with a precondition (If-None-Match: * / ifGenerationMatch=0): atomic on the server.
            # Always pipe_file, never open(path, "xb"): s3fs commits a 0-byte file opened that way through
            # touch(), which sends no If-None-Match. pipe_file sends the precondition for every size,
            # 0 bytes included (tests/cloud/test_conformance.py checks it on each backend).
            try:
                self.fs.pipe_file(path, bytes(data), mode="create")
            except OSError:
                raise
            except Exception as exc:
                raise _driver_error(exc, path) from exc
        else:
            raise PutIfAbsentUnsupportedError(
                f"The filesystem {sorted(protocols)} cannot create a file only if it is absent, which "
                "eventlog needs for commits. Use local disk, memory://, s3://, gs:// or az://."
            )

    def publish(self, rel: str, data: bytes) -> None:
        """Publish a new file under a name only this writer produces: whole or not at all."""
        self.put_if_absent(rel, data)

    def delete(self, rel: str) -> None:
        try:
            self.fs.rm_file(self.full_path(rel))
        except FileNotFoundError:
            pass


def _driver_error(exc: Exception, path: str) -> Exception:
    """The ``OSError`` for an object-store SDK's own exception, so callers see one error family.

    s3fs and gcsfs translate their errors; adlfs translates only "blob exists" and lets the Azure SDK's
    ``HttpResponseError`` family through (for example ``ResourceNotFoundError`` for a missing container).
    Anything that is not an Azure SDK error is returned unchanged.
    """
    if not type(exc).__module__.startswith("azure."):
        return exc
    message = f"{path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    name = type(exc).__name__
    if name == "ResourceNotFoundError":
        return FileNotFoundError(errno.ENOENT, message)
    if name in ("ResourceExistsError", "ResourceModifiedError"):
        return FileExistsError(errno.EEXIST, message)
    if name == "ClientAuthenticationError":
        return PermissionError(errno.EACCES, message)
    return OSError(errno.EIO, message)


# -- local listings ------------------------------------------------------------------------------------
# A directory's mtime changes whenever an entry is added or removed, but only at the granularity of the
# kernel's coarse clock (a few ms; seconds on some network filesystems). A listing is therefore reused
# only while the directory's mtime is unchanged AND was already older than this when the listing was
# made: a later change then necessarily carries a newer mtime. Listings of directories being written to
# right now are always made afresh.
STABLE_AFTER_NS = 2_000_000_000
_LISTINGS: dict[str, tuple[int, tuple[str, ...], tuple[str, ...]]] = {}
_LISTINGS_MAX = 4096
_LISTINGS_LOCK = threading.Lock()


def _stable_mtime(path: str) -> int | None:
    try:
        mtime = os.stat(path).st_mtime_ns
    except (FileNotFoundError, NotADirectoryError):
        return 0
    return mtime if time.time_ns() - mtime > STABLE_AFTER_NS else None


def _local_children(path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(file names, directory names) directly under ``path``, sorted; temp files left out."""
    stamp = _stable_mtime(path)
    if stamp is not None:
        cached = _LISTINGS.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2]
    files: list[str] = []
    dirs: list[str] = []
    try:
        with os.scandir(path) as entries:
            for e in entries:
                if e.is_dir():
                    dirs.append(e.name)
                elif not e.name.startswith(".tmp-"):
                    files.append(e.name)
    except (FileNotFoundError, NotADirectoryError):
        pass
    found = (tuple(sorted(files)), tuple(sorted(dirs)))
    if stamp:  # stamped before the scan: a change during it makes the next stamp differ
        with _LISTINGS_LOCK:
            if len(_LISTINGS) >= _LISTINGS_MAX:
                _LISTINGS.clear()
            _LISTINGS[path] = (stamp, *found)
    return found


def _local_put_if_absent(path: str, data: bytes, *, durable: bool = True) -> None:
    directory = os.path.dirname(path)
    # Write a private temp file in the same directory, fsync it, then hard-link it to the final name:
    # link() fails with EEXIST instead of replacing, and the final name appears only with all its bytes.
    # (Directories are made only when missing: no makedirs on every publish. Once the temp file is in
    # it, a directory cannot be removed as empty under us.)
    tmp = os.path.join(directory, f".tmp-{uuid.uuid4().hex}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileNotFoundError:
        os.makedirs(directory, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except OSError as exc:
            if isinstance(exc, FileExistsError):
                raise
            # Filesystems without hard links: O_EXCL create of the final name, then write.
            # Not all-or-nothing on a crash, so it is the fallback only.
            _exclusive_write(path, data)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def _exclusive_write(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _filesystem_kwargs(scheme: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor arguments of the fsspec filesystem for ``scheme``: the user's options, plus what the
    store needs from an object-store driver."""
    kwargs = dict(options)
    if scheme in _OBJECT_STORE_SCHEMES:
        # No directory-listings cache. Other processes publish segments and commits all the time, and a
        # cached listing (fsspec's dircache, which ``exists``/``info`` also consult) would hide them from
        # this process for as long as it lives. The option is part of fsspec's instance-cache key, so
        # filesystems the application builds itself (with a cache) are separate instances, left as they are.
        kwargs["use_listings_cache"] = False
    if scheme in ("gs", "gcs"):
        _gcsfs_emulator_setting(options)
    return kwargs


def _gcsfs_emulator_setting(options: Mapping[str, Any]) -> None:
    """Keep gcsfs from probing an emulator over gRPC.

    gcsfs >= 2026 replaces its filesystem class with ``ExtendedGcsFileSystem`` unless
    ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT`` is false, and reads that variable once, when ``gcsfs`` is imported.
    The extended class asks the Storage Control gRPC API (over TLS) for every bucket's layout; a local GCS
    emulator has no such API, and each lookup fails after a 60 s timeout. So when the store is an emulator
    (an ``endpoint_url`` option or ``STORAGE_EMULATOR_HOST``), gcsfs is not imported yet, and the user has not
    set the variable, it is set to false here. Real GCS endpoints keep gcsfs's default.
    """
    import sys

    if "gcsfs" in sys.modules or "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT" in os.environ:
        return
    if options.get("endpoint_url") or os.environ.get("STORAGE_EMULATOR_HOST"):
        os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"


def open_location(uri: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None) -> Location:
    """Resolve a tracking or artifact URI (a local path, ``file://``, ``memory://`` or any fsspec URL)."""
    import fsspec

    options = dict(storage_options or {})
    text = os.fspath(uri)
    if not text:
        raise UnsupportedURIError("The store URI is empty; give a local path or an fsspec URL.")
    scheme, sep, _ = text.partition("://")
    if not sep and ":" in text and text.split(":", 1)[0] in _NOT_A_FILESYSTEM:
        scheme, sep = text.split(":", 1)[0], ":"
    scheme = scheme.lower() if sep else ""
    if not sep and text.lower() in ("databricks", "databricks-uc"):
        scheme = text.lower()
    if scheme in _NOT_A_FILESYSTEM:
        raise UnsupportedURIError(
            f"The URI {text!r} names {_NOT_A_FILESYSTEM[scheme]}, which eventlog does not serve. eventlog "
            "stores runs as Parquet files: give a local directory (e.g. ./mlruns), file://, memory:// or an "
            "object-store URL such as s3://bucket/prefix."
        )
    if scheme in ("", "file", "local"):
        path = text[len("file://") :] if scheme == "file" else text
        if scheme == "local":
            path = text[len("local://") :]
        root = os.path.abspath(os.path.expanduser(path))
        fs = fsspec.filesystem("file")
        return Location(uri=Path(root).as_uri(), fs=fs, root=root, storage_options=options)
    try:
        fs, root = fsspec.core.url_to_fs(text, **_filesystem_kwargs(scheme, options))
    except (ImportError, ValueError) as exc:
        raise UnsupportedURIError(f"Cannot open {text!r}: {exc}") from exc
    return Location(uri=text.rstrip("/"), fs=fs, root=str(root).rstrip("/"), storage_options=options)
