"""The ``MLmodel`` descriptor, saving a model directory, logging it to a run, and finding it again.

A saved model is a directory holding the ``MLmodel`` YAML file, the serialized model, the environment
files and optionally the input example, laid out as MLflow lays it out, so MLflow's own loaders can read
it too. ``MLmodel`` has MLflow's fields: ``flavors`` (the framework flavor and ``python_function``,
whose ``loader_module`` is eventlog's flavor module), ``signature``, ``saved_input_example_info``,
``run_id``, ``model_uuid`` / ``model_id``, ``artifact_path`` (the model's artifact URI),
``utc_time_created``, ``model_size_bytes``. ``mlflow_version`` is replaced by ``eventlog_version``.

Logged models live in their run's artifacts, under the name given (``model`` by default), so
``runs:/<run_id>/model`` addresses them. eventlog has no model registry and no LoggedModel entities:
``models:/`` URIs are refused and ``registered_model_name`` is ignored with a warning.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from typing import Any

from eventlog.models._signature import ModelSignature

__all__ = [
    "MLMODEL_FILE_NAME",
    "Model",
    "ModelInfo",
    "download_model",
    "flavor_configuration",
    "log_model",
]

_logger = logging.getLogger("eventlog.models")

MLMODEL_FILE_NAME = "MLmodel"
PYFUNC_FLAVOR = "python_function"


def _eventlog_version() -> str:
    import eventlog

    return eventlog.__version__


class Model:
    """The contents of an ``MLmodel`` file."""

    def __init__(
        self,
        artifact_path: str | None = None,
        run_id: str | None = None,
        utc_time_created: str | None = None,
        flavors: dict[str, dict[str, Any]] | None = None,
        signature: ModelSignature | None = None,
        saved_input_example_info: dict[str, Any] | None = None,
        model_uuid: str | None = None,
        metadata: dict[str, Any] | None = None,
        model_size_bytes: int | None = None,
        model_id: str | None = None,
        prompts: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.artifact_path = artifact_path
        self.run_id = run_id
        self.utc_time_created = utc_time_created or str(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
        self.flavors: dict[str, dict[str, Any]] = flavors if flavors is not None else {}
        self.signature = signature
        self.saved_input_example_info = saved_input_example_info
        self.model_uuid = model_uuid or uuid.uuid4().hex
        self.metadata = metadata
        self.model_size_bytes = model_size_bytes
        self.model_id = model_id
        self.prompts = prompts
        self.eventlog_version = kwargs.pop("eventlog_version", _eventlog_version())
        self.extra = kwargs

    def add_flavor(self, name: str, **params: Any) -> Model:
        self.flavors[name] = params
        return self

    def get_input_schema(self) -> Any:
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self) -> Any:
        return self.signature.outputs if self.signature is not None else None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.artifact_path is not None:
            d["artifact_path"] = self.artifact_path
        d["eventlog_version"] = self.eventlog_version
        d["flavors"] = self.flavors
        d["model_id"] = self.model_id
        if self.model_size_bytes is not None:
            d["model_size_bytes"] = self.model_size_bytes
        d["model_uuid"] = self.model_uuid
        d["prompts"] = self.prompts
        if self.run_id is not None:
            d["run_id"] = self.run_id
        if self.metadata is not None:
            d["metadata"] = self.metadata
        if self.saved_input_example_info is not None:
            d["saved_input_example_info"] = self.saved_input_example_info
        if self.signature is not None:
            d["signature"] = self.signature.to_dict()
            d["is_signature_from_type_hint"] = False
            d["type_hint_from_example"] = False
        d["utc_time_created"] = self.utc_time_created
        d.update(self.extra)
        return d

    def to_yaml(self) -> str:
        import yaml

        return str(yaml.safe_dump(self.to_dict(), default_flow_style=False))

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.to_yaml())

    @classmethod
    def load(cls, path: str) -> Model:
        """Read an ``MLmodel`` file, or the one in a model directory (MLflow's files too)."""
        import yaml

        if os.path.isdir(path):
            path = os.path.join(path, MLMODEL_FILE_NAME)
        with open(path, encoding="utf-8") as fh:
            d = yaml.safe_load(fh) or {}
        return cls.from_dict(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Model:
        d = dict(d)
        signature = d.pop("signature", None)
        d.pop("is_signature_from_type_hint", None)
        d.pop("type_hint_from_example", None)
        return cls(signature=ModelSignature.from_dict(signature) if signature else None, **d)


class ModelInfo:
    """What ``log_model`` returns: where the model is and what its ``MLmodel`` says."""

    def __init__(self, model: Model, model_uri: str, name: str) -> None:
        self._model = model
        self.artifact_path: str | None = model.artifact_path
        self.flavors = model.flavors
        self.model_uri = model_uri
        self.model_uuid = model.model_uuid
        self.model_id = model.model_id
        self.name = name
        self.run_id = model.run_id
        self.saved_input_example_info = model.saved_input_example_info
        self.signature = model.signature
        self.signature_dict = model.signature.to_dict() if model.signature is not None else None
        self.utc_time_created = model.utc_time_created
        self.metadata = model.metadata
        self.registered_model_version = None

    def __repr__(self) -> str:
        return f"<ModelInfo: model_uri={self.model_uri!r}, flavors={sorted(self.flavors)!r}>"


# -- saving --------------------------------------------------------------------------------------------
def prepare_save_path(path: str) -> str:
    """Create the model directory; an existing non-empty one is an error, as in MLflow."""
    from eventlog.exceptions import MlflowException

    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and any(os.scandir(path)):
        raise MlflowException(
            message=f"Path '{path}' already exists and is not empty", error_code="RESOURCE_ALREADY_EXISTS"
        )
    os.makedirs(path, exist_ok=True)
    return path


def copy_code_paths(code_paths: list[str] | None, path: str) -> str | None:
    """Copy ``code_paths`` (files or directories) into ``<path>/code``; the subdirectory, or None."""
    if not code_paths:
        return None
    code_dir = os.path.join(path, "code")
    os.makedirs(code_dir, exist_ok=True)
    for source in code_paths:
        target = os.path.join(code_dir, os.path.basename(os.path.normpath(source)))
        if os.path.isdir(source):
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
    return "code"


def copy_extra_files(extra_files: list[str] | None, path: str) -> dict[str, Any]:
    if not extra_files:
        return {}
    directory = os.path.join(path, "extra_files")
    os.makedirs(directory, exist_ok=True)
    entries = []
    for source in extra_files:
        target = os.path.join(directory, os.path.basename(source))
        shutil.copy2(source, target)
        entries.append({"path": f"extra_files/{os.path.basename(source)}"})
    return {"extra_files": entries}


def add_pyfunc_flavor(model: Model, loader_module: str, code: str | None = None, **params: Any) -> None:
    import platform

    conf: dict[str, Any] = {"loader_module": loader_module, **params}
    conf["env"] = {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    if code is not None:
        conf["code"] = code
    conf["python_version"] = platform.python_version()
    model.add_flavor(PYFUNC_FLAVOR, **conf)


def directory_size(path: str) -> int:
    return sum(
        os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names
    )


def add_code_to_sys_path(local_path: str, flavor_conf: dict[str, Any]) -> None:
    import sys

    code = flavor_conf.get("code")
    if code:
        directory = os.path.join(local_path, code)
        if directory not in sys.path:
            sys.path.insert(0, directory)


# -- logging -------------------------------------------------------------------------------------------
def _resolve_name(name: str | None, artifact_path: str | None) -> str:
    from eventlog.exceptions import MlflowException

    if name is not None and artifact_path is not None:
        raise MlflowException.invalid_parameter_value(
            "Both `artifact_path` (deprecated) and `name` parameters were specified. "
            "Please only specify `name`."
        )
    if artifact_path is not None:
        _logger.warning("`artifact_path` is deprecated. Please use `name` instead.")
    return name or artifact_path or "model"


def log_model(
    save: Callable[..., None],
    name: str | None,
    artifact_path: str | None,
    registered_model_name: str | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    **save_kwargs: Any,
) -> ModelInfo:
    """Save a model with ``save(path=..., mlflow_model=..., **save_kwargs)`` into a temporary directory
    and log the directory as ``<name>/`` in the run's artifacts (the active run, started if none is)."""
    from eventlog import MlflowClient, _fluent
    from eventlog._artifacts import _artifact_dir

    model_name = _resolve_name(name, artifact_path)
    directory = _artifact_dir(model_name)
    if registered_model_name is not None:
        _logger.warning(
            "eventlog has no model registry: the model is not registered as '%s' "
            "(registered_model_name is ignored).",
            registered_model_name,
        )
    handle = _fluent._handle(run_id)
    run_id = handle.run_id
    client = MlflowClient()
    artifact_uri = client.get_run(run_id).info.artifact_uri
    model_id = f"m-{uuid.uuid4().hex}"
    mlflow_model = Model(
        artifact_path=f"{artifact_uri.rstrip('/')}/{directory}",
        run_id=run_id,
        model_uuid=model_id,
        model_id=model_id,
        metadata=metadata,
    )
    with tempfile.TemporaryDirectory(prefix="eventlog-model-") as tmp:
        local = os.path.join(tmp, "model")
        save(path=local, mlflow_model=mlflow_model, **save_kwargs)
        client.log_artifacts(run_id, local, directory)
    return ModelInfo(mlflow_model, f"runs:/{run_id}/{directory}", model_name)


# -- loading -------------------------------------------------------------------------------------------
def download_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> str:
    """A local directory holding the model at ``model_uri``: ``runs:/<run_id>/<path>``, a local path
    or ``file://`` URI (used in place unless ``dst_path`` is given), or any fsspec URL."""
    from eventlog.exceptions import MlflowException

    uri = os.fspath(model_uri)
    if uri.startswith("runs:/"):
        rest = uri[len("runs:/") :].lstrip("/")
        run_id, _, rel = rest.partition("/")
        if not run_id:
            raise MlflowException.invalid_parameter_value(
                f"Not a proper runs:/ URI: {uri}. Runs URIs must be of the form "
                "'runs:/<run_id>/run-relative/path/to/artifact'"
            )
        from eventlog import MlflowClient

        target = dst_path if dst_path is not None else tempfile.mkdtemp(prefix="eventlog-model-")
        return MlflowClient().download_artifacts(run_id, rel.strip("/"), target)
    if uri.startswith("models:/"):
        raise MlflowException.invalid_parameter_value(
            f"Cannot load {uri}: eventlog has no model registry. Use a runs:/<run_id>/<path> URI or a path."
        )
    scheme, sep, _ = uri.partition("://")
    if not sep or scheme in ("file", "local"):
        local = uri[len(scheme) + 3 :] if sep else uri
        if not os.path.exists(local):
            raise MlflowException(
                f"Could not find an MLmodel or model file at '{uri}'", error_code="RESOURCE_DOES_NOT_EXIST"
            )
        if dst_path is None:
            return os.path.abspath(local)
        target = os.path.join(dst_path, os.path.basename(os.path.normpath(local)))
        if os.path.isdir(local):
            shutil.copytree(local, target, dirs_exist_ok=True)
        else:
            shutil.copy2(local, target)
        return target
    from eventlog import storage

    location = storage.open_location(uri)
    target = os.path.join(
        dst_path if dst_path is not None else tempfile.mkdtemp(prefix="eventlog-model-"),
        uri.rstrip("/").rsplit("/", 1)[-1],
    )
    kind = storage.path_kind(location, "")
    if kind == "directory":
        storage.download_tree(location, "", target)
    elif kind == "file":
        storage.download_file(location, "", target)
    else:
        raise MlflowException(f"No model found at '{uri}'", error_code="RESOURCE_DOES_NOT_EXIST")
    return target


def flavor_configuration(model_path: str, flavor_name: str) -> dict[str, Any]:
    """The ``flavor_name`` section of the model's ``MLmodel``; MLflow's errors when it is missing."""
    from eventlog.exceptions import MlflowException

    mlmodel = os.path.join(model_path, MLMODEL_FILE_NAME)
    if not os.path.exists(mlmodel):
        raise MlflowException(
            f'Could not find an "{MLMODEL_FILE_NAME}" configuration file at "{model_path}"',
            error_code="RESOURCE_DOES_NOT_EXIST",
        )
    model = Model.load(mlmodel)
    if flavor_name not in model.flavors:
        raise MlflowException(
            f'Model does not have the "{flavor_name}" flavor', error_code="RESOURCE_DOES_NOT_EXIST"
        )
    return model.flavors[flavor_name]
