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
    fn_args_as_params,
    resolve_input_example_and_signature,
)

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


def autolog_impl(
    log_input_examples: bool,
    log_model_signatures: bool,
    log_models: bool,
    log_datasets: bool,
    disable: bool,
    exclusive: bool,
    disable_for_unsupported_versions: bool,
    silent: bool,
    extra_tags: dict[str, Any] | None,
) -> None:
    import lightgbm

    import eventlog

    def make_callback(
        metrics_logger: BatchMetricsLogger, eval_results: list[dict[str, Any]]
    ) -> Callable[[Any], None]:
        def eventlog_autolog_callback(env: Any) -> None:
            values = {}
            for item in env.evaluation_result_list:
                values[f"{item[0]}-{item[1]}"] = item[2]
            values = patch_metric_names(values)
            metrics_logger.record_metrics(values, env.iteration)
            eval_results.append(values)

        return _patch.exception_safe(eventlog_autolog_callback)

    def train_impl(log_model: bool, original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        import numpy as np

        run = eventlog.active_run()
        assert run is not None
        run_id = run.info.run_id
        client = AutologgingClient()
        booster_params = args[0] if args else kwargs["params"]
        client.log_params(run_id, booster_params)
        client.log_params(run_id, fn_args_as_params(original, args, kwargs, _UNLOGGED_TRAIN_ARGS))
        pre_training_error: Exception | None = None
        try:
            client.flush()
        except Exception as exc:
            pre_training_error = exc

        train_set = args[1] if len(args) > 1 else kwargs.get("train_set")
        eval_results: list[dict[str, Any]] = []
        metrics_logger = BatchMetricsLogger(run_id)
        args, kwargs = insert_callback(original, args, kwargs, make_callback(metrics_logger, eval_results))
        try:
            model = original(*args, **kwargs)
        finally:
            metrics_logger.flush()

        if model.best_iteration > 0:
            extra_step = len(eval_results)
            client.log_metrics(
                run_id, {"stopped_iteration": extra_step, "best_iteration": model.best_iteration}
            )
            client.log_metrics(run_id, eval_results[model.best_iteration - 1], step=extra_step)
            client.flush()

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
            info = getattr(train_set, INPUT_EXAMPLE_ATTR, None)

            def get_input_example() -> Any:
                if info is None:
                    raise Exception(ENSURE_AUTOLOGGING_ENABLED_TEXT)
                if info.error_msg is not None:
                    raise Exception(info.error_msg)
                return info.input_example

            def infer_model_signature(input_example: Any) -> Any:
                from eventlog.models import infer_signature

                return infer_signature(input_example, model.predict(input_example))

            input_example, signature = resolve_input_example_and_signature(
                get_input_example, infer_model_signature, log_input_examples, log_model_signatures
            )
            from eventlog import lightgbm as lgb_flavor

            lgb_flavor.log_model(model, name="model", signature=signature, input_example=input_example)
        if pre_training_error is not None:
            raise pre_training_error
        return model

    def train(log_model: bool, original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with SklearnTrainingSession(estimator=_TRAIN_SESSION_KEY, allow_children=False) as session:
            if session.should_log():
                return train_impl(log_model, original, *args, **kwargs)
            return original(*args, **kwargs)

    _patch.safe_patch(FLAVOR_NAME, lightgbm.Dataset, "__init__", patched_dataset_init)
    _patch.safe_patch(
        FLAVOR_NAME,
        lightgbm,
        "train",
        functools.partial(train, log_models),
        manage_run=True,
        extra_tags=extra_tags,
    )
    # The sklearn API logs its model itself (as the estimator class), after fit.
    _patch.safe_patch(
        FLAVOR_NAME,
        lightgbm.sklearn,
        "train",
        functools.partial(train, False),
        manage_run=True,
        extra_tags=extra_tags,
    )
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
