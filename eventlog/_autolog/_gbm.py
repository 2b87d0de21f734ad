"""What the XGBoost and LightGBM integrations share: one autologged ``train()`` (params, per-iteration
metrics, early stopping, the model), the patches, metric names, dataset-constructor patches that keep an
input example, feature-importance artifacts."""

from __future__ import annotations

import functools
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from copy import deepcopy
from typing import Any

from eventlog._autolog import _patch
from eventlog._autolog._client import AutologgingClient
from eventlog._autolog._sklearn import autolog_impl as sklearn_autolog_impl
from eventlog._autolog._utils import (
    ENSURE_AUTOLOGGING_ENABLED_TEXT,
    INPUT_EXAMPLE_SAMPLE_ROWS,
    InputExampleInfo,
    arg_names,
    fn_args_as_params,
    resolve_input_example_and_signature,
)
from eventlog._autolog._warnings import logger

__all__ = [
    "INPUT_EXAMPLE_ATTR",
    "BatchMetricsLogger",
    "Training",
    "insert_callback",
    "log_feature_importance",
    "patch_metric_names",
    "patch_training",
    "patched_dataset_init",
]

# Where a patched DMatrix / lightgbm.Dataset keeps the first rows it was built from.
INPUT_EXAMPLE_ATTR = "_eventlog_input_example_info"


class BatchMetricsLogger:
    """Collects per-iteration metrics and writes them as log-batch calls: at the end, and along the way
    whenever a second has passed since the last write (so long trainings show progress)."""

    def __init__(self, run_id: str, flush_interval_s: float = 1.0) -> None:
        self.run_id = run_id
        self._data: list[Any] = []
        self._interval = flush_interval_s
        self._last_flush = time.monotonic()

    def record_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        from eventlog.entities import Metric

        timestamp = int(time.time() * 1000)
        for key, value in metrics.items():
            self._data.append(Metric(key, float(value), timestamp, step or 0))
        if time.monotonic() - self._last_flush >= self._interval:
            self.flush()

    def flush(self) -> None:
        from eventlog import MlflowClient

        data, self._data = self._data, []
        self._last_flush = time.monotonic()
        if data:
            MlflowClient().log_batch(self.run_id, metrics=data)


def patch_metric_names(metrics: dict[str, Any]) -> dict[str, Any]:
    """``@`` is not allowed in metric names: ``ndcg@3`` becomes ``ndcg_at_3``."""
    patched = {name.replace("@", "_at_"): value for name, value in metrics.items()}
    changed = set(patched) - set(metrics)
    if changed:
        logger.info(
            "Identified one or more metrics with names containing the invalid character `@`. These metric "
            "names have been sanitized by replacing `@` with `_at_`, as follows: %s",
            ", ".join(sorted(changed)),
        )
    return patched


def patched_dataset_init(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
    """Keep a copy of the first rows the dataset is built from: the data can't be read back later."""
    data = args[0] if args else kwargs.get("data")
    if data is not None:
        try:
            if isinstance(data, (str, os.PathLike)):
                raise Exception("cannot gather example input when dataset is loaded from a file.")
            info = InputExampleInfo(input_example=deepcopy(data[:INPUT_EXAMPLE_SAMPLE_ROWS]))
        except Exception as exc:
            info = InputExampleInfo(error_msg=str(exc))
        object.__setattr__(self, INPUT_EXAMPLE_ATTR, info)
    return original(self, *args, **kwargs)


def insert_callback(
    original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], callback: Any
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The call's arguments with ``callback`` appended to its ``callbacks`` (the caller's list is not
    modified)."""
    from eventlog._autolog._utils import arg_names

    index = arg_names(original).index("callbacks")
    if len(args) > index:
        new_args = list(args)
        new_args[index] = [*(new_args[index] or []), callback]
        return tuple(new_args), kwargs
    kwargs = dict(kwargs)
    kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), callback]
    return args, kwargs


def _barh_plot(features: Sequence[str], importance: Any, importance_type: str, per_class: bool) -> Any:
    """A horizontal bar chart of importances, sorted ascending; one bar per class when the importances
    are given per class."""
    import matplotlib.pyplot as plt
    import numpy as np

    names = np.array(features)
    values = np.array(importance, dtype=float)
    if values.ndim <= 1:
        order = np.argsort(values)
        names, matrix = names[order], values[order].reshape(-1, 1)
        per_class = False
    else:
        order = np.argsort(np.abs(values).sum(axis=1))
        names, matrix = names[order], values[order]
    n_features, n_classes = len(names), matrix.shape[1]
    width, height = 6.4, 4.8
    if n_features > 10:
        height += 0.1 * n_features
    if n_classes > 1:
        height += 0.1 * n_classes
    fig, ax = plt.subplots(figsize=(width, height))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    offsets = np.linspace(-0.5, 0.5, n_classes) / 2 if n_classes > 1 else [0.0]
    bar_height = 0.5 / max(n_classes - 1, 1)
    ylocs = np.arange(n_features)
    for row, (yloc, per_class_values) in enumerate(zip(ylocs, matrix, strict=True)):
        for cls, (offset, value) in enumerate(zip(offsets, per_class_values, strict=False)):
            bar = ax.barh(
                yloc + offset, value, align="center", height=bar_height, color=colors[cls % len(colors)]
            )
            if per_class and row == 0:
                bar.set_label(f"Class {cls}")
    ax.set_yticks(ylocs)
    ax.set_yticklabels(names)
    ax.set_xlabel("Importance")
    ax.set_title(f"Feature Importance ({importance_type})")
    if per_class:
        ax.legend()
    fig.tight_layout()
    return fig


def log_feature_importance(
    integration: str,
    importance_type: str,
    importance: dict[str, Any] | None,
    plot: tuple[Sequence[str], Any] | None,
    json_indent: int | None = None,
) -> None:
    """``feature_importance_<type>.png`` (when ``plot`` is given and drawable) and
    ``feature_importance_<type>.json`` (when ``importance`` is given), in the active run."""
    import eventlog

    if plot is not None:
        try:
            import matplotlib.pyplot as plt

            fig = _barh_plot(plot[0], plot[1], importance_type, per_class=True)
            with tempfile.TemporaryDirectory(prefix="eventlog-autolog-") as tmp:
                try:
                    path = os.path.join(tmp, f"feature_importance_{importance_type}.png")
                    fig.savefig(path)
                    eventlog.log_artifact(path)
                finally:
                    plt.close(fig)
        except Exception:
            logger.exception(
                "Failed to log feature importance plot. %s autologging will ignore the failure and "
                "continue. Exception: ",
                integration,
            )
    if importance is not None:
        with tempfile.TemporaryDirectory(prefix="eventlog-autolog-") as tmp:
            path = os.path.join(tmp, f"feature_importance_{importance_type}.json")
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(importance, fh, indent=json_indent)
            eventlog.log_artifact(path)


class Training:
    """One autologged ``train()`` call in the active run, as MLflow logs it.

    Built before training, it logs the booster params (``train``'s first argument) and the other
    arguments but ``unlogged_args``; :meth:`run` trains with a callback that passes each iteration's
    evaluation metrics to :meth:`record`; then the integration logs what it logs after training and
    returns :meth:`result`, which raises a failure to log the params only now (training goes on)."""

    def __init__(
        self,
        original: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        unlogged_args: list[str],
    ) -> None:
        import eventlog

        run = eventlog.active_run()
        assert run is not None
        self.run_id = run.info.run_id
        self.client = AutologgingClient()
        self.original, self.args, self.kwargs = original, args, kwargs
        self.model: Any = None
        self.eval_results: list[dict[str, Any]] = []  # each iteration's metrics, by name
        self._metrics_logger = BatchMetricsLogger(self.run_id)
        self._params_error: Exception | None = None
        self.client.log_params(self.run_id, args[0] if args else kwargs["params"])
        self.client.log_params(self.run_id, fn_args_as_params(original, args, kwargs, unlogged_args))
        try:
            self.client.flush()
        except Exception as exc:
            self._params_error = exc

    def argument(self, name: str) -> Any:
        """The ``train()`` argument ``name``, given by position or keyword (None if not given)."""
        index = arg_names(self.original).index(name)
        return self.args[index] if len(self.args) > index else self.kwargs.get(name)

    def run(self, callback: Any) -> Any:
        """Train with ``callback`` added to the call's callbacks; the model."""
        args, kwargs = insert_callback(self.original, self.args, self.kwargs, callback)
        try:
            self.model = self.original(*args, **kwargs)
        finally:
            self._metrics_logger.flush()
        return self.model

    def record(self, metrics: dict[str, Any], iteration: int) -> None:
        """An iteration's evaluation metrics, logged at step = iteration."""
        self._metrics_logger.record_metrics(metrics, iteration)
        self.eval_results.append(metrics)

    def log_best_iteration(self, stopped_iteration: int, best_index: int) -> None:
        """Early stopping: ``stopped_iteration`` and the model's ``best_iteration``, then the metrics of
        the best iteration (``eval_results[best_index]``) again at the step after the last one."""
        extra_step = len(self.eval_results)
        self.client.log_metrics(
            self.run_id, {"stopped_iteration": stopped_iteration, "best_iteration": self.model.best_iteration}
        )
        self.client.log_metrics(self.run_id, self.eval_results[best_index], step=extra_step)
        self.client.flush()

    def log_model(
        self,
        log_model: Callable[..., Any],
        dataset_arg: str,
        predict: Callable[[Any], Any],
        log_input_examples: bool,
        log_model_signatures: bool,
    ) -> None:
        """Log the model as ``model`` with ``log_model`` (the flavor's), with the input example kept by
        the training dataset (the ``dataset_arg`` argument) and the signature of ``predict`` on it."""
        info = getattr(self.argument(dataset_arg), INPUT_EXAMPLE_ATTR, None)

        def get_input_example() -> Any:
            if info is None:
                raise Exception(ENSURE_AUTOLOGGING_ENABLED_TEXT)
            if info.error_msg is not None:
                raise Exception(info.error_msg)
            return info.input_example

        def infer_model_signature(input_example: Any) -> Any:
            from eventlog.models import infer_signature

            return infer_signature(input_example, predict(input_example))

        input_example, signature = resolve_input_example_and_signature(
            get_input_example, infer_model_signature, log_input_examples, log_model_signatures
        )
        log_model(self.model, name="model", signature=signature, input_example=input_example)

    def result(self) -> Any:
        if self._params_error is not None:
            raise self._params_error
        return self.model


def patch_training(
    flavor_name: str, library: Any, train: Callable[..., Any], settings: dict[str, Any]
) -> None:
    """Patch ``library.train`` (``train(log_model, original, *args, **kwargs)``; it logs the model when
    ``log_models``) and the ``train`` of its scikit-learn API, whose estimators log the model themselves
    after ``fit``, as their class; then autolog the scikit-learn API as scikit-learn autologging does,
    without parameter-search runs. ``settings``: the autolog() arguments scikit-learn's takes too."""
    for module, log_model in ((library, settings["log_models"]), (library.sklearn, False)):
        _patch.safe_patch(
            flavor_name,
            module,
            "train",
            functools.partial(train, log_model),
            manage_run=True,
            extra_tags=settings["extra_tags"],
        )
    sklearn_autolog_impl(
        flavor_name=flavor_name, max_tuning_runs=None, log_post_training_metrics=True, **settings
    )
