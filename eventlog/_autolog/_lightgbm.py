"""LightGBM autologging: ``lightgbm.train`` and the scikit-learn API, as ``mlflow.lightgbm.autolog``.

``lightgbm.train`` logs, in a managed run: the booster params and the other ``train`` arguments
(``num_boost_round``, ``keep_training_booster``...), ``<data name>-<eval name>`` (``valid_0-l2``,
``training-multi_logloss``...) at step = iteration, and when the model has a best iteration (early
stopping) ``stopped_iteration``, ``best_iteration`` and that iteration's metrics again at the step after
the last one; ``feature_importance_split`` and ``feature_importance_gain`` as JSON and PNG; the model
(``model/``). The sklearn API (LGBMClassifier...) runs the same ``train`` (without its model logging)
and logs the model as the estimator class after ``fit``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventlog._autolog import _gbm, _patch
from eventlog._autolog._gbm import log_feature_importance, patch_metric_names
from eventlog._autolog._sklearn import SklearnTrainingSession

__all__ = ["autolog_impl"]

FLAVOR_NAME = "lightgbm"
_UNLOGGED_TRAIN_ARGS = [
    "params",
    "train_set",
    "valid_sets",
    "valid_names",
    "fobj",
    "feval",
    "init_model",
    "learning_rates",
    "callbacks",
]
# The "estimator" of lightgbm.train's training sessions: a sklearn-API fit around it still logs.
_TRAIN_SESSION_KEY = object()


def _callback(training: _gbm.Training) -> Callable[[Any], None]:
    def eventlog_autolog_callback(env: Any) -> None:
        values = {f"{item[0]}-{item[1]}": item[2] for item in env.evaluation_result_list}
        training.record(patch_metric_names(values), env.iteration)

    return _patch.exception_safe(eventlog_autolog_callback)


def autolog_impl(**settings: Any) -> None:
    """Apply the patches; ``settings`` are the arguments of ``eventlog.lightgbm.autolog()``."""
    import lightgbm

    def train_impl(log_model: bool, original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        import numpy as np

        training = _gbm.Training(original, args, kwargs, _UNLOGGED_TRAIN_ARGS)
        model = training.run(_callback(training))
        # best_iteration is set (> 0) by early stopping.
        if model.best_iteration > 0:
            training.log_best_iteration(len(training.eval_results), model.best_iteration - 1)

        for importance_type in ("split", "gain"):
            features = model.feature_name()
            importance = model.feature_importance(importance_type=importance_type)
            log_feature_importance(
                "LightGBM",
                importance_type,
                dict(zip(features, np.asarray(importance).tolist(), strict=False)),
                (features, importance),
                json_indent=2,
            )

        if log_model:
            from eventlog import lightgbm as lgb_flavor

            training.log_model(
                lgb_flavor.log_model,
                "train_set",
                model.predict,
                settings["log_input_examples"],
                settings["log_model_signatures"],
            )
        return training.result()

    def train(log_model: bool, original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with SklearnTrainingSession(estimator=_TRAIN_SESSION_KEY, allow_children=False) as session:
            if session.should_log():
                return train_impl(log_model, original, *args, **kwargs)
            return original(*args, **kwargs)

    _patch.safe_patch(FLAVOR_NAME, lightgbm.Dataset, "__init__", _gbm.patched_dataset_init)
    _gbm.patch_training(FLAVOR_NAME, lightgbm, train, settings)
