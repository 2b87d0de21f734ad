"""MlflowClient's artifact methods (``ArtifactClientMixin``): path rules, media and transfer put together."""

from __future__ import annotations

import json
import logging
import os
import posixpath
import tempfile
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from eventlog._artifacts import _paths, _transfer
from eventlog._writer import now_ms
from eventlog.entities import FileInfo, LifecycleStage, Run
from eventlog.exceptions import ResourceDoesNotExist

if TYPE_CHECKING:
    import pandas

    from eventlog._store import TrackingStore

__all__ = ["LOGGED_ARTIFACTS_TAG", "LOGGED_IMAGES_TAG", "ArtifactClientMixin"]

_log = logging.getLogger("eventlog")

LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"
LOGGED_IMAGES_TAG = "mlflow.loggedImages"

# ``_media`` is imported by the functions that convert: ``import eventlog`` does not load it.


class ArtifactClientMixin:
    """MlflowClient's artifact methods; needs ``self._store`` (a TrackingStore)."""

    _store: TrackingStore

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Upload a local file, or a directory (under its own name), to the run's artifact root."""
        _transfer.log_artifact(self._store, run_id, local_path, artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Upload the contents of a local directory to ``artifact_path`` under the run's artifact root."""
        _transfer.log_artifacts(self._store, run_id, local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        _log_text(self._store, run_id, text, artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """JSON (``indent=2``, ``default=str``), or YAML for ``.yml``/``.yaml`` files."""
        _log_dict(self._store, run_id, dictionary, artifact_file)

    def log_figure(
        self, run_id: str, figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
    ) -> None:
        """A matplotlib figure (``savefig``) or a plotly figure (HTML, or an image for png/jpeg/...)."""
        _log_figure(self._store, run_id, figure, artifact_file, save_kwargs)

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """A numpy array or PIL image, saved as ``artifact_file``, or as step ``step`` of the image series
        ``key``. Uploads are always done before the call returns, whatever ``synchronous`` says."""
        _log_image(self._store, run_id, image, artifact_file, key, step, timestamp)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """A dict or DataFrame as a ``.json`` (``{"columns": ..., "data": ...}``) or ``.parquet`` table;
        appended to the table already logged under that name."""
        _log_table(self._store, run_id, data, artifact_file)

    def load_table(
        self,
        experiment_id: str,
        artifact_file: str,
        run_ids: list[str] | None = None,
        extra_columns: list[str] | None = None,
    ) -> pandas.DataFrame:
        return _load_table(self._store, experiment_id, artifact_file, run_ids, extra_columns)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The files and directories directly under ``path`` (sorted; directories have no size).
        A missing path, or a file, lists as empty."""
        return _transfer.list_artifacts(self._store, run_id, path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        """Download a file or directory to ``dst_path`` (created if needed; a new temp directory if None)
        and return the local path."""
        return _transfer.download_artifacts(self._store, run_id, path, dst_path)

    def _artifact_uri(self, run_id: str, artifact_path: str | None = None) -> str:
        """The URI of the run's artifact root, or of ``artifact_path`` under it (the fluent
        ``get_artifact_uri``; MLflow's client has no such method)."""
        return _transfer.artifact_uri(self._store, run_id, artifact_path)


# -- text, dicts, figures ----------------------------------------------------------------------------
def _log_text(store: TrackingStore, run_id: str, text: str, artifact_file: str) -> None:
    from eventlog._artifacts import _media

    with _transfer.staged_file(store, run_id, artifact_file) as path:
        _media.write_text(path, text)


def _log_dict(store: TrackingStore, run_id: str, dictionary: Any, artifact_file: str) -> None:
    from eventlog._artifacts import _media

    extension = os.path.splitext(os.fspath(artifact_file))[1]
    with _transfer.staged_file(store, run_id, artifact_file) as path:
        _media.write_dict(path, dictionary, extension)


def _log_figure(
    store: TrackingStore,
    run_id: str,
    figure: Any,
    artifact_file: str,
    save_kwargs: dict[str, Any] | None = None,
) -> None:
    from eventlog._artifacts import _media

    options = dict(save_kwargs or {})
    with _transfer.staged_file(store, run_id, artifact_file) as path:
        _media.save_figure(figure, path, artifact_file, options)


# -- images ------------------------------------------------------------------------------------------
def _log_image(
    store: TrackingStore,
    run_id: str,
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
) -> None:
    from eventlog._artifacts import _media

    if artifact_file is not None and any(arg is not None for arg in (key, step, timestamp)):
        raise TypeError(
            "The `artifact_file` parameter cannot be used in conjunction with `key`, `step`, or "
            "`timestamp` parameters. Please ensure that `artifact_file` is specified alone, without any "
            "of these conflicting parameters."
        )
    if artifact_file is None and key is None:
        raise TypeError(
            "Invalid arguments: Please specify exactly one of `artifact_file` or `key`. Use `key` to log "
            "dynamic image charts or `artifact_file` for saving static images. "
        )
    if artifact_file is not None:
        _paths.split_artifact_file(artifact_file)  # a bad path fails before the image is converted
    pil = _media.to_pil(image)
    if artifact_file is not None:
        with _transfer.staged_file(store, run_id, artifact_file) as path:
            pil.save(path)
        return
    assert key is not None
    _paths.check_image_key(key)
    # The key/step series: a full image and a thumbnail per step, named so that the UI can group them
    # ('/' in the key becomes '~': the files stay directly under images/).
    base = f"images/{key.replace('/', '~')}+step+{step or 0}+timestamp+{timestamp or now_ms()}+{uuid.uuid4()}"
    thumbnail = _media.thumbnail(pil)
    with _transfer.staged_file(store, run_id, f"{base}.png") as path:
        pil.save(path)
    with _transfer.staged_file(store, run_id, f"{base}+compressed.webp") as path:
        thumbnail.save(path)
    store.set_tag(run_id, LOGGED_IMAGES_TAG, True)


# -- tables ------------------------------------------------------------------------------------------
def _log_table(store: TrackingStore, run_id: str, data: Any, artifact_file: str) -> None:
    import pandas as pd

    from eventlog._artifacts import _media

    _paths.check_table_file(artifact_file)
    if not artifact_file.endswith((".json", ".parquet")):
        raise ValueError(
            f"Invalid artifact file path '{artifact_file}'. Please ensure the file you are trying to log as "
            "a table has a file name with either '.json' or '.parquet' extension."
        )
    directory, name = _paths.split_artifact_file(artifact_file)
    frame = _media.table_frame(data)

    table_name = os.path.splitext(artifact_file)[0]
    for column in frame.columns:
        if _media.image_column(frame, column) and len(frame):
            frame[column] = frame[column].map(
                lambda image: _log_table_image(store, run_id, image, table_name)
            )

    rel = _paths.join(directory, name)
    listing = _transfer.list_artifacts(store, run_id, directory or None)
    if any(f.path == rel and not f.is_dir for f in listing):
        with tempfile.TemporaryDirectory(prefix="eventlog-table-") as tmp:
            existing = _media.read_table(_transfer.download_artifacts(store, run_id, rel, tmp))
        frame = pd.concat([existing, frame], ignore_index=True)
        _log.debug("Appending new table to already existing artifact %s for run %s.", artifact_file, run_id)

    with _transfer.staged_file(store, run_id, artifact_file) as path:
        _media.write_table(frame, path)

    run = store.get_run(run_id)
    logged = json.loads(run.data.tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
    entry = {"path": artifact_file, "type": "table"}
    if entry not in logged:
        logged.append(entry)
        store.set_tag(run_id, LOGGED_ARTIFACTS_TAG, json.dumps(logged))


def _log_table_image(store: TrackingStore, run_id: str, image: Any, table_name: str) -> dict[str, str]:
    from eventlog._artifacts import _media

    base = posixpath.join("table_images", table_name, str(uuid.uuid4()))
    pil = image.to_pil() if callable(getattr(image, "to_pil", None)) else image
    with _transfer.staged_file(store, run_id, f"{base}.png") as path:
        pil.save(path)
    with _transfer.staged_file(store, run_id, f"{base}.webp") as path:
        _media.thumbnail(pil).save(path)
    return {"type": "image", "filepath": f"{base}.png", "compressed_filepath": f"{base}.webp"}


def _logged_tables(run: Run) -> list[Any]:
    try:
        value = json.loads(run.data.tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _load_table(
    store: TrackingStore,
    experiment_id: str,
    artifact_file: str,
    run_ids: Sequence[str] | None = None,
    extra_columns: Sequence[str] | None = None,
) -> pandas.DataFrame:
    import pandas as pd

    from eventlog._artifacts import _media

    _paths.check_table_file(artifact_file)
    wanted = {"path": artifact_file, "type": "table"}
    runs = [
        run
        for run in store.runs_in_experiments([str(experiment_id)])
        if run.info.lifecycle_stage == LifecycleStage.ACTIVE and wanted in _logged_tables(run)
    ]
    if run_ids:
        selected = set(run_ids)
        runs = [run for run in runs if run.info.run_id in selected]
        if len(runs) != len(run_ids):
            _log.warning("Not all runs have the specified table artifact. Some runs will be skipped.")
    if not runs:
        raise ResourceDoesNotExist("No runs found with the corresponding table artifact.")
    # search_runs' default order: newest first, then by id.
    runs.sort(key=lambda run: run.info.run_id)
    runs.sort(key=lambda run: run.info.start_time or 0, reverse=True)
    directory = posixpath.dirname(posixpath.normpath(artifact_file))
    frames = []
    for run in runs:
        run_id = run.info.run_id
        files = [f.path for f in _transfer.list_artifacts(store, run_id, directory or None) if not f.is_dir]
        if artifact_file not in files:
            raise ResourceDoesNotExist(f"Artifact {artifact_file} not found for run {run_id}.")
        with tempfile.TemporaryDirectory(prefix="eventlog-table-") as tmp:
            table = _media.read_table(_transfer.download_artifacts(store, run_id, artifact_file, tmp))
        if extra_columns is not None:
            row = _media.run_row(run)
            for column in extra_columns:
                name = column
                if column in table:
                    name = f"{column}_"
                    _log.warning(
                        "Column name %s already exists in the table. Resolving the conflict, by appending "
                        "an underscore to the column name.",
                        column,
                    )
                table[name] = row[column]
        frames.append(table)
    return pd.concat(frames, ignore_index=True)
