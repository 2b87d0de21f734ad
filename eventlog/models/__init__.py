"""Models as MLflow stores them: the ``MLmodel`` descriptor, signatures, input examples, environments.

    from eventlog.models import infer_signature, Model

    signature = infer_signature(X_train, model.predict(X_train))
    eventlog.sklearn.log_model(model, name="model", signature=signature, input_example=X_train[:5])
    Model.load("path/to/model").signature

Flavors (``eventlog.sklearn``, ``eventlog.xgboost``, ``eventlog.lightgbm``) save and load the models;
this package holds what they share. Nothing heavy is imported until it is used.
"""

from __future__ import annotations

from eventlog.models import _signature
from eventlog.models._example import Example
from eventlog.models._model import MLMODEL_FILE_NAME, Model, ModelInfo

# The signature types are re-exported whole (the "as" form marks a re-export): _signature.__all__.
from eventlog.models._signature import AnyType as AnyType
from eventlog.models._signature import ColSpec as ColSpec
from eventlog.models._signature import DataType as DataType
from eventlog.models._signature import ModelSignature as ModelSignature
from eventlog.models._signature import ParamSchema as ParamSchema
from eventlog.models._signature import ParamSpec as ParamSpec
from eventlog.models._signature import Schema as Schema
from eventlog.models._signature import TensorSpec as TensorSpec
from eventlog.models._signature import infer_signature as infer_signature

__all__ = ["MLMODEL_FILE_NAME", "Example", "Model", "ModelInfo", *_signature.__all__]
