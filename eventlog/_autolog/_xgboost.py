"""XGBoost autologging: ``xgboost.train`` and the scikit-learn API, as ``mlflow.xgboost.autolog``.

``xgboost.train`` logs, in a managed run: the booster params, the other ``train`` arguments
(``num_boost_round``, ``early_stopping_rounds``, ``maximize``, ``verbose_eval``, ``custom_metric``...),
``<eval name>-<metric>`` at step = iteration for every ``evals`` entry, and with early stopping
``stopped_iteration``, ``best_iteration`` and the best iteration's metrics again at the step after the
last one; ``feature_importance_<type>.json`` / ``.png`` per importance type; the model (``model/``).
The sklearn API (XGBClassifier...) runs the same ``train`` (without its model logging) and logs the
model as the estimator class after ``fit``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from eventlog._autolog import _gbm, _patch
from eventlog._autolog._gbm import log_feature_importance, patch_metric_names
from eventlog._autolog._sklearn import SklearnTrainingSession
from eventlog._autolog._utils import arg_names
from eventlog._autolog._warnings import logger

__all__ = ["autolog_impl"]

FLAVOR_NAME = "xgboost"
_UNLOGGED_TRAIN_ARGS = [
    "params",
    "dtrain",
    "evals",
    "obj",
    "feval",
    "evals_result",
    "xgb_model",
    "callbacks",
    "learning_rates",
]


def _callback_class() -> type:
    import xgboost

    class AutologCallback(xgboost.callback.TrainingCallback):
        def __init__(self, training: _gbm.Training) -> None:
            super().__init__()
            self.training = training

        def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, dict[str, Any]]) -> bool:
            self.record(epoch, evals_log)
            return False

        @_patch.exception_safe
        def record(self, epoch: int, evals_log: dict[str, dict[str, Any]]) -> None:
            values: dict[str, Any] = {}
            for data_name, metrics in evals_log.items():
                for metric_name, history in patch_metric_names(metrics).items():
                    values[f"{data_name}-{metric_name}"] = history[-1]
            self.training.record(values, epoch)

    return AutologCallback


def autolog_impl(importance_types: list[str] | None, model_format: str, **settings: Any) -> None:
    """Apply the patches; ``settings`` are the other arguments of ``eventlog.xgboost.autolog()``."""
    import xgboost

    importance_types = ["weight"] if importance_types is None else importance_types
    callback_class = _callback_class()

    def train_impl(log_model: bool, original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        training = _gbm.Training(original, args, kwargs, _UNLOGGED_TRAIN_ARGS)
        model = training.run(callback_class(training))
        if log_model:
            from eventlog import xgboost as xgb_flavor

            training.log_model(
                functools.partial(xgb_flavor.log_model, model_format=model_format),
                "dtrain",
                lambda data: model.predict(xgboost.DMatrix(data)),
                settings["log_input_examples"],
                settings["log_model_signatures"],
            )

        early_stopping_index = arg_names(original).index("early_stopping_rounds")
        if len(args) > early_stopping_index or kwargs.get("early_stopping_rounds"):
            training.log_best_iteration(len(training.eval_results) - 1, model.best_iteration)

        for importance_type in importance_types:
            importance = None
            plot = None
            try:
                importance = model.get_score(importance_type=importance_type)
                features, values = zip(*importance.items(), strict=True)
                plot = (features, values)
            except Exception:
                logger.exception(
                    "Failed to log feature importance plot. XGBoost autologging will ignore the failure "
                    "and continue. Exception: "
                )
            log_feature_importance("XGBoost", importance_type, importance, plot)
        return training.result()

    def train(log_model: bool, original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        session = SklearnTrainingSession.get_current_session()
        if session is None or session.should_log():
            return train_impl(log_model, original, *args, **kwargs)
        return original(*args, **kwargs)

    _patch.safe_patch(FLAVOR_NAME, xgboost.DMatrix, "__init__", _gbm.patched_dataset_init)
    _gbm.patch_training(FLAVOR_NAME, xgboost, train, settings)
