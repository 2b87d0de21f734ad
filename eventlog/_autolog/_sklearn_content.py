"""What sklearn autologging records about a fitted estimator: training metrics, plots, the HTML view,
and the child runs of a parameter search. Names, arguments and conditions are MLflow's
(``mlflow/sklearn/utils.py``), so the same fit gives the same keys and values."""

from __future__ import annotations

import inspect
import os
import tempfile
import warnings
from collections.abc import Callable
from copy import deepcopy
from numbers import Number
from typing import Any, NamedTuple

from eventlog._autolog._client import AutologgingClient, now_ms
from eventlog._autolog._warnings import logger

__all__ = [
    "TRAINING_PREFIX",
    "create_child_runs_for_parameter_search",
    "estimator_info_tags",
    "get_X_y_and_sample_weight",
    "is_parameter_search_estimator",
    "log_estimator_content",
    "log_parameter_search_results_as_artifact",
]

TRAINING_PREFIX = "training_"
_SAMPLE_WEIGHT = "sample_weight"
PARENT_RUN_ID_TAG = "mlflow.parentRunId"


class _Metric(NamedTuple):
    name: str
    function: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class _Artifact(NamedTuple):
    name: str
    function: Callable[..., Any]
    kwargs: dict[str, Any]
    title: str


def estimator_info_tags(estimator: Any) -> dict[str, str]:
    cls = estimator.__class__
    return {"estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__name__}"}


def _arg_names(fn: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(fn).parameters)


def get_X_y_and_sample_weight(
    fit_func: Callable[..., Any], fit_args: tuple[Any, ...], fit_kwargs: dict[str, Any]
) -> tuple[Any, Any, Any]:
    """(X, y, sample_weight) of a fit call; X and y are copied so training can't mutate them."""
    names = _arg_names(fit_func)
    x_name, y_name = names[:2]
    if len(fit_args) >= 2:
        X, y = fit_args[:2]
    elif len(fit_args) == 1:
        X, y = fit_args[0], fit_kwargs.get(y_name)
    else:
        X, y = fit_kwargs[x_name], fit_kwargs.get(y_name)
    X = deepcopy(X) if X is not None else None
    y = deepcopy(y) if y is not None else None
    sample_weight = None
    if _SAMPLE_WEIGHT in names:
        index = names.index(_SAMPLE_WEIGHT)
        if len(fit_args) > index:
            sample_weight = fit_args[index]
        elif _SAMPLE_WEIGHT in fit_kwargs:
            sample_weight = fit_kwargs[_SAMPLE_WEIGHT]
    return X, y, sample_weight


def is_parameter_search_estimator(estimator: Any) -> bool:
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    return isinstance(estimator, (GridSearchCV, RandomizedSearchCV))


def _compute(metrics: list[_Metric]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for metric in metrics:
        try:
            values[metric.name] = metric.function(*metric.args, **metric.kwargs)
        except Exception as exc:
            logger.warning(
                "%s failed. The metric %s will not be recorded. Metric error: %s",
                getattr(metric.function, "__qualname__", metric.function),
                metric.name,
                exc,
            )
    return values


def _classifier_metrics(
    estimator: Any, prefix: str, X: Any, y_true: Any, sample_weight: Any, pos_label: Any
) -> dict[str, Any]:
    import sklearn.metrics

    average = "weighted" if pos_label is None else "binary"
    y_pred = estimator.predict(X)
    common = {"pos_label": pos_label, "average": average, "sample_weight": sample_weight}
    metrics = [
        _Metric(prefix + "precision_score", sklearn.metrics.precision_score, (y_true, y_pred), common),
        _Metric(prefix + "recall_score", sklearn.metrics.recall_score, (y_true, y_pred), common),
        _Metric(prefix + "f1_score", sklearn.metrics.f1_score, (y_true, y_pred), common),
        _Metric(
            prefix + "accuracy_score",
            sklearn.metrics.accuracy_score,
            (y_true, y_pred),
            {"normalize": True, "sample_weight": sample_weight},
        ),
    ]
    if hasattr(estimator, "predict_proba"):
        y_proba = estimator.predict_proba(X)
        # Positional: sklearn 1.9 renamed log_loss's second argument (y_pred -> y_proba).
        metrics.append(
            _Metric(
                prefix + "log_loss",
                sklearn.metrics.log_loss,
                (y_true, y_proba),
                {"sample_weight": sample_weight},
            )
        )
        if len(y_proba[0]) == 2:
            y_proba = y_proba[:, 1]  # binary: the scores of the greater label
        metrics.append(
            _Metric(
                prefix + "roc_auc",
                sklearn.metrics.roc_auc_score,
                (),
                {
                    "y_true": y_true,
                    "y_score": y_proba,
                    "average": "weighted",
                    "sample_weight": sample_weight,
                    "multi_class": "ovo",
                },
            )
        )
    return _compute(metrics)


def _regressor_metrics(
    estimator: Any, prefix: str, X: Any, y_true: Any, sample_weight: Any
) -> dict[str, Any]:
    import numpy as np
    import sklearn.metrics

    y_pred = estimator.predict(X)
    kwargs = {"sample_weight": sample_weight, "multioutput": "uniform_average"}
    values = _compute(
        [
            _Metric(
                prefix + "mean_squared_error", sklearn.metrics.mean_squared_error, (y_true, y_pred), kwargs
            ),
            _Metric(
                prefix + "mean_absolute_error", sklearn.metrics.mean_absolute_error, (y_true, y_pred), kwargs
            ),
            _Metric(prefix + "r2_score", sklearn.metrics.r2_score, (y_true, y_pred), kwargs),
        ]
    )
    values[prefix + "root_mean_squared_error"] = np.sqrt(values[prefix + "mean_squared_error"])
    return values


def _classifier_artifacts(
    estimator: Any, prefix: str, X: Any, y_true: Any, sample_weight: Any
) -> list[_Artifact]:
    import sklearn.metrics

    def plot_confusion_matrix(**kwargs: Any) -> Any:
        import matplotlib
        import matplotlib.pyplot as plt

        labels = getattr(estimator, "classes_", None)
        if labels is None:
            labels = set(y_true)
        with matplotlib.rc_context(
            {
                "font.size": min(8.0, 50.0 / len(labels)),
                "axes.labelsize": 8.0,
                "figure.dpi": 175,
            }
        ):
            _, ax = plt.subplots(1, 1, figsize=(6.0, 4.0))
            return sklearn.metrics.ConfusionMatrixDisplay.from_estimator(**kwargs, ax=ax)

    artifacts = [
        _Artifact(
            prefix + "confusion_matrix",
            plot_confusion_matrix,
            {
                "estimator": estimator,
                "X": X,
                "y": y_true,
                "sample_weight": sample_weight,
                "normalize": "true",
                "cmap": "Blues",
            },
            "Normalized confusion matrix",
        )
    ]
    if len(set(y_true)) == 2:
        common = {"estimator": estimator, "X": X, "y": y_true, "sample_weight": sample_weight}
        artifacts.append(
            _Artifact(
                prefix + "roc_curve", sklearn.metrics.RocCurveDisplay.from_estimator, common, "ROC curve"
            )
        )
        artifacts.append(
            _Artifact(
                prefix + "precision_recall_curve",
                sklearn.metrics.PrecisionRecallDisplay.from_estimator,
                common,
                "Precision recall curve",
            )
        )
    return artifacts


def _log_plots(run_id: str, estimator: Any, artifacts: list[_Artifact]) -> None:
    try:
        import matplotlib
        import matplotlib.pyplot as plt
    except ImportError as exc:
        logger.warning("Failed to import matplotlib (error: %r). Skipping artifact logging.", exc)
        return
    from eventlog import MlflowClient

    config: Any = {"savefig.dpi": 175, "figure.autolayout": True, "font.size": 8}
    with tempfile.TemporaryDirectory(prefix="eventlog-autolog-") as tmp:
        for artifact in artifacts:
            try:
                with matplotlib.rc_context(config):
                    display = artifact.function(**artifact.kwargs)
                    display.ax_.set_title(artifact.title)
                    display.figure_.savefig(fname=os.path.join(tmp, f"{artifact.name}.png"), format="png")
                    plt.close(display.figure_)
            except Exception as exc:
                logger.warning(
                    "%s failed. The artifact %s will not be recorded. Artifact error: %s",
                    getattr(artifact.function, "__qualname__", artifact.function),
                    artifact.name,
                    exc,
                )
        if os.listdir(tmp):
            MlflowClient().log_artifacts(run_id, tmp)


def _log_specialized_content(
    client: AutologgingClient,
    estimator: Any,
    run_id: str,
    prefix: str,
    X: Any,
    y_true: Any,
    sample_weight: Any,
    pos_label: Any,
) -> dict[str, Any]:
    import sklearn.base

    metrics: dict[str, Any] = {}
    if y_true is not None:
        try:
            if sklearn.base.is_classifier(estimator):
                metrics = _classifier_metrics(estimator, prefix, X, y_true, sample_weight, pos_label)
            elif sklearn.base.is_regressor(estimator):
                metrics = _regressor_metrics(estimator, prefix, X, y_true, sample_weight)
        except Exception as exc:
            logger.warning(
                "Failed to autolog metrics for %s. Logging error: %s", estimator.__class__.__name__, exc
            )
        else:
            client.log_metrics(run_id, metrics)
    if sklearn.base.is_classifier(estimator):
        try:
            artifacts = _classifier_artifacts(estimator, prefix, X, y_true, sample_weight)
        except Exception as exc:
            logger.warning(
                "Failed to autolog artifacts for %s. Logging error: %s", estimator.__class__.__name__, exc
            )
            return metrics
        _log_plots(run_id, estimator, artifacts)
    return metrics


def _log_estimator_html(run_id: str, estimator: Any) -> None:
    from sklearn.utils import estimator_html_repr

    from eventlog import MlflowClient

    html = f"""
<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8"/>
  </head>
  <body>
    {estimator_html_repr(estimator)}
  </body>
</html>
    """
    MlflowClient().log_text(run_id, html, artifact_file="estimator.html")


def log_estimator_content(
    client: AutologgingClient,
    estimator: Any,
    run_id: str,
    prefix: str,
    X: Any,
    y_true: Any = None,
    sample_weight: Any = None,
    pos_label: Any = None,
) -> dict[str, Any]:
    """Training metrics (queued on ``client``), classifier plots, ``<prefix>score`` and estimator.html."""
    metrics = _log_specialized_content(client, estimator, run_id, prefix, X, y_true, sample_weight, pos_label)
    if hasattr(estimator, "score") and y_true is not None:
        try:
            score_args = (
                (X, y_true, sample_weight) if _SAMPLE_WEIGHT in _arg_names(estimator.score) else (X, y_true)
            )
            score = estimator.score(*score_args)
        except Exception as exc:
            logger.warning(
                "%s failed. The 'training_score' metric will not be recorded. Scoring error: %s",
                estimator.score.__qualname__,
                exc,
            )
        else:
            client.log_metrics(run_id, {prefix + "score": score})
            metrics[prefix + "score"] = score
    _log_estimator_html(run_id, estimator)
    return metrics


def log_parameter_search_results_as_artifact(cv_results_df: Any, run_id: str) -> None:
    from eventlog import MlflowClient

    with tempfile.TemporaryDirectory(prefix="eventlog-autolog-") as tmp:
        path = os.path.join(tmp, "cv_results.csv")
        cv_results_df.to_csv(path, index=False)
        MlflowClient().log_artifact(run_id, path)


def _log_child_runs_info(max_tuning_runs: int, total_runs: int) -> None:
    logged = min(max_tuning_runs, total_runs)
    rest = total_runs - logged
    if logged == 0:
        logging_phrase = "no runs"
    elif logged == 1:
        logging_phrase = "the best run"
    else:
        logging_phrase = f"the {logged} best runs"
    if rest <= 0:
        omitting_phrase = "no runs"
    elif rest == 1:
        omitting_phrase = "one run"
    else:
        omitting_phrase = f"{rest} runs"
    logger.info("Logging %s, %s will be omitted.", logging_phrase, omitting_phrase)


def create_child_runs_for_parameter_search(
    client: AutologgingClient,
    cv_estimator: Any,
    parent_run: Any,
    max_tuning_runs: int | None,
    child_tags: dict[str, str] | None = None,
) -> None:
    """One FINISHED child run per explored point (the best ``max_tuning_runs`` by rank), queued on
    ``client``: the seed estimator's params with the point's values, the aggregate cv metrics."""
    import pandas as pd

    start_time = parent_run.info.start_time
    end_time = now_ms()
    seed = cv_estimator.estimator
    base_params = seed.get_params(deep=not is_parameter_search_estimator(seed))
    results = pd.DataFrame.from_dict(cv_estimator.cv_results_)
    if max_tuning_runs is None:
        best = results
    else:
        rank_column = "rank_test_score"
        if rank_column not in results.columns.values:
            rank_column = next(c for c in results.columns.values if "rank_test_" in c)
            warnings.warn(
                f"Top {max_tuning_runs} child runs will be created based on ordering in {rank_column} "
                "column.  You can choose not to limit the number of child runs created by setting "
                "`max_tuning_runs=None`.",
                stacklevel=2,
            )
        best = results.nsmallest(max_tuning_runs, rank_column)
        _log_child_runs_info(max_tuning_runs, len(results))
    for _, row in best.iterrows():
        tags = dict(child_tags or {})
        tags[PARENT_RUN_ID_TAG] = parent_run.info.run_id
        tags.update(estimator_info_tags(seed))
        child = client.create_run(parent_run.info.experiment_id, start_time=start_time, tags=tags)
        params = dict(base_params)
        params.update(row.get("params", {}))
        client.log_params(child, params)
        metrics = {
            key: value
            for key, value in row.items()
            if not any(str(key).startswith(prefix) for prefix in ("param", "split"))
            and isinstance(value, Number)
        }
        client.log_metrics(child, metrics)
        client.set_terminated(child, end_time=end_time)
