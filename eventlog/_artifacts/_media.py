"""Media conversion: text, dicts, figures, images (numpy, PIL), tables (JSON, Parquet) to files and back."""

from __future__ import annotations

import json
import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

from eventlog.exceptions import InvalidParameterValue, MlflowException

if TYPE_CHECKING:
    import pandas

    from eventlog.entities import Run

__all__ = [
    "image_column",
    "read_table",
    "run_row",
    "save_figure",
    "table_frame",
    "thumbnail",
    "to_pil",
    "write_dict",
    "write_table",
    "write_text",
]

_COMPRESSED_IMAGE_SIZE = 256


# -- text and dicts ----------------------------------------------------------------------------------
def write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def write_dict(path: str, dictionary: Any, extension: str) -> None:
    """JSON (``indent=2``, ``default=str``), or YAML when ``extension`` is ``.yml``/``.yaml``."""
    with open(path, "w", encoding="utf-8") as fh:
        if extension in (".yml", ".yaml"):
            import yaml

            yaml.dump(dictionary, fh, indent=2, default_flow_style=False)
        else:
            json.dump(dictionary, fh, indent=2, default=str)


# -- figures -----------------------------------------------------------------------------------------
def save_figure(figure: Any, path: str, artifact_file: str, options: dict[str, Any]) -> None:
    """A matplotlib figure (``savefig``) or a plotly figure (HTML, or an image for png/jpeg/...)."""
    # Checked only when the library is loaded: a plotly figure needs no matplotlib, and the reverse.
    if "matplotlib" in sys.modules and _is_instance(figure, "matplotlib.figure", "Figure"):
        figure.savefig(path, **options)
    elif "plotly" in sys.modules and _is_instance(figure, "plotly.graph_objects", "Figure"):
        extension = os.path.splitext(os.fspath(artifact_file))[1]
        if extension == ".html":
            options.setdefault("include_plotlyjs", "cdn")
            options.setdefault("auto_open", False)
            figure.write_html(path, **options)
        elif extension in (".png", ".jpeg", ".webp", ".svg", ".pdf"):
            figure.write_image(path, **options)
        else:
            raise TypeError(f"Unsupported file extension for plotly figure: '{extension}'")
    else:
        raise TypeError(f"Unsupported figure object type: '{type(figure)}'")


def _is_instance(obj: Any, module: str, name: str) -> bool:
    import importlib

    cls = getattr(importlib.import_module(module), name)
    return isinstance(obj, cls)


# -- images ------------------------------------------------------------------------------------------
_PIXEL_KINDS = {"b": "bool", "i": "signed integer", "u": "unsigned integer", "f": "floating"}


def _array_to_pil(array: Any) -> Any:
    """A numpy array as a PIL image, with MLflow's checks: dtype, shape, channels, pixel range."""
    import numpy as np

    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError(
            "Pillow is required to serialize a numpy array as an image. Please install it via: "
            "`pip install Pillow`"
        ) from exc
    if array.dtype.kind not in _PIXEL_KINDS:
        raise TypeError(
            f"Invalid array data type: '{array.dtype}'. Must be one of {list(_PIXEL_KINDS.values())}"
        )
    if array.ndim not in (2, 3):
        raise ValueError(f"`image` must be a 2D or 3D array but got image shape: {array.shape}")
    if array.ndim == 3:
        channels = array.shape[2]
        if channels not in (1, 3, 4):
            raise ValueError(f"Invalid channel length: {channels}. Must be one of [1, 3, 4]")
        if channels == 1:
            array = array[:, :, 0]  # PIL takes grayscale as 2D only
    integral = np.issubdtype(array.dtype, np.integer)
    low, high = array.min(), array.max()
    if low < 0 or high > (255 if integral else 1):
        if integral:
            raise ValueError(
                "Integer pixel values out of acceptable range [0, 255]. "
                f"Found minimum value {low} and maximum value {high}. "
                "Ensure all pixel values are within the specified range."
            )
        warnings.warn(
            "Float pixel values out of acceptable range [0.0, 1.0]. "
            f"Found minimum value {low} and maximum value {high}. "
            "Rescaling values to [0.0, 1.0] with min/max scaler.",
            stacklevel=4,  # the artifact client's log_image
        )
        array = (array - low) / (high - low)
    if not integral:  # floats in [0, 1] and booleans
        array = array * 255
    return Image.fromarray(array.astype(np.uint8))


def to_pil(image: Any) -> Any:
    """A numpy array, a PIL image or an ``mlflow.Image`` look-alike as a PIL image."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(image, numpy.ndarray):
        return _array_to_pil(image)
    if callable(getattr(image, "to_pil", None)):  # mlflow.Image and look-alikes
        return image.to_pil()
    import PIL.Image

    if not isinstance(image, PIL.Image.Image):
        raise TypeError(
            f"Unsupported image object type: {type(image)}. `image` must be one of numpy.ndarray, "
            "PIL.Image.Image, and mlflow.Image."
        )
    return image


def thumbnail(image: Any) -> Any:
    """The image scaled to fit a 256-pixel square, keeping its aspect ratio (MLflow's compressed copy)."""
    width, height = image.size
    if width > height:
        size = (_COMPRESSED_IMAGE_SIZE, int(height * _COMPRESSED_IMAGE_SIZE / width))
    else:
        size = (int(width * _COMPRESSED_IMAGE_SIZE / height), _COMPRESSED_IMAGE_SIZE)
    return image.resize(size)


def _is_image_like(obj: Any) -> bool:
    return all(callable(getattr(obj, name, None)) for name in ("save", "resize")) and hasattr(obj, "size")


# -- tables ------------------------------------------------------------------------------------------
def table_frame(data: Any) -> pandas.DataFrame:
    """A dict (all scalars: one row) or a DataFrame (copied) as the DataFrame to log."""
    import pandas as pd

    if not isinstance(data, (pd.DataFrame, dict)):
        raise InvalidParameterValue("data must be a pandas.DataFrame or a dictionary")
    if isinstance(data, dict):
        try:
            return pd.DataFrame(data)
        except ValueError:  # all scalars: one row
            return pd.DataFrame([data])
    return data.copy()


def image_column(frame: pandas.DataFrame, column: Any) -> bool:
    """Whether ``column`` holds images; a column mixing images and other values is an error."""
    if frame[column].dtype != object:  # images can only be in object columns
        return False
    images = frame[column].map(_is_image_like)
    if images.any() and not images.all():
        raise ValueError(
            f"Column `{column}` contains a mix of images and non-images. Please ensure that all "
            "elements in the column are of the same type."
        )
    return bool(images.all())


def write_table(frame: pandas.DataFrame, path: str) -> None:
    """``{"columns": ..., "data": ...}`` JSON for a ``.json`` path, else Parquet."""
    try:
        if path.endswith(".json"):
            frame.to_json(path, orient="split", index=False, date_format="iso")
        else:
            frame.to_parquet(path, index=False)
    except Exception as exc:
        raise MlflowException(
            f"Failed to save {frame} as table as the data is not JSON serializable. Error: {exc}"
        ) from exc


def read_table(path: str) -> pandas.DataFrame:
    import pandas as pd

    if path.endswith(".json"):
        return pd.read_json(path, orient="split")
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    raise ValueError(f"Unsupported file type in {path}. Expected .json or .parquet")


def run_row(run: Run) -> dict[str, Any]:
    """The run as a row of ``search_runs``' frame (for ``load_table``'s ``extra_columns``)."""
    import pandas as pd

    info = run.info

    def when(ms: int | None) -> Any:
        return pd.to_datetime(ms, unit="ms", utc=True) if ms is not None else None

    row: dict[str, Any] = {
        "run_id": info.run_id,
        "experiment_id": info.experiment_id,
        "status": info.status,
        "artifact_uri": info.artifact_uri,
        "start_time": when(info.start_time),
        "end_time": when(info.end_time),
    }
    row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
    row.update({f"params.{k}": v for k, v in run.data.params.items()})
    row.update({f"tags.{k}": v for k, v in run.data.tags.items()})
    return row
