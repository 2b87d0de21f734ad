"""The ``eventlog`` command: look at a store from the shell. Text by default, ``--json`` for machines.

The store: ``experiments``, ``runs`` and ``run`` take ``--uri``; ``compact`` takes it as its optional
positional argument (``eventlog compact [URI]``). Without one, every command uses the tracking URI of
the environment: ``$EVENTLOG_TRACKING_URI``, then ``$MLFLOW_TRACKING_URI``, else ``./mlruns``
(``$EVENTLOG_STORAGE_OPTIONS`` gives the fsspec options). Errors are turned into a one-line message and
exit code 1 in one place (``_errors``).
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from eventlog.exceptions import MlflowException

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])

_URI = click.option(
    "--uri",
    envvar="EVENTLOG_TRACKING_URI",
    default=None,
    help="Store location (path or fsspec URL). Default: $EVENTLOG_TRACKING_URI, "
    "$MLFLOW_TRACKING_URI, ./mlruns.",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def _errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MlflowException as exc:
            click.echo(f"error: {exc.message} [{exc.error_code}]", err=True)
            sys.exit(1)
        except (OSError, ValueError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _client(uri: str | None) -> Any:
    from eventlog._client import MlflowClient

    return MlflowClient(uri)


def _time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@click.group()
@click.version_option(package_name="eventlog")
def main() -> None:
    """eventlog: MLflow-compatible experiment tracking on an append-only Parquet event log."""


@main.command()
@_URI
@_JSON
@click.option("--all", "show_all", is_flag=True, help="Include deleted experiments.")
@_errors
def experiments(uri: str | None, as_json: bool, show_all: bool) -> None:
    """List experiments."""
    from eventlog.entities import ViewType

    found = _client(uri).search_experiments(view_type=ViewType.ALL if show_all else ViewType.ACTIVE_ONLY)
    if as_json:
        click.echo(json.dumps([dict(e) for e in found], default=str))
        return
    for e in found:
        deleted = " (deleted)" if e.lifecycle_stage == "deleted" else ""
        click.echo(f"{e.experiment_id:>6}  {e.name}{deleted}  created {_time(e.creation_time)}")


@main.command()
@_URI
@_JSON
@click.option("--experiment-id", "-e", "experiment_ids", multiple=True, help="Experiment id (repeatable).")
@click.option(
    "--experiment-name", "-n", "experiment_names", multiple=True, help="Experiment name (repeatable)."
)
@_errors
def runs(
    uri: str | None, as_json: bool, experiment_ids: tuple[str, ...], experiment_names: tuple[str, ...]
) -> None:
    """List the runs of experiments (default: all active experiments), newest first."""
    client = _client(uri)
    ids = list(experiment_ids)
    for name in experiment_names:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise MlflowException(f"No experiment named {name!r}", "RESOURCE_DOES_NOT_EXIST")
        ids.append(experiment.experiment_id)
    if not ids:
        ids = [e.experiment_id for e in client.search_experiments()]
    found = client._store.runs_in_experiments(ids)
    found.sort(key=lambda r: (-r.info.start_time, r.info.run_id))
    if as_json:
        click.echo(json.dumps([r.to_dictionary() for r in found], default=str))
        return
    for r in found:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(r.data.metrics.items()))
        click.echo(
            f"{r.info.run_id}  {r.info.run_name:<22} {r.info.status:<9} exp {r.info.experiment_id:<4} "
            f"{_time(r.info.start_time)}  {metrics}"
        )


@main.command()
@click.argument("run_id")
@_URI
@_JSON
@_errors
def run(run_id: str, uri: str | None, as_json: bool) -> None:
    """Show one run: its info, params, latest metrics and tags."""
    found = _client(uri).get_run(run_id)
    if as_json:
        click.echo(json.dumps(found.to_dictionary(), default=str))
        return
    info = found.info
    click.echo(
        f"run {info.run_id}  name {info.run_name}  status {info.status}  lifecycle {info.lifecycle_stage}"
    )
    click.echo(
        f"experiment {info.experiment_id}  started {_time(info.start_time)}  ended {_time(info.end_time)}"
    )
    for title, values in (
        ("params", found.data.params),
        ("metrics", found.data.metrics),
        ("tags", found.data.tags),
    ):
        click.echo(f"{title}:")
        for key in sorted(values):
            click.echo(f"  {key} = {values[key]}")


@main.command()
@click.argument("uri", required=False)
@click.option(
    "--experiment", "-e", "experiment_ids", multiple=True, help="Compact only this experiment (repeatable)."
)
@click.option(
    "--retention",
    type=float,
    default=None,
    help="Seconds a folded segment or an old view is kept after the commit that replaced it "
    "(default 3600: readers that started before the commit can still finish).",
)
@click.option(
    "--settle",
    is_flag=True,
    help="Compact an experiment again while writers left a tail of 16 segments or more during the last "
    "round (at most 5 rounds); what automatic compaction runs.",
)
@_JSON
@_errors
def compact(
    uri: str | None, experiment_ids: tuple[str, ...], retention: float | None, settle: bool, as_json: bool
) -> None:
    """Fold new events into the Parquet views of each experiment (and the experiment catalog).

    Safe to run at any time, from several machines at once: a crashed or losing compactor changes
    nothing, and reads return the same answers before and after.
    """
    from eventlog._registry import get_store
    from eventlog.views import DEFAULT_RETENTION_S, compact_stream, store_streams, tail_stats

    store = get_store(uri).ready()
    store.flush()
    location = store.location
    streams = store_streams(location, list(experiment_ids) or None)
    results = []
    show_bar = sys.stderr.isatty() and not as_json
    for stream in streams:
        if show_bar:
            with click.progressbar(length=1, label=f"{stream.name:<24}", file=sys.stderr) as bar:

                def progress(done: int, total: int, bar: Any = bar) -> None:
                    bar.length = total
                    bar.update(done - bar.pos)

                result = compact_stream(
                    location,
                    stream,
                    retention_s=retention if retention is not None else DEFAULT_RETENTION_S,
                    progress=progress,
                )
        else:
            result = compact_stream(
                location, stream, retention_s=retention if retention is not None else DEFAULT_RETENTION_S
            )
        results.append(result)
        rounds = 1
        while settle and stream.kind == "partition" and rounds < _SETTLE_ROUNDS:
            if tail_stats(location, stream.name.rsplit("/", 1)[1])[0] < _SETTLE_TAIL:
                break
            rounds += 1
            results.append(
                compact_stream(
                    location,
                    stream,
                    retention_s=retention if retention is not None else DEFAULT_RETENTION_S,
                )
            )
    if as_json:
        click.echo(json.dumps([{**vars(r), "status": r.status} for r in results]))
        return
    for r in results:
        version = (
            f"v{r.version}"
            if r.version is not None
            else (f"v{r.previous_version}" if r.previous_version else "-")
        )
        click.echo(
            f"{r.stream:<24} {r.status:<10} {version:<6} segments {r.segments:>6}  events {r.events:>10,}  "
            f"rows {r.runs:>8,}  removed {r.removed_segments} segments / {r.removed_views} views  "
            f"{r.seconds:.2f}s"
        )
        for rel, why in r.quarantined.items():
            click.echo(f"  quarantined {rel}: {why}", err=True)
    total_q = sum(len(r.quarantined) for r in results)
    click.echo(
        f"{len(results)} streams, {sum(r.segments for r in results)} segments, "
        f"{sum(r.events for r in results):,} events folded, {total_q} quarantined"
    )


_SETTLE_ROUNDS = 5
_SETTLE_TAIL = 16  # (the automatic compactor's exit threshold, eventlog._autocompact.EXIT_MIN_SEGMENTS)


if __name__ == "__main__":  # pragma: no cover
    main()
