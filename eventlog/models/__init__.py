"""Models as MLflow stores them: the ``MLmodel`` descriptor, signatures, input examples, environments.

    from eventlog.models import infer_signature, Model

    signature = infer_signature(X_train, model.predict(X_train))
    eventlog.sklearn.log_model(model, name="model", signature=signature, input_example=X_train[:5])
    Model.load("path/to/model").signature

Flavors (``eventlog.sklearn``, ``eventlog.xgboost``, ``eventlog.lightgbm``) save and load the models;
this package holds what they share. Nothing heavy is imported until it is used.
"""

from __future__ import annotations

from eventlog.models._example import Example
from eventlog.models._model import MLMODEL_FILE_NAME, Model, ModelInfo
from eventlog.models._signature import (
    AnyType,
    ColSpec,
    DataType,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
    infer_signature,
)

__all__ = [
    "MLMODEL_FILE_NAME",
    "AnyType",
    "ColSpec",
    "DataType",
    "Example",
    "Model",
    "ModelInfo",
    "ModelSignature",
    "ParamSchema",
    "ParamSpec",
    "Schema",
    "TensorSpec",
    "infer_signature",
]
