"""The fluent artifact functions: each finds its run and calls the MlflowClient of that run's store."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from eventlog import _fluent
from eventlog._client import MlflowClient

if TYPE_CHECKING:
    import pandas

__all__ = [
    "get_artifact_uri",
    "load_table",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_table",
    "log_text",
]

_log = logging.getLogger("eventlog")


def _target(run_id: str | None) -> tuple[MlflowClient, str]:
    """The client and run to log to: ``run_id`` (which must exist) in the current tracking store, or the
    active run, started if none is, in the store it was started in."""
    if run_id:
        client = MlflowClient()
        return client, client._run_handle(run_id).run_id
    active = _fluent.active_run() or _fluent.start_run()
    return active._client, active.info.run_id


def log_artifact(local_path: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    """Log a local file, or a directory (under its basename), as an artifact of the run."""
    client, run = _target(run_id)
    client.log_artifact(run, local_path, artifact_path)


def log_artifacts(local_dir: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    """Log the contents of a local directory as artifacts of the run."""
    client, run = _target(run_id)
    client.log_artifacts(run, local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Log ``text`` (UTF-8) as the file ``artifact_file`` (e.g. ``"dir/notes.txt"``)."""
    client, run = _target(run_id)
    client.log_text(run, text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Log a dict as JSON, or as YAML when ``artifact_file`` ends with ``.yml``/``.yaml``."""
    client, run = _target(run_id)
    client.log_dict(run, dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None) -> None:
    """Log a matplotlib or plotly figure to the active run."""
    client, run = _target(None)
    client.log_figure(run, figure, artifact_file, save_kwargs=save_kwargs)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = False,
) -> None:
    """Log a numpy array or PIL image to the active run: as ``artifact_file``, or in the ``key`` series."""
    client, run = _target(None)
    client.log_image(run, image, artifact_file, key, step, timestamp, synchronous)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Log a dict or DataFrame as a table (``.json`` or ``.parquet``), appending to an existing one."""
    client, run = _target(run_id)
    client.log_table(run, data, artifact_file)


def load_table(
    artifact_file: str, run_ids: list[str] | None = None, extra_columns: list[str] | None = None
) -> pandas.DataFrame:
    """The table ``artifact_file`` of every run of the current experiment that logged it (or of
    ``run_ids``), concatenated; ``extra_columns`` adds run columns such as ``run_id``."""
    client = MlflowClient()
    return client.load_table(_fluent._get_experiment_id(), artifact_file, run_ids, extra_columns)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The URI of the active run's artifact root, or of ``artifact_path`` under it."""
    if _fluent.active_run() is None:
        _log.warning(
            "No active run found. A new active run will be created. If this is not intended, please create "
            "a run using `mlflow.start_run()` first."
        )
    client, run = _target(None)
    return client._artifact_uri(run, artifact_path)
