"""Transfer via ``eventlog.storage``: a run's artifact root, uploads and their events, listing, downloads."""

from __future__ import annotations

import contextlib
import errno
import os
import pathlib
import posixpath
import tempfile
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from eventlog import _config, storage
from eventlog._artifacts._paths import (
    artifact_dir,
    check_inside,
    file_name,
    join,
    relative,
    split_artifact_file,
)
from eventlog._events import ArtifactLogged
from eventlog.entities import FileInfo
from eventlog.exceptions import InvalidParameterValue, ResourceDoesNotExist

if TYPE_CHECKING:
    from eventlog._runs import RunHandle
    from eventlog._store import TrackingStore

__all__ = [
    "artifact_uri",
    "download_artifacts",
    "list_artifacts",
    "log_artifact",
    "log_artifacts",
    "open_artifact_location",
    "staged_file",
]


# -- the artifact root of a run ----------------------------------------------------------------------
class _RunRoot:
    """Where a run's artifacts live (cached per store and run; never changed once built)."""

    # Not a dataclass: building one generates and compiles its methods, which `import eventlog` would pay.
    __slots__ = ("location", "run_id", "uri")

    def __init__(self, run_id: str, uri: str, location: storage.Location) -> None:
        self.run_id = run_id
        self.uri = uri
        self.location = location

    def check_inside(self, rel: str) -> None:
        check_inside(self.location, rel)


_ROOTS: weakref.WeakKeyDictionary[TrackingStore, dict[str, _RunRoot]] = weakref.WeakKeyDictionary()
_ROOTS_LOCK = threading.Lock()


def _scheme(uri: str) -> str:
    scheme, sep, _ = uri.partition("://")
    scheme = scheme.lower() if sep else ""
    return "file" if scheme in ("", "file", "local") else scheme


def open_artifact_location(store: TrackingStore, uri: str) -> storage.Location:
    """Open an artifact URI: with the tracking store's storage options when it has the store's scheme,
    else with ``EVENTLOG_ARTIFACT_STORAGE_OPTIONS``."""
    if _scheme(uri) == _scheme(store.location.uri):
        options = dict(store.location.storage_options)
    else:
        options = _config.artifact_storage_options_from_env()
    try:
        return storage.open_location(uri, options)
    except storage.UnsupportedURIError as exc:
        raise InvalidParameterValue(f"Cannot open the artifact location {uri!r}: {exc}") from None


def _run_root(store: TrackingStore, run_id: str) -> _RunRoot:
    with _ROOTS_LOCK:
        cached = _ROOTS.setdefault(store, {}).get(run_id)
    if cached is not None:
        return cached
    uri = store.get_run(run_id).info.artifact_uri
    root = _RunRoot(run_id, uri, open_artifact_location(store, uri))
    with _ROOTS_LOCK:
        _ROOTS.setdefault(store, {})[run_id] = root
    return root


def _writable_handle(store: TrackingStore, run_id: str) -> RunHandle:
    handle = store.handle(run_id)
    if handle.writer.error is not None:
        handle.check_writable()  # raises the background flush error
    # A deleted run still takes artifacts, as in MLflow (artifacts bypass its tracking store).
    return handle


def _record(handle: RunHandle, files: Sequence[storage.Transferred]) -> None:
    if files:
        handle.writer.append(
            ArtifactLogged(handle.experiment_id, handle.run_id, f.path, f.size, f"sha256:{f.sha256}")
            for f in files
        )


# -- uploads -----------------------------------------------------------------------------------------
def log_artifact(
    store: TrackingStore,
    run_id: str,
    local_path: str | os.PathLike[str],
    artifact_path: str | os.PathLike[str] | None = None,
) -> None:
    """Upload a local file, or a directory (under its own name), and record an artifact event per file."""
    local = os.fspath(local_path)
    directory = artifact_dir(artifact_path)
    handle = _writable_handle(store, run_id)
    root = _run_root(store, run_id)
    if os.path.isdir(local):
        target = artifact_dir(join(directory, os.path.basename(os.path.normpath(local))))
        root.check_inside(target)
        _check_tree(root, local, target)
        files = storage.upload_tree(local, root.location, target)
    else:
        rel = join(directory, file_name(os.path.basename(local)))
        if not os.path.exists(local):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), local)
        root.check_inside(rel)
        files = [storage.upload_file(local, root.location, rel)]
    _record(handle, files)


def _check_tree(root: _RunRoot, local_dir: str, target: str) -> None:
    """Every file of a tree to upload: no reserved name, no destination through a symlink out of the root."""
    for rel in storage.iter_local_files(local_dir):
        file_name(posixpath.basename(rel))
        root.check_inside(join(target, rel))


def log_artifacts(
    store: TrackingStore,
    run_id: str,
    local_dir: str | os.PathLike[str],
    artifact_path: str | os.PathLike[str] | None = None,
) -> None:
    """Upload the contents of a local directory under ``artifact_path``, an artifact event per file."""
    local = os.fspath(local_dir)
    directory = artifact_dir(artifact_path)
    handle = _writable_handle(store, run_id)
    root = _run_root(store, run_id)
    root.check_inside(directory)
    if not os.path.isdir(local):
        # MLflow walks the path: a missing directory (or a file) logs nothing.
        storage.make_dirs(root.location, directory)
        return
    _check_tree(root, local, directory)
    _record(handle, storage.upload_tree(local, root.location, directory))


@contextlib.contextmanager
def staged_file(store: TrackingStore, run_id: str, artifact_file: str | os.PathLike[str]) -> Iterator[str]:
    """A local temp path to write ``artifact_file``'s content to; logged when the block ends.

    The path is checked before the block runs, so a bad ``artifact_file`` writes nothing anywhere.
    """
    directory, name = split_artifact_file(artifact_file)
    with tempfile.TemporaryDirectory(prefix="eventlog-artifact-") as tmp:
        path = os.path.join(tmp, name)
        yield path
        log_artifact(store, run_id, path, directory or None)


# -- reading -----------------------------------------------------------------------------------------
def list_artifacts(store: TrackingStore, run_id: str, path: str | None = None) -> list[FileInfo]:
    """The files and directories directly under ``path``, read from the artifact storage, sorted."""
    root = _run_root(store, run_id)
    rel = relative(path)
    root.check_inside(rel)
    infos = [FileInfo(join(rel, e.name), e.is_dir, e.size) for e in storage.list_dir(root.location, rel)]
    return sorted(infos, key=lambda f: f.path)


def download_artifacts(
    store: TrackingStore, run_id: str, path: str | None, dst_path: str | os.PathLike[str] | None = None
) -> str:
    """Download a file or directory of the run's artifacts; the local path."""
    if dst_path is not None:
        pathlib.Path(dst_path).mkdir(parents=True, exist_ok=True)
    root = _run_root(store, run_id)
    text = "" if path is None else os.fspath(path)
    rel = relative(text)
    root.check_inside(rel)
    kind = storage.path_kind(root.location, rel)
    if text == "" or text.endswith("/"):
        # The directory's contents go straight into the destination (MLflow: "d/" and "" do that).
        dst = _destination(dst_path)
        if kind == "directory":
            storage.download_tree(root.location, rel, dst)
        return dst
    name = posixpath.basename(rel)
    if kind is None:
        raise ResourceDoesNotExist(
            f"Failed to download artifacts from path {name!r}, please ensure that the path is correct."
        )
    target = os.path.join(_destination(dst_path), name)
    if kind == "directory":
        storage.download_tree(root.location, rel, target)
    else:
        storage.download_file(root.location, rel, target)
    return target


def _destination(dst_path: str | os.PathLike[str] | None) -> str:
    if dst_path is None:
        return tempfile.mkdtemp(prefix="eventlog-artifacts-")
    return os.path.abspath(os.fspath(dst_path))


def artifact_uri(store: TrackingStore, run_id: str, artifact_path: str | None = None) -> str:
    """The URI of the run's artifact root, or of ``artifact_path`` under it."""
    with _ROOTS_LOCK:
        cached = _ROOTS.get(store, {}).get(run_id)
    uri = cached.uri if cached is not None else store.get_run(run_id).info.artifact_uri
    if artifact_path is None:
        return uri
    rel = relative(artifact_path)
    return f"{uri.rstrip('/')}/{rel}" if rel else uri
