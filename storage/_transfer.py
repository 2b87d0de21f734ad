"""Streaming file transfer between local paths and any location (local disk, memory://, object stores).

Nothing here reads a whole file into memory: bytes move in ``CHUNK_SIZE`` pieces, and the SHA-256 of an
uploaded file is computed from the same pieces as they pass. On object stores, fsspec's buffered writer
turns the stream into a multipart upload, so a file becomes visible whole when its upload completes.
On local disk a file is written to a hidden temp file (``TEMP_PREFIX``) in its target directory and
renamed into place: readers never see half a file, and listings skip the temp files.

Artifact files are user files, not store files: logging the same path again replaces the file (as in
MLflow). Paths are ``/``-separated and relative to a :class:`~storage.Location`'s root; checking that a
path stays inside the root is the caller's job (``eventlog`` validates artifact paths before calling).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from eventlog.storage._location import Location

__all__ = [
    "CHUNK_SIZE",
    "TEMP_PREFIX",
    "Entry",
    "Transferred",
    "download_file",
    "download_tree",
    "iter_local_files",
    "list_dir",
    "make_dirs",
    "path_kind",
    "sha256_file",
    "upload_file",
    "upload_tree",
]

CHUNK_SIZE = 8 * 1024 * 1024
# Object stores have no directories: creating one is pointless (and on s3fs may try to create a bucket).
_OBJECT_STORES = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl"}
# Hidden temp files of uploads in progress (the prefix MLflow's local artifact repository reserves too).
TEMP_PREFIX = ".artifact.uploading."


@dataclass(frozen=True)
class Entry:
    """One entry of a directory listing; ``size`` is None for directories."""

    name: str
    is_dir: bool
    size: int | None


@dataclass(frozen=True)
class Transferred:
    """A file that was uploaded: its path relative to the location root, size and SHA-256 (hex)."""

    path: str
    size: int
    sha256: str


def _join(*parts: str) -> str:
    return posixpath.join(*[p for p in parts if p]) if any(parts) else ""


def _copy_stream(src: BinaryIO, dst: BinaryIO, digest: Any = None) -> int:
    """Copy ``src`` to ``dst`` in chunks, feeding ``digest``; returns the number of bytes copied."""
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    total = 0
    readinto = getattr(src, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buffer)
            chunk = view[:n] if n else b""
        else:
            data = src.read(CHUNK_SIZE)
            n = len(data)
            chunk = data
        if not n:
            return total
        if digest is not None:
            digest.update(chunk)
        dst.write(chunk)
        total += n


def sha256_file(path: str | os.PathLike[str]) -> tuple[int, str]:
    """(size, hex SHA-256) of a local file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    with open(path, "rb") as fh:
        while n := fh.readinto(buffer):
            digest.update(view[:n])
            size += n
    return size, digest.hexdigest()


@contextlib.contextmanager
def _local_atomic_writer(path: str) -> Iterator[BinaryIO]:
    """A temp file next to ``path``, renamed onto it when the block succeeds, removed when it fails."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    if os.path.isdir(path):
        raise IsADirectoryError(21, "Is a directory", path)
    tmp = os.path.join(directory, f"{TEMP_PREFIX}{uuid.uuid4().hex}")
    # O_EXCL on a fresh random name; mode 0o666 less the umask, as open() would give the final file.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_to(dest: Location, rel: str, fill: Callable[[BinaryIO], None]) -> None:
    """Run ``fill(file)`` on a new file at ``rel`` of ``dest`` that appears whole or not at all."""
    path = dest.full_path(rel)
    if dest.is_local:
        with _local_atomic_writer(path) as fh:
            fill(fh)
        return
    parent = posixpath.dirname(path)
    if parent and _has_directories(dest):
        dest.fs.makedirs(parent, exist_ok=True)
    with dest.fs.open(path, "wb", block_size=CHUNK_SIZE) as fh:
        fill(fh)


def upload_file(local_path: str | os.PathLike[str], dest: Location, rel: str) -> Transferred:
    """Stream a local file to ``rel`` under ``dest``; returns its size and SHA-256."""
    digest = hashlib.sha256()
    size = 0
    target = dest.full_path(rel)
    if dest.is_local:
        with contextlib.suppress(OSError):
            if os.path.samefile(local_path, target):  # logging a file onto itself: nothing to copy
                size, hex_digest = sha256_file(local_path)
                return Transferred(rel, size, hex_digest)

    def fill(out: BinaryIO) -> None:
        nonlocal size
        with open(local_path, "rb") as src:
            size = _copy_stream(src, out, digest)

    _write_to(dest, rel, fill)
    return Transferred(rel, size, digest.hexdigest())


def upload_tree(local_dir: str | os.PathLike[str], dest: Location, rel: str) -> list[Transferred]:
    """Upload every file under ``local_dir`` to ``rel`` under ``dest`` (empty directories too, where the
    filesystem has directories). Returns the files, in walk order."""
    root = os.fspath(local_dir)
    done: list[Transferred] = []
    directories = _has_directories(dest)
    if directories:
        dest.fs.makedirs(dest.full_path(rel), exist_ok=True)
    for dirpath, dirnames, filenames in os.walk(root):
        sub = os.path.relpath(dirpath, root)
        sub_rel = "" if sub == os.curdir else sub.replace(os.sep, "/")
        if directories:
            for name in dirnames:
                dest.fs.makedirs(dest.full_path(_join(rel, sub_rel, name)), exist_ok=True)
        for name in sorted(filenames):
            done.append(upload_file(os.path.join(dirpath, name), dest, _join(rel, sub_rel, name)))
    return done


def iter_local_files(local_dir: str | os.PathLike[str]) -> Iterator[str]:
    """Relative ``/``-separated paths of the files under ``local_dir`` (what ``upload_tree`` uploads)."""
    root = os.fspath(local_dir)
    for dirpath, _dirnames, filenames in os.walk(root):
        sub = os.path.relpath(dirpath, root)
        sub_rel = "" if sub == os.curdir else sub.replace(os.sep, "/")
        for name in sorted(filenames):
            yield _join(sub_rel, name)


def _has_directories(location: Location) -> bool:
    proto = location.fs.protocol
    protocols = {proto} if isinstance(proto, str) else set(proto)
    return not protocols & _OBJECT_STORES


def make_dirs(location: Location, rel: str) -> None:
    """Create the directory ``rel`` (and its parents) where the filesystem has directories."""
    if _has_directories(location):
        location.fs.makedirs(location.full_path(rel), exist_ok=True)


def download_file(src: Location, rel: str, local_path: str | os.PathLike[str]) -> int:
    """Stream ``rel`` under ``src`` to ``local_path`` (replaced whole); returns the number of bytes."""
    target = os.path.abspath(os.fspath(local_path))
    source = src.full_path(rel)
    size = 0
    if src.is_local:
        if not os.path.isfile(source):
            raise FileNotFoundError(2, "No such file or directory", source)
        with _local_atomic_writer(target) as out:
            with open(source, "rb") as fh:
                size = _copy_stream(fh, out)
        return size
    with _local_atomic_writer(target) as out, src.fs.open(source, "rb", block_size=CHUNK_SIZE) as fh:
        size = _copy_stream(fh, out)
    return size


def download_tree(src: Location, rel: str, local_dir: str | os.PathLike[str]) -> list[str]:
    """Download every file under the directory ``rel`` of ``src`` into ``local_dir`` (created, with the
    empty directories). Returns the local paths of the files."""
    target = os.path.abspath(os.fspath(local_dir))
    os.makedirs(target, exist_ok=True)
    files: list[str] = []
    for sub, is_dir in _walk(src, rel):
        local = os.path.join(target, *sub.split("/"))
        if is_dir:
            os.makedirs(local, exist_ok=True)
        else:
            download_file(src, _join(rel, sub), local)
            files.append(local)
    return files


def _walk(location: Location, rel: str) -> Iterator[tuple[str, bool]]:
    """(path relative to ``rel``, is_dir) of everything below the directory ``rel``."""
    base = location.full_path(rel)
    if location.is_local:
        for dirpath, dirnames, filenames in os.walk(base):
            sub = os.path.relpath(dirpath, base)
            sub_rel = "" if sub == os.curdir else sub.replace(os.sep, "/")
            for name in sorted(dirnames):
                yield _join(sub_rel, name), True
            for name in sorted(filenames):
                if not name.startswith(TEMP_PREFIX):
                    yield _join(sub_rel, name), False
        return
    found = location.fs.find(base, withdirs=True, detail=True)
    prefix = base.rstrip("/") + "/"
    for name, info in sorted(found.items()):
        name = str(name).rstrip("/")
        if not name.startswith(prefix):
            continue
        sub_rel = name[len(prefix) :]
        if posixpath.basename(sub_rel).startswith(TEMP_PREFIX):
            continue
        yield sub_rel, info.get("type") == "directory"


def path_kind(location: Location, rel: str) -> str | None:
    """``"file"``, ``"directory"`` or None (absent) for ``rel`` under ``location``."""
    path = location.full_path(rel)
    if location.is_local:
        if os.path.isdir(path):
            return "directory"
        return "file" if os.path.isfile(path) else None
    try:
        info = location.fs.info(path)
    except FileNotFoundError:
        return None
    return "directory" if info.get("type") == "directory" else "file"


def list_dir(location: Location, rel: str) -> list[Entry]:
    """Entries directly under the directory ``rel``, sorted by name; ``[]`` if it is absent or a file."""
    path = location.full_path(rel)
    entries: list[Entry] = []
    if location.is_local:
        try:
            with os.scandir(path) as it:
                for e in it:
                    if e.name.startswith(TEMP_PREFIX):
                        continue
                    if e.is_dir():
                        entries.append(Entry(e.name, True, None))
                    else:
                        entries.append(Entry(e.name, False, e.stat().st_size))
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(entries, key=lambda e: e.name)
    try:
        listing = location.fs.ls(path, detail=True, refresh=True)
    except (FileNotFoundError, NotADirectoryError):
        return []
    own = path.rstrip("/")
    for info in listing:
        name = str(info["name"]).rstrip("/")
        if name == own or name.lstrip("/") == own.lstrip("/"):
            return []  # ``ls`` of a file lists the file itself
        if posixpath.dirname(name).lstrip("/") != own.lstrip("/"):
            # Some object stores answer ``ls`` of an absent "dir" with keys that merely start with it
            # ("model" -> "model.pkl"): only entries whose parent is the listed path belong to it.
            continue
        base = posixpath.basename(name)
        if base.startswith(TEMP_PREFIX):
            continue
        if info.get("type") == "directory":
            entries.append(Entry(base, True, None))
        else:
            entries.append(Entry(base, False, int(info.get("size") or 0)))
    return sorted(entries, key=lambda e: e.name)
