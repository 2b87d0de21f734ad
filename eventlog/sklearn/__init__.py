"""scikit-learn models and autologging, as ``mlflow.sklearn``.

    import eventlog as mlflow

    mlflow.sklearn.autolog()
    model = LogisticRegression().fit(X, y)          # params, training metrics, plots, the model
    run_id = mlflow.last_active_run().info.run_id
    loaded = mlflow.sklearn.load_model(f"runs:/{run_id}/model")

Models are saved as MLflow saves them (``MLmodel``, ``model.pkl`` or ``model.skops``, environment
files, optional input example) with the ``sklearn`` and ``python_function`` flavors. The serialization
format defaults to ``skops`` when the skops package is installed (MLflow 3's default outside
Databricks), else ``cloudpickle``; autologging defaults to ``cloudpickle``, as MLflow's does.
"""

from __future__ import annotations

import logging
import os
import pickle
from typing import Any

from eventlog._autolog._config import autologging_integration
from eventlog.models import _flavor

__all__ = [
    "FLAVOR_NAME",
    "SERIALIZATION_FORMAT_CLOUDPICKLE",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS",
    "SUPPORTED_SERIALIZATION_FORMATS",
    "autolog",
    "get_default_conda_env",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "sklearn"
SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SUPPORTED_SERIALIZATION_FORMATS = [
    SERIALIZATION_FORMAT_SKOPS,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_CLOUDPICKLE,
]
_PICKLE_MODEL_DATA_SUBPATH = "model.pkl"
_SKOPS_MODEL_DATA_SUBPATH = "model.skops"

_logger = logging.getLogger("eventlog.models")


def _default_serialization_format() -> str:
    import importlib.util

    return (
        SERIALIZATION_FORMAT_SKOPS if importlib.util.find_spec("skops") else SERIALIZATION_FORMAT_CLOUDPICKLE
    )


def get_default_pip_requirements(include_cloudpickle: bool = False, include_skops: bool = False) -> list[str]:
    return _flavor.default_pip_requirements("scikit-learn", include_cloudpickle, include_skops)


def get_default_conda_env(include_cloudpickle: bool = False, include_skops: bool = False) -> dict[str, Any]:
    return _flavor.default_conda_env(get_default_pip_requirements(include_cloudpickle, include_skops))


class SklearnCustomModelPicklingError(pickle.PicklingError):
    """Pickling a custom (non-sklearn) estimator failed; autologging warns instead of failing."""

    def __init__(self, sk_model: Any, original_exception: BaseException) -> None:
        super().__init__(
            f"Pickling custom sklearn model {sk_model.__class__.__name__} failed when saving model: "
            f"{original_exception}"
        )
        self.original_exception = original_exception


def _check_format(serialization_format: str) -> None:
    from eventlog.exceptions import MlflowException

    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise MlflowException(
            f"Unrecognized serialization format: {serialization_format}. Please specify one of the "
            f"following supported formats: {SUPPORTED_SERIALIZATION_FORMATS}.",
            error_code="INVALID_PARAMETER_VALUE",
        )


def _warn_unsafe_format(models: str) -> None:
    """The warning of a pickle or cloudpickle save (``models``: what is saved, as the message says it)."""
    _logger.warning(
        "Saving %s in the pickle or cloudpickle format requires exercising caution because these formats "
        "rely on Python's object serialization mechanism, which can execute arbitrary code during "
        "deserialization. The recommended safe alternative is the 'skops' format. For more information, "
        "see: https://scikit-learn.org/stable/model_persistence.html",
        models,
    )


def _data_file(serialization_format: str) -> str:
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        return _SKOPS_MODEL_DATA_SUBPATH
    return _PICKLE_MODEL_DATA_SUBPATH


def _dump(sk_model: Any, output_path: str, serialization_format: str, skops_trusted_types: Any) -> None:
    from eventlog.exceptions import MlflowException

    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        import skops.io

        try:
            skops.io.dump(sk_model, output_path)
            skops.io.load(output_path, trusted=skops_trusted_types)
        except Exception as exc:
            if os.path.exists(output_path):
                os.remove(output_path)
            if type(exc).__name__ == "UntrustedTypesFoundException":
                raise MlflowException(
                    "The saved sklearn model references untrusted types. If you are sure loading these "
                    "types is safe, set the 'skops_trusted_types' parameter when calling 'log_model' or "
                    f"'save_model' to the list of trusted types. Root error: {exc!s}"
                ) from exc
            raise MlflowException(
                "The sklearn model could not be serialized in the skops serialization format. skops does "
                "not support custom functions or classes that are not defined at the top level. To work "
                "around this limitation, you can set the serialization_format 'cloudpickle', while "
                "exercising caution due to the possible arbitrary code during model deserialization using "
                "CloudPickle."
            ) from exc
        return
    if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
        import cloudpickle as pickler
    else:
        pickler = pickle
    with open(output_path, "wb") as out:
        try:
            pickler.dump(sk_model, out, protocol=pickle.DEFAULT_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            if not type(sk_model).__module__.startswith("sklearn."):
                raise SklearnCustomModelPicklingError(sk_model, exc) from exc
            raise


def _load_from_file(path: str, serialization_format: str, skops_trusted_types: Any = None) -> Any:
    _check_format(serialization_format)
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        import skops.io

        return skops.io.load(path, trusted=skops_trusted_types)
    with open(path, "rb") as fh:
        if serialization_format == SERIALIZATION_FORMAT_PICKLE:
            return pickle.load(fh)
        import cloudpickle

        return cloudpickle.load(fh)


class _SklearnModelWrapper:
    _CUSTOM_PREDICT_FNS = ("predict_proba", "predict_log_proba", "predict_joint_log_proba", "score")

    def __init__(self, sklearn_model: Any) -> None:
        self.sklearn_model = sklearn_model
        for name in self._CUSTOM_PREDICT_FNS:
            fn = getattr(sklearn_model, name, None)
            if fn is not None:
                setattr(self, name, fn)

    def get_raw_model(self) -> Any:
        return self.sklearn_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.sklearn_model.predict(data)


class _SklearnFlavor(_flavor.Flavor):
    """A scikit-learn model in ``model.pkl`` (pickle, cloudpickle) or ``model.skops``."""

    name = FLAVOR_NAME
    loader_module = __name__
    wrapper = _SklearnModelWrapper

    def __init__(
        self,
        sk_model: Any,
        serialization_format: str | None,
        pyfunc_predict_fn: str,
        skops_trusted_types: list[str] | None,
    ) -> None:
        import sklearn

        super().__init__(sk_model)
        self.sklearn_version = sklearn.__version__
        self.serialization_format = serialization_format or _default_serialization_format()
        _check_format(self.serialization_format)
        if self.serialization_format != SERIALIZATION_FORMAT_SKOPS:
            _warn_unsafe_format("scikit-learn models")
        self.pyfunc_predict_fn = pyfunc_predict_fn
        self.skops_trusted_types = skops_trusted_types

    def write(self, path: str) -> str:
        data = _data_file(self.serialization_format)
        _dump(self.model, os.path.join(path, data), self.serialization_format, self.skops_trusted_types)
        return data

    def pyfunc_conf(self, data: str) -> dict[str, Any] | None:
        if hasattr(self.model, self.pyfunc_predict_fn):
            return {"model_path": data, "predict_fn": self.pyfunc_predict_fn}
        _logger.warning(
            "Model was missing function: %s. Not logging python_function flavor!", self.pyfunc_predict_fn
        )
        return None

    def flavor_conf(self, data: str, code: str | None) -> dict[str, Any]:
        return {
            "pickled_model": data,
            "sklearn_version": self.sklearn_version,
            "serialization_format": self.serialization_format,
            "code": code,
            "skops_trusted_types": self.skops_trusted_types,
        }

    def default_requirements(self, data_path: str) -> list[str]:
        skops = self.serialization_format == SERIALIZATION_FORMAT_SKOPS
        defaults = get_default_pip_requirements(
            include_cloudpickle=self.serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE,
            include_skops=skops,
        )
        if skops:
            return defaults
        from eventlog.models._env import pickle_requirements

        # A pickle may refer to other packages' classes: their distributions are required too.
        return sorted(set(defaults) | set(pickle_requirements(data_path)))

    @classmethod
    def load(cls, model_dir: str, conf: dict[str, Any]) -> Any:
        return _load_from_file(
            os.path.join(model_dir, conf["pickled_model"]),
            conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE),
            conf.get("skops_trusted_types"),
        )

    @classmethod
    def load_pyfunc(cls, path: str) -> Any:
        # ``path`` is the model directory (the python_function section names the file as model_path)
        # or the file; a model without the sklearn section is taken to be a pickle.
        from eventlog.exceptions import MlflowException
        from eventlog.models._model import flavor_configuration

        model_dir = os.path.dirname(path) if os.path.isfile(path) else path
        try:
            conf = flavor_configuration(model_dir, FLAVOR_NAME)
        except MlflowException:
            _logger.warning(
                "Could not find scikit-learn flavor configuration during model loading process. Assuming "
                "'pickle' serialization format."
            )
            conf = {}
        if not os.path.isfile(path):
            path = os.path.join(path, flavor_configuration(path, "python_function")["model_path"])
        return _SklearnModelWrapper(
            _load_from_file(
                path,
                conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE),
                conf.get("skops_trusted_types"),
            )
        )


def save_model(
    sk_model: Any,
    path: str,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    mlflow_model: Any = None,
    serialization_format: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    extra_files: list[str] | None = None,
) -> None:
    """Save a scikit-learn model to a local directory (which must not exist, or be empty)."""
    _flavor.save_model(_SklearnFlavor, **locals())


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    serialization_format: str | None = None,
    registered_model_name: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    await_registration_for: int | None = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    extra_files: list[str] | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    name: str | None = None,
    skops_trusted_types: list[str] | None = None,
    **kwargs: Any,
) -> Any:
    """Log a scikit-learn model under ``name`` (default ``model``) in the active run's artifacts.

    ``params``, ``tags``, ``model_type``, ``step`` and ``model_id`` describe MLflow 3 LoggedModel
    entities, which eventlog does not have: they are accepted and ignored, as are extra keywords.
    """
    return _flavor.log_model(save_model, **locals())


def load_model(model_uri: str, dst_path: str | None = None) -> Any:
    """Load a scikit-learn model from ``runs:/<run_id>/<path>``, a local path or a URL."""
    return _flavor.load_model(_SklearnFlavor, model_uri, dst_path)


# The python_function loader (``mlflow.pyfunc.load_model`` calls it for our MLmodel files).
_load_pyfunc = _SklearnFlavor.load_pyfunc


@autologging_integration(FLAVOR_NAME)
def autolog(
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
    serialization_format: str = SERIALIZATION_FORMAT_CLOUDPICKLE,
    registered_model_name: str | None = None,
    pos_label: Any = None,
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Enable (or disable) and configure autologging of scikit-learn estimators, as ``mlflow.sklearn``.

    Each outermost ``fit`` / ``fit_transform`` / ``fit_predict`` logs, to the active run (or a new run it
    starts and ends): the params of ``get_params(deep=True)`` (``deep=False`` for a parameter search),
    tags ``estimator_name`` / ``estimator_class``, the training metrics (``training_accuracy_score``...,
    ``training_mean_squared_error``..., ``training_score``), ``estimator.html``, classifier plots
    (``training_confusion_matrix.png``; binary: ``training_roc_curve.png`` and
    ``training_precision_recall_curve.png``) and the model (``model/``). A GridSearchCV /
    RandomizedSearchCV also logs ``best_<param>`` params, ``best_cv_score``, ``cv_results.csv``, the best
    estimator (``best_estimator/``) and one child run per explored point (the best
    ``max_tuning_runs``). Metrics computed later on the model's predictions with ``sklearn.metrics``
    functions or ``model.score`` are logged as ``<metric>[-<n>]_<dataset variable>``.

    ``log_datasets`` is accepted but eventlog records no dataset inputs; ``registered_model_name`` is
    ignored with a warning (there is no model registry).
    """
    settings = dict(locals())  # the arguments, taken before anything else is bound
    from eventlog._autolog._sklearn import autolog_impl

    _flavor.autolog(autolog_impl, settings)
