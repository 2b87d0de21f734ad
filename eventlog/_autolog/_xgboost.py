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

from eventlog._autolog import _patch
from eventlog._autolog._client import AutologgingClient
from eventlog._autolog._gbm import (
    INPUT_EXAMPLE_ATTR,
    BatchMetricsLogger,
    insert_callback,
    log_feature_importance,
    patch_metric_names,
    patched_dataset_init,
)
from eventlog._autolog._sklearn import SklearnTrainingSession
from eventlog._autolog._sklearn import autolog_impl as sklearn_autolog_impl
from eventlog._autolog._utils import (
    ENSURE_AUTOLOGGING_ENABLED_TEXT,
    arg_names,
    fn_args_as_params,
    resolve_input_example_and_signature,
)
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
        def __init__(self, metrics_logger: BatchMetricsLogger, eval_results: list[dict[str, Any]]) -> None:
            super().__init__()
            self.metrics_logger = metrics_logger
            self.eval_results = eval_results

        def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, dict[str, Any]]) -> bool:
            try:
                values: dict[str, Any] = {}
                for data_name, metrics in evals_log.items():
                    for metric_name, history in patch_metric_names(metrics).items():
                        values[f"{data_name}-{metric_name}"] = history[-1]
                self.metrics_logger.record_metrics(values, epoch)
                self.eval_results.append(values)
            except Exception as exc:
                from eventlog._autolog._config import is_testing

                if is_testing():
                    raise
                logger.warning("Encountered unexpected error during autologging: %s", exc)
            return False

    return AutologCallback


def autolog_impl(
    importance_types: list[str] | None,
    log_input_examples: bool,
    log_model_signatures: bool,
    log_models: bool,
    log_datasets: bool,
    disable: bool,
    exclusive: bool,
    disable_for_unsupported_versions: bool,
    silent: bool,
    model_format: str,
    extra_tags: dict[str, Any] | None,
) -> None:
    import xgboost

    import eventlog

    importance_types = ["weight"] if importance_types is None else importance_types
    callback_class = _callback_class()

    def train_impl(log_model: bool, original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        run = eventlog.active_run()
        assert run is not None
        run_id = run.info.run_id
        client = AutologgingClient()
        booster_params = args[0] if args else kwargs["params"]
        client.log_params(run_id, booster_params)
        train_params = fn_args_as_params(original, args, kwargs, _UNLOGGED_TRAIN_ARGS)
        client.log_params(run_id, train_params)
        pre_training_error: Exception | None = None
        try:
            client.flush()
        except Exception as exc:
            pre_training_error = exc

        names = arg_names(original)
        dtrain = args[1] if len(args) > 1 else kwargs.get("dtrain")
        eval_results: list[dict[str, Any]] = []
        metrics_logger = BatchMetricsLogger(run_id)
        args, kwargs = insert_callback(original, args, kwargs, callback_class(metrics_logger, eval_results))
        try:
            model = original(*args, **kwargs)
        finally:
            metrics_logger.flush()

        if log_model:
            info = getattr(dtrain, INPUT_EXAMPLE_ATTR, None)

            def get_input_example() -> Any:
                if info is None:
                    raise Exception(ENSURE_AUTOLOGGING_ENABLED_TEXT)
                if info.error_msg is not None:
                    raise Exception(info.error_msg)
                return info.input_example

            def infer_model_signature(input_example: Any) -> Any:
                from eventlog.models import infer_signature

                return infer_signature(input_example, model.predict(xgboost.DMatrix(input_example)))

            input_example, signature = resolve_input_example_and_signature(
                get_input_example, infer_model_signature, log_input_examples, log_model_signatures
            )
            from eventlog import xgboost as xgb_flavor

            xgb_flavor.log_model(
                model,
                name="model",
                signature=signature,
                input_example=input_example,
                model_format=model_format,
            )

        early_stopping_index = names.index("early_stopping_rounds")
        if len(args) > early_stopping_index or kwargs.get("early_stopping_rounds"):
            extra_step = len(eval_results)
            client.log_metrics(
                run_id, {"stopped_iteration": extra_step - 1, "best_iteration": model.best_iteration}
            )
            client.log_metrics(run_id, eval_results[model.best_iteration], step=extra_step)
            client.flush()

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
        if pre_training_error is not None:
            raise pre_training_error
        return model

    def train(log_model: bool, original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        session = SklearnTrainingSession.get_current_session()
        if session is None or session.should_log():
            return train_impl(log_model, original, *args, **kwargs)
        return original(*args, **kwargs)

    _patch.safe_patch(
        FLAVOR_NAME,
        xgboost,
        "train",
        functools.partial(train, log_models),
        manage_run=True,
        extra_tags=extra_tags,
    )
    # The sklearn API logs its model itself (as the estimator class), after fit.
    _patch.safe_patch(
        FLAVOR_NAME,
        xgboost.sklearn,
        "train",
        functools.partial(train, False),
        manage_run=True,
        extra_tags=extra_tags,
    )
    _patch.safe_patch(FLAVOR_NAME, xgboost.DMatrix, "__init__", patched_dataset_init)
    sklearn_autolog_impl(
        flavor_name=FLAVOR_NAME,
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_models=log_models,
        log_datasets=log_datasets,
        disable=disable,
        exclusive=exclusive,
        disable_for_unsupported_versions=disable_for_unsupported_versions,
        silent=silent,
        max_tuning_runs=None,
        log_post_training_metrics=True,
        extra_tags=extra_tags,
    )
