"""Model signatures: the column or tensor schema of a model's inputs and outputs, in MLflow's format.

A signature is stored in the ``MLmodel`` file as JSON strings::

    signature:
      inputs: '[{"type": "double", "name": "x", "required": true}]'
      outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
      params: null

Inference follows MLflow: a numpy array (or a dict of them, or a scipy CSR/CSC matrix) gives tensor
specs with the first dimension variable (-1); a DataFrame, Series, list or scalar gives column specs of
MLflow's data types (boolean, integer, long, float, double, string, binary, datetime). What cannot be
inferred becomes the ``any`` type, with a warning.
"""

from __future__ import annotations

import json
import logging
import warnings
from enum import Enum
from typing import Any

__all__ = [
    "AnyType",
    "ColSpec",
    "DataType",
    "ModelSignature",
    "ParamSchema",
    "ParamSpec",
    "Schema",
    "TensorSpec",
    "infer_signature",
]

_logger = logging.getLogger("eventlog.models")


class DataType(Enum):
    boolean = 1
    integer = 2
    long = 3
    float = 4
    double = 5
    string = 6
    binary = 7
    datetime = 8

    def __repr__(self) -> str:
        return self.name


class AnyType:
    """The type of data whose schema could not be inferred."""

    def to_dict(self) -> dict[str, Any]:
        return {"type": "any"}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyType)

    def __hash__(self) -> int:
        return hash("any")

    def __repr__(self) -> str:
        return "Any"


class ColSpec:
    """A named (or unnamed) column of a data type."""

    def __init__(
        self, type: DataType | AnyType | str, name: str | None = None, required: bool = True
    ) -> None:
        if isinstance(type, str):
            type = AnyType() if type == "any" else DataType[type]
        self.type = type
        self.name = name
        self.required = required

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = (
            {"type": self.type.name} if isinstance(self.type, DataType) else self.type.to_dict()
        )
        if self.name is not None:
            d["name"] = self.name
        d["required"] = self.required
        return d

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ColSpec):
            return False
        return (self.type, self.name, self.required) == (other.type, other.name, other.required)

    def __repr__(self) -> str:
        required = "required" if self.required else "optional"
        return (
            f"{self.type!r} ({required})"
            if self.name is None
            else f"{self.name!r}: {self.type!r} ({required})"
        )


class TensorSpec:
    """A (named) tensor of a numpy dtype and shape; -1 marks a variable dimension."""

    def __init__(self, type: Any, shape: tuple[int, ...] | list[int], name: str | None = None) -> None:
        import numpy as np

        self.type = np.dtype(type)
        self.shape = tuple(shape)
        self.name = name

    @property
    def required(self) -> bool:
        return True

    def to_dict(self) -> dict[str, Any]:
        spec = {"dtype": self.type.name, "shape": list(self.shape)}
        if self.name is None:
            return {"type": "tensor", "tensor-spec": spec}
        return {"name": self.name, "type": "tensor", "tensor-spec": spec}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TensorSpec):
            return False
        return (self.type, self.shape, self.name) == (other.type, other.shape, other.name)

    def __repr__(self) -> str:
        tensor = f"Tensor({self.type.name!r}, {self.shape!r})"
        return tensor if self.name is None else f"{self.name!r}: {tensor}"


class Schema:
    """A list of column specs or a list of tensor specs (never mixed)."""

    def __init__(self, inputs: list[ColSpec | TensorSpec]) -> None:
        kinds = {isinstance(spec, TensorSpec) for spec in inputs}
        if len(kinds) > 1:
            raise ValueError("Creating Schema with a combination of ColSpec and TensorSpec is not supported.")
        self.inputs = list(inputs)

    def is_tensor_spec(self) -> bool:
        return bool(self.inputs) and isinstance(self.inputs[0], TensorSpec)

    def input_names(self) -> list[str | int]:
        return [spec.name or i for i, spec in enumerate(self.inputs)]

    def to_dict(self) -> list[dict[str, Any]]:
        return [spec.to_dict() for spec in self.inputs]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Schema:
        specs: list[ColSpec | TensorSpec] = []
        for item in json.loads(text):
            if item.get("type") == "tensor":
                spec = item["tensor-spec"]
                specs.append(TensorSpec(spec["dtype"], spec["shape"], item.get("name")))
            else:
                specs.append(ColSpec(item["type"], item.get("name"), item.get("required", True)))
        return cls(specs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self.inputs == other.inputs

    def __repr__(self) -> str:
        return repr(self.inputs)


class ParamSpec:
    """An inference parameter: name, type, default and shape (None for scalars, (-1,) for lists)."""

    def __init__(
        self, name: str, dtype: DataType | str, default: Any, shape: tuple[int, ...] | None = None
    ) -> None:
        self.name = name
        self.dtype = DataType[dtype] if isinstance(dtype, str) else dtype
        self.default = default
        self.shape = shape

    def to_dict(self) -> dict[str, Any]:
        default = self.default
        if self.dtype == DataType.datetime and default is not None:
            default = default.isoformat()
        return {
            "name": self.name,
            "default": default,
            "shape": list(self.shape) if self.shape is not None else None,
            "type": self.dtype.name,
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSpec) and self.to_dict() == other.to_dict()


class ParamSchema:
    def __init__(self, params: list[ParamSpec]) -> None:
        self.params = list(params)

    def to_dict(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.params]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> ParamSchema:
        return cls(
            [
                ParamSpec(
                    p["name"], p["type"], p.get("default"), tuple(p["shape"]) if p.get("shape") else None
                )
                for p in json.loads(text)
            ]
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSchema) and self.params == other.params


class ModelSignature:
    """The input schema, output schema and inference params of a model."""

    def __init__(
        self,
        inputs: Schema | None = None,
        outputs: Schema | None = None,
        params: ParamSchema | None = None,
    ) -> None:
        self.inputs = inputs
        self.outputs = outputs
        self.params = params

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": self.params.to_json() if self.params else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelSignature:
        inputs = Schema.from_json(d["inputs"]) if d.get("inputs") else None
        outputs = Schema.from_json(d["outputs"]) if d.get("outputs") else None
        params = ParamSchema.from_json(d["params"]) if d.get("params") else None
        return cls(inputs, outputs, params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelSignature) and (self.inputs, self.outputs, self.params) == (
            other.inputs,
            other.outputs,
            other.params,
        )

    def __repr__(self) -> str:
        return f"inputs: \n  {self.inputs!r}\noutputs: \n  {self.outputs!r}\nparams: \n  {self.params!r}\n"


# -- inference ---------------------------------------------------------------------------------------
class _InferenceError(Exception):
    pass


def _numpy_datatype(dtype: Any) -> DataType:
    kind, size = dtype.kind, dtype.itemsize
    if kind == "b":
        return DataType.boolean
    if kind in ("i", "u"):
        if size < 4 or (kind == "i" and size == 4):
            return DataType.integer
        if size < 8 or (kind == "i" and size == 8):
            return DataType.long
    elif kind == "f":
        if size <= 4:
            return DataType.float
        if size <= 8:
            return DataType.double
    elif kind == "U":
        return DataType.string
    elif kind == "S":
        return DataType.binary
    elif kind == "M":
        return DataType.datetime
    raise _InferenceError(f"Unsupported numpy data type '{dtype}', kind '{kind}'")


def _scalar_datatype(value: Any) -> DataType:
    import datetime as dt

    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return DataType.boolean
    if isinstance(value, np.generic):
        return _numpy_datatype(value.dtype)
    if isinstance(value, int):
        return DataType.long
    if isinstance(value, float):
        return DataType.double
    if isinstance(value, str):
        return DataType.string
    if isinstance(value, (bytes, bytearray)):
        return DataType.binary
    if isinstance(value, dt.datetime):
        return DataType.datetime
    raise _InferenceError(f"Data {value!r} is not one of the supported DataType")


def _values_datatype(values: list[Any]) -> DataType:
    present = [v for v in values if not _is_missing(v)]
    if not present:
        raise _InferenceError("Cannot infer the type of an all-missing column")
    types = {_scalar_datatype(v) for v in present}
    if types == {DataType.long, DataType.double}:
        return DataType.double
    if len(types) != 1:
        raise _InferenceError(f"Mixed types {sorted(t.name for t in types)}")
    return types.pop()


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    try:
        import pandas as pd

        return value is pd.NA or value is pd.NaT
    except ImportError:  # pragma: no cover - pandas is there whenever a Series is
        return False


def _column_type(col: Any) -> DataType:
    if len(col.values.shape) > 1:
        raise _InferenceError(f"Expected 1d array, got array with shape {col.shape}")
    if col.dtype.kind == "O":
        col = col.infer_objects()
    if col.dtype.kind == "O" or not hasattr(col.dtype, "kind") or col.dtype.kind not in "biufUSM":
        try:
            return _values_datatype(col.to_list())
        except _InferenceError:
            import pandas as pd

            if pd.api.types.is_string_dtype(col):
                return DataType.string
            raise
    return _numpy_datatype(col.dtype)


def _required(col: Any) -> bool:
    values = col.to_list() if hasattr(col, "to_list") else col if isinstance(col, list) else [col]
    return not any(_is_missing(v) for v in values)


def _tensor_dtype(dtype: Any) -> Any:
    import numpy as np

    if dtype.char == "U":
        return np.dtype("str")
    if dtype.char == "S":
        return np.dtype("bytes")
    return dtype


def _variable_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (-1, *shape[1:]) if shape else shape


def infer_schema(data: Any) -> Schema:
    """The schema of a dataset (see the module doc for which container gives which spec)."""
    import numpy as np

    pd = _pandas()
    sparse = _sparse_types()
    if isinstance(data, list) and data == []:
        return Schema([ColSpec(DataType.string)])
    if isinstance(data, dict):
        if data and all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema(
                [
                    TensorSpec(_tensor_dtype(v.dtype), _variable_shape(v.shape), name=k)
                    for k, v in data.items()
                ]
            )
        specs: list[ColSpec | TensorSpec] = []
        for name, value in data.items():
            values = value if isinstance(value, list) else [value]
            specs.append(ColSpec(_values_datatype(values), name=str(name), required=_required(values)))
        schema = Schema(specs)
    elif pd is not None and isinstance(data, pd.Series):
        schema = Schema([ColSpec(_column_type(data), name=data.name, required=_required(data))])
    elif pd is not None and isinstance(data, pd.DataFrame):
        schema = Schema(
            [
                ColSpec(_column_type(data[col]), name=col, required=_required(data[col]))
                for col in data.columns
            ]
        )
    elif isinstance(data, np.ndarray):
        if data.dtype.kind == "O":
            raise _InferenceError("Cannot infer a tensor spec from an object array")
        schema = Schema([TensorSpec(_tensor_dtype(data.dtype), _variable_shape(data.shape))])
    elif sparse and isinstance(data, sparse):
        matrix: Any = data
        schema = Schema([TensorSpec(_tensor_dtype(matrix.data.dtype), _variable_shape(matrix.shape))])
    elif isinstance(data, list):
        if all(isinstance(item, dict) for item in data):
            columns: dict[str, list[Any]] = {}
            for item in data:
                for key, value in item.items():
                    columns.setdefault(key, []).append(value)
            schema = Schema(
                [
                    ColSpec(
                        _values_datatype(values),
                        name=name,
                        required=all(item.get(name) is not None for item in data),
                    )
                    for name, values in columns.items()
                ]
            )
        else:
            schema = Schema([ColSpec(_values_datatype(data))])
    else:
        schema = Schema([ColSpec(_scalar_datatype(data))])
    if not schema.is_tensor_spec() and any(
        getattr(spec, "type", None) in (DataType.integer, DataType.long) for spec in schema.inputs
    ):
        warnings.warn(
            "Hint: Inferred schema contains integer column(s). Integer columns in Python cannot represent "
            "missing values. If your input data contains missing values at inference time, it will be "
            "encoded as floats and will cause a schema enforcement error. The best way to avoid this "
            "problem is to infer the model schema based on a realistic data sample (training dataset) "
            "that includes missing values. Alternatively, you can declare integer columns as doubles "
            "(float64) whenever these columns may have missing values.",
            stacklevel=2,
        )
    return schema


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        return None
    return pd


def _sparse_types() -> tuple[type, ...]:
    import sys

    if "scipy.sparse" not in sys.modules:
        return ()
    from scipy.sparse import csc_matrix, csr_matrix

    return (csc_matrix, csr_matrix)


def infer_param_schema(params: dict[str, Any]) -> ParamSchema:
    specs = []
    for name, value in params.items():
        if isinstance(value, (list, tuple)):
            specs.append(ParamSpec(name, _values_datatype(list(value)), list(value), (-1,)))
        else:
            specs.append(ParamSpec(name, _scalar_datatype(value), value, None))
    return ParamSchema(specs)


def _schema_or_any(data: Any, key: str) -> Schema:
    try:
        return infer_schema(data)
    except Exception:
        _logger.warning(
            "Failed to infer schema for %s. Setting schema to `Schema([ColSpec(type=AnyType())]` as default. "
            "To see the full traceback, set logging level to DEBUG.",
            key,
            exc_info=_logger.isEnabledFor(logging.DEBUG),
        )
        return Schema([ColSpec(AnyType())])


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: dict[str, Any] | None = None
) -> ModelSignature:
    """The signature of a model from example inputs, outputs (e.g. ``model.predict(inputs)``) and params."""
    inputs = _schema_or_any(model_input, "inputs") if model_input is not None else None
    outputs = _schema_or_any(model_output, "outputs") if model_output is not None else None
    return ModelSignature(inputs, outputs, infer_param_schema(params) if params else None)


def signature_from_example(example: Any, predict: Any) -> ModelSignature | None:
    """Infer a signature by predicting on a saved input example (what ``save_model`` does when an
    example but no signature is given); None when that fails."""
    import numpy as np

    try:
        data = example.inference_data
        input_schema = infer_schema(data)
        prediction = predict(data)
        pd = _pandas()
        if (
            not input_schema.is_tensor_spec()
            and pd is not None
            and isinstance(prediction, np.ndarray)
            and prediction.ndim == 1
        ):
            prediction = pd.Series(prediction)
        params = infer_param_schema(example.inference_params) if example.inference_params else None
        return ModelSignature(input_schema, _schema_or_any(prediction, "outputs"), params)
    except Exception as exc:
        _logger.warning("Failed to infer the model signature from the input example: %s", exc)
        return None
