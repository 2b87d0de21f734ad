"""Input examples, saved with a model as MLflow saves them.

``input_example.json`` holds the example itself: a DataFrame as ``{"columns": [...], "data": [...]}``
(pandas ``split`` orientation without the index; ``columns`` left out when they are 0..n-1), a numpy
array as its nested list (a dict of arrays as a dict of lists), a CSR/CSC matrix as ``{"data",
"indices", "indptr", "shape"}``, and lists, dicts and scalars as JSON. ``serving_input_example.json``
holds the request body a scoring server takes (``{"dataframe_split": ...}`` or ``{"inputs": ...}``).
NaN becomes null. An ``(example, params)`` tuple also stores the inference params.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from copy import deepcopy
from typing import Any

__all__ = ["EXAMPLE_FILENAME", "SERVING_INPUT_FILENAME", "Example", "save_example"]

EXAMPLE_FILENAME = "input_example.json"
SERVING_INPUT_FILENAME = "serving_input_example.json"


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        import numpy as np

        if isinstance(o, (bytes, bytearray)):
            return base64.encodebytes(bytes(o)).decode("ascii")
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, (dt.datetime, dt.date)):
            return o.isoformat()
        pd = _pandas()
        if pd is not None and isinstance(o, pd.Timestamp):
            return o.isoformat()
        return super().default(o)


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        return None
    return pd


def _without_nans(array: Any) -> Any:
    import numpy as np

    if np.issubdtype(array.dtype, np.number):
        return np.where(np.isnan(array), None, array)
    return array


def _is_sparse(x: Any) -> bool:
    import sys

    if "scipy.sparse" not in sys.modules:
        return False
    from scipy.sparse import csc_matrix, csr_matrix

    return isinstance(x, (csc_matrix, csr_matrix))


class Example:
    """An input example: its JSON form, its serving-request form and its ``saved_input_example_info``."""

    def __init__(self, input_example: Any) -> None:
        import numpy as np

        from eventlog.exceptions import MlflowException

        example = deepcopy(input_example)
        params = None
        if isinstance(example, tuple) and len(example) == 2 and isinstance(example[1], dict):
            example, params = example
        self.inference_data = deepcopy(example)
        self.inference_params = params
        self.info: dict[str, Any] = {"artifact_path": EXAMPLE_FILENAME}
        if params:
            self.info["params"] = "true"
        pd = _pandas()
        data: Any
        serving: Any
        if isinstance(example, dict) and any(isinstance(v, np.ndarray) for v in example.values()):
            if not all(isinstance(v, np.ndarray) for v in example.values()):
                raise MlflowException.invalid_parameter_value(
                    "Mixed types in dictionary are not supported as input examples. "
                    "Found numpy arrays and other types."
                )
            self.info["type"] = "ndarray"
            data = {k: _without_nans(v).tolist() for k, v in example.items()}
            serving = {"inputs": data}
        elif isinstance(example, dict):
            self.info["type"] = "json_object"
            data = example
            serving = {"inputs": data}
        elif isinstance(example, np.ndarray):
            self.info["type"] = "ndarray"
            data = _without_nans(example).tolist()
            serving = {"inputs": data}
        elif isinstance(example, list):
            self.info["type"] = "json_object"
            data = example
            serving = {"inputs": data}
        elif _is_sparse(example):
            from scipy.sparse import csc_matrix

            self.info["type"] = (
                "sparse_matrix_csc" if isinstance(example, csc_matrix) else "sparse_matrix_csr"
            )
            serving = {"inputs": example.toarray()}
            data = {
                "data": _without_nans(example.data).tolist(),
                "indices": example.indices.tolist(),
                "indptr": example.indptr.tolist(),
                "shape": list(example.shape),
            }
        elif pd is not None and isinstance(example, pd.DataFrame):
            split = example.where(example.notnull(), None).to_dict(orient="split")
            del split["index"]
            if list(example.columns) == list(range(len(example.columns))):
                del split["columns"]
            data = split
            serving = {"dataframe_split": data}
            self.info["type"] = "dataframe"
            self.info["pandas_orient"] = "split" if "columns" in split else "values"
        elif np.isscalar(example) or isinstance(example, dt.datetime):
            self.info["type"] = "json_object"
            data = example
            serving = {"inputs": data}
        else:
            raise MlflowException.invalid_parameter_value(
                "Expected one of the following types:\n- pandas.DataFrame\n- numpy.ndarray\n"
                "- dictionary of (name -> numpy.ndarray)\n- scipy.sparse.csr_matrix\n"
                "- scipy.sparse.csc_matrix\n- dict\n- list\n- scalars\n- datetime.datetime\n"
                f"but got '{type(example)}'"
            )
        if params is not None:
            data = {"inputs": data, "params": params}
            serving = {**serving, "params": params}
        self.json_input_example = json.dumps(data, cls=_Encoder)
        self.json_serving_input = json.dumps(serving, cls=_Encoder, indent=2)
        self.info["serving_input_path"] = SERVING_INPUT_FILENAME

    def save(self, directory: str) -> None:
        with open(os.path.join(directory, EXAMPLE_FILENAME), "w", encoding="utf-8") as fh:
            fh.write(self.json_input_example)
        with open(os.path.join(directory, SERVING_INPUT_FILENAME), "w", encoding="utf-8") as fh:
            fh.write(self.json_serving_input)


def save_example(model: Any, input_example: Any, path: str) -> Example | None:
    """Write the example files into the model directory and record ``saved_input_example_info``."""
    if input_example is None:
        return None
    example = Example(input_example)
    example.save(path)
    model.saved_input_example_info = example.info
    return example


def load_example(path: str, info: dict[str, Any]) -> Any:
    """The input example saved in a model directory, as the object it was saved from (best effort)."""
    import numpy as np

    with open(os.path.join(path, info["artifact_path"]), encoding="utf-8") as fh:
        data = json.load(fh)
    if info.get("params"):
        data = data["inputs"]
    kind = info.get("type")
    if kind == "dataframe":
        import pandas as pd

        return pd.DataFrame(data["data"], columns=data.get("columns"))
    if kind == "ndarray":
        if isinstance(data, dict):
            return {k: np.array(v) for k, v in data.items()}
        return np.array(data)
    if kind in ("sparse_matrix_csr", "sparse_matrix_csc"):
        from scipy.sparse import csc_matrix, csr_matrix

        cls = csr_matrix if kind == "sparse_matrix_csr" else csc_matrix
        return cls((data["data"], data["indices"], data["indptr"]), shape=data["shape"])
    return data
