"""scikit-learn autologging (also the sklearn-API half of the XGBoost and LightGBM integrations).

What is patched, as in MLflow 3.17:

- every class of ``sklearn.utils.all_estimators()`` plus GridSearchCV, RandomizedSearchCV and Pipeline,
  except the ``sklearn.preprocessing`` / ``impute`` / ``feature_extraction`` / ``feature_selection``
  modules and ColumnTransformer: ``fit``, ``fit_transform``, ``fit_predict`` (in a managed run);
  ``predict``, ``predict_proba``, ``predict_log_proba``, ``transform`` and ``score`` (to record
  post-training metrics);
- every function of ``sklearn.metrics.__all__`` (but the scorer factories and plot helpers), to log
  post-training metrics computed on a fitted model's predictions;
- ``cross_validate``, ``cross_val_score``, ``cross_val_predict``, ``learning_curve``,
  ``permutation_test_score``, ``validation_curve``: autologging is off inside them.

Only the outermost ``fit`` of a nest logs (a Pipeline's steps and a search's inner fits do not), except
for the XGBoost / LightGBM estimators, whose inner ``train`` call logs params and metrics while the
patched ``fit`` logs the model.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterator
from copy import deepcopy
from typing import Any

from eventlog._autolog import _patch
from eventlog._autolog._client import AutologgingClient
from eventlog._autolog._config import disable_autologging, get_autologging_config
from eventlog._autolog._sklearn_content import (
    TRAINING_PREFIX,
    create_child_runs_for_parameter_search,
    estimator_info_tags,
    get_X_y_and_sample_weight,
    is_parameter_search_estimator,
    log_estimator_content,
    log_parameter_search_results_as_artifact,
)
from eventlog._autolog._utils import (
    INPUT_EXAMPLE_SAMPLE_ROWS,
    inspect_original_var_name,
    instance_method_first_arg,
    resolve_input_example_and_signature,
)
from eventlog._autolog._warnings import logger

__all__ = ["METRICS_MANAGER", "SklearnTrainingSession", "autolog_impl"]

SklearnTrainingSession = _patch.new_training_session_class()

_EXCLUDED_MODULES = (
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.feature_extraction",
    "sklearn.feature_selection",
)
_EXCLUDED_CLASSES = ("sklearn.compose._column_transformer.ColumnTransformer",)
_METRIC_API_EXCLUDED = ("check_scoring", "get_scorer", "make_scorer", "get_scorer_names")
APIS_AUTOLOGGING_DISABLED = (
    "cross_validate",
    "cross_val_predict",
    "cross_val_score",
    "learning_curve",
    "permutation_test_score",
    "validation_curve",
)


@functools.lru_cache(maxsize=4)
def _estimators_to_patch(sklearn_version: str) -> tuple[type, ...]:
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    classes = {cls for _, cls in all_estimators()} | {GridSearchCV, RandomizedSearchCV, Pipeline}
    return tuple(
        sorted(
            (
                cls
                for cls in classes
                if not cls.__module__.startswith(_EXCLUDED_MODULES)
                and f"{cls.__module__}.{cls.__name__}" not in _EXCLUDED_CLASSES
            ),
            key=lambda cls: (cls.__module__, cls.__name__),
        )
    )


def sklearn_estimators_to_patch() -> tuple[type, ...]:
    import sklearn

    return _estimators_to_patch(sklearn.__version__)


def _xgboost_estimators_to_patch() -> list[type]:
    import xgboost

    base = xgboost.sklearn.XGBModel
    return [
        cls
        for _, cls in inspect.getmembers(xgboost.sklearn, inspect.isclass)
        if issubclass(cls, base) and cls is not base
    ]


def _lightgbm_estimators_to_patch() -> list[type]:
    import lightgbm

    base = lightgbm.sklearn._LGBMModelBase
    return [
        cls
        for _, cls in inspect.getmembers(lightgbm.sklearn, inspect.isclass)
        if cls.__module__.split(".")[0] == "lightgbm" and issubclass(cls, base) and cls is not base
    ]


def metric_api_names() -> list[str]:
    from sklearn import metrics

    names = []
    for name in metrics.__all__:
        fn = getattr(metrics, name, None)
        if (
            name not in _METRIC_API_EXCLUDED
            and not inspect.isclass(fn)
            and callable(fn)
            and not name.startswith("plot_")
        ):
            names.append(name)
    return names


# -- post-training metrics -----------------------------------------------------------------------------
class _MetricsManager:
    """Which run a fitted model belongs to, which run and dataset a prediction came from, and the
    metric calls made so far per run (for key indexes and ``metric_info.json``). Holds ids, never
    the user's data or models."""

    def __init__(self) -> None:
        self._model_runs: dict[int, str] = {}
        self._model_ids: dict[int, str] = {}
        self._predictions: dict[int, tuple[str, str, str | None]] = {}
        self._eval_datasets: defaultdict[str, defaultdict[str, list[int]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self._calls: defaultdict[str, defaultdict[str, list[tuple[str, str]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self._needs_update: defaultdict[str, bool] = defaultdict(bool)
        self._enabled = True

    def should_log_post_training_metrics(self) -> bool:
        return not SklearnTrainingSession.is_active() and self._enabled

    @contextlib.contextmanager
    def disabled(self) -> Iterator[None]:
        previous = self._enabled
        self._enabled = False
        try:
            yield
        finally:
            self._enabled = previous

    def _remember(self, table: dict[int, Any], obj: Any, value: Any) -> None:
        key = id(obj)
        table[key] = value
        with contextlib.suppress(TypeError):  # not weak-referenceable: kept until the id is reused
            weakref.finalize(obj, table.pop, key, None)

    def register_model(self, model: Any, run_id: str) -> None:
        self._remember(self._model_runs, model, run_id)

    def get_run_id_for_model(self, model: Any) -> str | None:
        return self._model_runs.get(id(model))

    def record_model_id(self, model: Any, model_id: str) -> None:
        self._remember(self._model_ids, model, model_id)

    def get_model_id_for_model(self, model: Any) -> str | None:
        return self._model_ids.get(id(model))

    @staticmethod
    def is_metric_value_loggable(value: Any) -> bool:
        import numpy as np

        return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)

    @staticmethod
    def name_with_index(name: str, index: int) -> str:
        return name if index == 0 else f"{name}-{index + 1}"

    def register_prediction_input_dataset(self, model: Any, eval_dataset: Any) -> str:
        # Called straight from the patched method, so the variable name is the caller's.
        name = inspect_original_var_name(eval_dataset, fallback_name="unknown_dataset")
        run_id = self.get_run_id_for_model(model) or ""
        registered = self._eval_datasets[run_id][name]
        try:
            index = registered.index(id(eval_dataset))
        except ValueError:
            index = len(registered)
            registered.append(id(eval_dataset))
        return self.name_with_index(name, index)

    def register_prediction_result(
        self, run_id: str, dataset_name: str, result: Any, model_id: str | None = None
    ) -> None:
        self._remember(self._predictions, result, (dataset_name, run_id, model_id))

    @staticmethod
    def gen_metric_call_command(
        self_obj: Any, metric_fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> str:
        import numpy as np

        def arg_to_str(arg: Any) -> str:
            if arg is None or np.isscalar(arg):
                if isinstance(arg, str) and len(arg) > 32:
                    return repr(arg[:32] + "...")
                return repr(arg)
            return inspect_original_var_name(arg, fallback_name=f"<{arg.__class__.__name__}>")

        names = list(inspect.signature(metric_fn).parameters)
        if self_obj is not None:
            names.pop(0)
            fn_name = f"{self_obj.__class__.__name__}.{metric_fn.__name__}"
        else:
            fn_name = metric_fn.__name__
        parts = []
        # Plain loops: a comprehension's frame would shadow the caller's variable names.
        for name, arg in zip(names, args, strict=False):
            parts.append(f"{name}={arg_to_str(arg)}")
        for name, arg in kwargs.items():
            parts.append(f"{name}={arg_to_str(arg)}")
        return f"{fn_name}({', '.join(parts)})"

    def register_metric_api_call(
        self, run_id: str, metric_name: str, dataset_name: str, call_command: str
    ) -> str:
        calls = self._calls[run_id][metric_name]
        key = f"{self.name_with_index(metric_name, len(calls))}_{dataset_name}"
        calls.append((key, call_command))
        self._needs_update[run_id] = True
        return key

    def get_info_for_metric_api_call(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[str | None, str | None, str | None]:
        import numpy as np

        for arg in [*args, *kwargs.values()]:
            if arg is not None and not np.isscalar(arg) and id(arg) in self._predictions:
                dataset_name, run_id, model_id = self._predictions[id(arg)]
                return run_id, dataset_name, model_id
        return None, None, None

    def log_post_training_metric(self, run_id: str, key: str, value: Any) -> None:
        from eventlog import MlflowClient

        client = MlflowClient()
        client.log_metric(run_id, key, float(value))
        if self._needs_update[run_id]:
            commands: list[tuple[str, str]] = []
            for calls in self._calls[run_id].values():
                commands.extend(calls)
            commands.sort(key=lambda item: item[0])
            client.log_dict(run_id, dict(commands), "metric_info.json")
            self._needs_update[run_id] = False


METRICS_MANAGER = _MetricsManager()


# -- patching -------------------------------------------------------------------------------------------
def _patch_method_if_available(
    flavor: str,
    cls: type,
    name: str,
    patch_fn: Callable[..., Any],
    manage_run: bool,
    extra_tags: dict[str, Any] | None = None,
) -> None:
    if not hasattr(cls, name):
        return
    try:
        raw = _patch.get_original(cls, name)
    except AttributeError:
        return
    bound = raw.__get__(None, cls) if hasattr(raw, "__get__") else raw
    if bound is raw and inspect.isfunction(raw):
        _patch.safe_patch(flavor, cls, name, patch_fn, manage_run=manage_run, extra_tags=extra_tags)
    elif hasattr(raw, "delegate_names") or hasattr(raw, "check"):
        # sklearn's available_if / if_delegate_has_method descriptors: patch the function they hold.
        _patch.safe_patch(flavor, raw, "fn", patch_fn, manage_run=manage_run, extra_tags=extra_tags)


def autolog_impl(
    flavor_name: str = "sklearn",
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = 5,
    log_post_training_metrics: bool = True,
    serialization_format: str = "cloudpickle",
    pos_label: Any = None,
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Apply the patches of ``flavor_name`` (sklearn, or the sklearn API of xgboost / lightgbm)."""
    import eventlog
    from eventlog.exceptions import MlflowException

    if max_tuning_runs is not None and max_tuning_runs < 0:
        raise MlflowException(
            f"`max_tuning_runs` must be non-negative, instead got {max_tuning_runs}.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    import sklearn.metrics
    import sklearn.model_selection

    def active_run_id() -> str:
        run = eventlog.active_run()
        assert run is not None
        return run.info.run_id

    def fit_gbm(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
        """XGBoost / LightGBM sklearn API: params and metrics come from the patched ``train``; the
        model is logged here, as the estimator class."""
        example_error: Exception | None = None
        example: Any = None
        try:
            example = deepcopy(
                get_X_y_and_sample_weight(self.fit, args, kwargs)[0][:INPUT_EXAMPLE_SAMPLE_ROWS]
            )
        except Exception as exc:
            example_error = exc

        def get_input_example() -> Any:
            if example_error is not None:
                raise example_error
            return example

        result = original(self, *args, **kwargs)
        if log_models:
            from eventlog.models import infer_signature

            input_example, signature = resolve_input_example_and_signature(
                get_input_example,
                lambda ex: infer_signature(ex, self.predict(deepcopy(ex))),
                log_input_examples,
                log_model_signatures,
            )
            if flavor_name == "xgboost":
                from eventlog import xgboost as xgb_flavor

                info = xgb_flavor.log_model(
                    self,
                    name="model",
                    signature=signature,
                    input_example=input_example,
                    model_format=get_autologging_config(flavor_name, "model_format", "ubj"),
                )
            else:
                from eventlog import lightgbm as lgb_flavor

                info = lgb_flavor.log_model(
                    self, name="model", signature=signature, input_example=input_example
                )
            METRICS_MANAGER.record_model_id(self, info.model_id)
        return result

    def fit_sklearn(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
        X, y, sample_weight = get_X_y_and_sample_weight(self.fit, args, kwargs)
        client = AutologgingClient()
        run_id = active_run_id()
        client.log_params(run_id, self.get_params(deep=not is_parameter_search_estimator(self)))
        client.set_tags(run_id, estimator_info_tags(self))
        pre_training_error: Exception | None = None
        try:
            client.flush()  # params are recorded even if training fails
        except Exception as exc:
            pre_training_error = exc
        result = original(self, *args, **kwargs)
        _log_posttraining_metadata(client, self, X, y, sample_weight)
        client.flush()
        if pre_training_error is not None:
            raise pre_training_error
        return result

    def _log_posttraining_metadata(
        client: AutologgingClient, estimator: Any, X: Any, y: Any, sample_weight: Any
    ) -> None:
        from eventlog.models import infer_signature

        example_error: Exception | None = None
        example: Any = None
        try:
            example = deepcopy(X[:INPUT_EXAMPLE_SAMPLE_ROWS])
        except Exception as exc:
            example_error = exc

        def get_input_example() -> Any:
            if example_error is not None:
                raise example_error
            return example

        def infer_model_signature(input_example: Any) -> Any:
            if hasattr(estimator, "predict"):
                output = estimator.predict(deepcopy(input_example))
            elif hasattr(estimator, "transform"):
                output = estimator.transform(deepcopy(input_example))
            else:
                raise Exception(
                    "the trained model does not have a `predict` or `transform` function, which is "
                    "required in order to infer the signature"
                )
            return infer_signature(input_example, output)

        def log_model_safely(model: Any, name: str, signature: Any, input_example: Any) -> Any:
            from eventlog import sklearn as sk_flavor

            try:
                return sk_flavor.log_model(
                    model,
                    name=name,
                    signature=signature,
                    input_example=input_example,
                    serialization_format=serialization_format,
                )
            except sk_flavor.SklearnCustomModelPicklingError as exc:
                logger.warning(str(exc))
                return None

        run_id = active_run_id()
        signature: Any = None
        input_example: Any = None
        if log_models:
            input_example, signature = resolve_input_example_and_signature(
                get_input_example, infer_model_signature, log_input_examples, log_model_signatures
            )
            info = log_model_safely(estimator, "model", signature, input_example)
            if info is not None:
                METRICS_MANAGER.record_model_id(estimator, info.model_id)

        logged_metrics = log_estimator_content(
            client, estimator, run_id, TRAINING_PREFIX, X, y, sample_weight, pos_label
        )
        if y is None and not logged_metrics:
            logger.warning(
                "Training metrics will not be recorded because training labels were not specified. To "
                "automatically record training metrics, provide training labels as inputs to the model "
                "training function."
            )
        if not is_parameter_search_estimator(estimator):
            return
        if hasattr(estimator, "best_estimator_") and log_models:
            log_model_safely(estimator.best_estimator_, "best_estimator", signature, input_example)
        if hasattr(estimator, "best_score_"):
            client.log_metrics(run_id, {"best_cv_score": estimator.best_score_})
        if hasattr(estimator, "best_params_"):
            client.log_params(run_id, {f"best_{k}": v for k, v in estimator.best_params_.items()})
        if hasattr(estimator, "cv_results_"):
            try:
                from eventlog._context import resolve_context_tags

                child_tags = resolve_context_tags()
                child_tags[_patch.AUTOLOGGING_TAG] = flavor_name
                parent = eventlog.active_run()
                create_child_runs_for_parameter_search(client, estimator, parent, max_tuning_runs, child_tags)
            except Exception as exc:
                logger.warning(
                    "Encountered exception during creation of child runs for parameter search. Child runs "
                    "may be missing. Exception: %s",
                    exc,
                )
            try:
                import pandas as pd

                log_parameter_search_results_as_artifact(
                    pd.DataFrame.from_dict(estimator.cv_results_), run_id
                )
            except Exception as exc:
                logger.warning("Failed to log parameter search results as an artifact. Exception: %s", exc)

    def patched_fit(
        fit_impl: Callable[..., Any],
        allow_children: bool,
        original: Callable[..., Any],
        self: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        log_metrics_later = log_post_training_metrics and METRICS_MANAGER.should_log_post_training_metrics()
        with SklearnTrainingSession(estimator=self, allow_children=allow_children) as session:
            if not session.should_log():
                return original(self, *args, **kwargs)
            # fit computes training metrics through sklearn.metrics: not post-training metrics.
            with METRICS_MANAGER.disabled():
                result = fit_impl(original, self, *args, **kwargs)
            if log_metrics_later:
                METRICS_MANAGER.register_model(self, active_run_id())
            return result

    def patched_predict(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
        run_id = METRICS_MANAGER.get_run_id_for_model(self)
        if not (METRICS_MANAGER.should_log_post_training_metrics() and run_id):
            return original(self, *args, **kwargs)
        with METRICS_MANAGER.disabled():
            result = original(self, *args, **kwargs)
        eval_dataset = instance_method_first_arg(original, args, kwargs)
        dataset_name = METRICS_MANAGER.register_prediction_input_dataset(self, eval_dataset)
        METRICS_MANAGER.register_prediction_result(
            run_id, dataset_name, result, METRICS_MANAGER.get_model_id_for_model(self)
        )
        return result

    def patched_metric_api(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not METRICS_MANAGER.should_log_post_training_metrics():
            return original(*args, **kwargs)
        with METRICS_MANAGER.disabled():
            metric = original(*args, **kwargs)
        if METRICS_MANAGER.is_metric_value_loggable(metric):
            command = METRICS_MANAGER.gen_metric_call_command(None, original, *args, **kwargs)
            run_id, dataset_name, _ = METRICS_MANAGER.get_info_for_metric_api_call(args, kwargs)
            if run_id and dataset_name:
                key = METRICS_MANAGER.register_metric_api_call(
                    run_id, original.__name__, dataset_name, command
                )
                METRICS_MANAGER.log_post_training_metric(run_id, key, metric)
        return metric

    def patched_model_score(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
        run_id = METRICS_MANAGER.get_run_id_for_model(self)
        if not (METRICS_MANAGER.should_log_post_training_metrics() and run_id):
            return original(self, *args, **kwargs)
        # score may call sklearn.metrics functions: those are not logged separately.
        with METRICS_MANAGER.disabled():
            score = original(self, *args, **kwargs)
        if METRICS_MANAGER.is_metric_value_loggable(score):
            command = METRICS_MANAGER.gen_metric_call_command(self, original, *args, **kwargs)
            eval_dataset = instance_method_first_arg(original, args, kwargs)
            dataset_name = METRICS_MANAGER.register_prediction_input_dataset(self, eval_dataset)
            key = METRICS_MANAGER.register_metric_api_call(
                run_id, f"{self.__class__.__name__}_score", dataset_name, command
            )
            METRICS_MANAGER.log_post_training_metric(run_id, key, score)
        return score

    if flavor_name == "xgboost":
        classes: Any = _xgboost_estimators_to_patch()
        fit_impl, allow_children = fit_gbm, True
    elif flavor_name == "lightgbm":
        classes = _lightgbm_estimators_to_patch()
        fit_impl, allow_children = fit_gbm, True
    else:
        classes = sklearn_estimators_to_patch()
        fit_impl, allow_children = fit_sklearn, False

    fit_patch = functools.partial(patched_fit, fit_impl, allow_children)
    for cls in classes:
        for name in ("fit", "fit_transform", "fit_predict"):
            _patch_method_if_available(
                flavor_name, cls, name, fit_patch, manage_run=True, extra_tags=extra_tags
            )
        for name in ("predict", "predict_proba", "transform", "predict_log_proba"):
            _patch_method_if_available(flavor_name, cls, name, patched_predict, manage_run=False)
        _patch_method_if_available(flavor_name, cls, "score", patched_model_score, manage_run=False)

    if log_post_training_metrics:
        for name in metric_api_names():
            _patch.safe_patch(flavor_name, sklearn.metrics, name, patched_metric_api)

    def patched_with_autolog_disabled(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with disable_autologging():
            return original(*args, **kwargs)

    for name in APIS_AUTOLOGGING_DISABLED:
        _patch.safe_patch(flavor_name, sklearn.model_selection, name, patched_with_autolog_disabled)
