"""Every operation of MLflow's REST API that eventlog serves and calls, in one table.

The server routes from this table and the HTTP client builds its URLs from it, so the two cannot drift
apart. Paths are full paths (``/api/2.0/...``) in Starlette's template syntax: ``{model_id}`` is one path
segment, ``{artifact_path:path}`` the rest of the path. The methods and paths are those of MLflow 3.17's
service descriptors (``mlflow/protos/service_pb2.py``, ``mlflow_artifacts_pb2.py``).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

__all__ = [
    "AJAX_PREFIX",
    "API_PREFIX",
    "ARTIFACTS_PREFIX",
    "ENDPOINTS",
    "Endpoint",
    "endpoint",
]

API_PREFIX = "/api/2.0"
# MLflow serves every /api/2.0 route under /ajax-api/2.0 too (its web UI calls those).
AJAX_PREFIX = "/ajax-api/2.0"
ARTIFACTS_PREFIX = f"{API_PREFIX}/mlflow-artifacts/artifacts"

_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")


@dataclass(frozen=True)
class Endpoint:
    """One operation: its name (the client/store method it stands for), HTTP method(s), path, group."""

    name: str
    method: str
    path: str
    group: str
    # Further methods MLflow routes to the same operation (experiments/search answers GET too).
    also: tuple[str, ...] = ()

    @property
    def methods(self) -> tuple[str, ...]:
        return (self.method, *self.also)

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(m.group(1) for m in _PLACEHOLDER.finditer(self.path))

    def url(self, **values: str) -> str:
        """The path with its placeholders filled in, each percent-encoded (a ``:path`` keeps its '/')."""

        def fill(match: re.Match[str]) -> str:
            name, convertor = match.group(1), match.group(2)
            if name not in values:
                raise KeyError(f"{self.name}: no value for the path placeholder {name!r}")
            return urllib.parse.quote(str(values[name]), safe="/" if convertor == "path" else "")

        return _PLACEHOLDER.sub(fill, self.path)


def _e(name: str, method: str, path: str, group: str, *also: str) -> Endpoint:
    return Endpoint(name, method, path, group, tuple(also))


_M = f"{API_PREFIX}/mlflow"
_LM = f"{_M}/logged-models"

ENDPOINTS: tuple[Endpoint, ...] = (
    # -- experiments --------------------------------------------------------------------------------
    _e("create_experiment", "POST", f"{_M}/experiments/create", "experiments"),
    _e("get_experiment", "GET", f"{_M}/experiments/get", "experiments"),
    _e("get_experiment_by_name", "GET", f"{_M}/experiments/get-by-name", "experiments"),
    _e("search_experiments", "POST", f"{_M}/experiments/search", "experiments", "GET"),
    _e("update_experiment", "POST", f"{_M}/experiments/update", "experiments"),
    _e("delete_experiment", "POST", f"{_M}/experiments/delete", "experiments"),
    _e("restore_experiment", "POST", f"{_M}/experiments/restore", "experiments"),
    _e("set_experiment_tag", "POST", f"{_M}/experiments/set-experiment-tag", "experiments"),
    _e("delete_experiment_tag", "POST", f"{_M}/experiments/delete-experiment-tag", "experiments"),
    # -- runs ---------------------------------------------------------------------------------------
    _e("create_run", "POST", f"{_M}/runs/create", "runs"),
    _e("get_run", "GET", f"{_M}/runs/get", "runs"),
    _e("update_run", "POST", f"{_M}/runs/update", "runs"),
    _e("delete_run", "POST", f"{_M}/runs/delete", "runs"),
    _e("restore_run", "POST", f"{_M}/runs/restore", "runs"),
    _e("search_runs", "POST", f"{_M}/runs/search", "runs"),
    _e("log_metric", "POST", f"{_M}/runs/log-metric", "runs"),
    _e("log_param", "POST", f"{_M}/runs/log-parameter", "runs"),
    _e("set_tag", "POST", f"{_M}/runs/set-tag", "runs"),
    _e("delete_tag", "POST", f"{_M}/runs/delete-tag", "runs"),
    _e("log_batch", "POST", f"{_M}/runs/log-batch", "runs"),
    _e("log_inputs", "POST", f"{_M}/runs/log-inputs", "runs"),
    _e("log_outputs", "POST", f"{_M}/runs/outputs", "runs"),
    # -- metric histories ---------------------------------------------------------------------------
    _e("get_metric_history", "GET", f"{_M}/metrics/get-history", "metrics"),
    _e("get_metric_history_bulk_interval", "GET", f"{_M}/metrics/get-history-bulk-interval", "metrics"),
    # -- artifacts through the tracking API (the run's root and its files; used by MLflow's UI) -------
    _e("list_artifacts", "GET", f"{_M}/artifacts/list", "artifacts"),
    # -- logged models (MLflow 3) -------------------------------------------------------------------
    _e("create_logged_model", "POST", _LM, "logged_models"),
    _e("search_logged_models", "POST", f"{_LM}/search", "logged_models"),
    _e("get_logged_model", "GET", f"{_LM}/{{model_id}}", "logged_models"),
    _e("finalize_logged_model", "PATCH", f"{_LM}/{{model_id}}", "logged_models"),
    _e("delete_logged_model", "DELETE", f"{_LM}/{{model_id}}", "logged_models"),
    _e("set_logged_model_tags", "PATCH", f"{_LM}/{{model_id}}/tags", "logged_models"),
    _e("delete_logged_model_tag", "DELETE", f"{_LM}/{{model_id}}/tags/{{tag_key}}", "logged_models"),
    _e("log_logged_model_params", "POST", f"{_LM}/{{model_id}}/params", "logged_models"),
    # -- the artifact proxy (mlflow-artifacts: URIs) ------------------------------------------------
    _e("list_proxied_artifacts", "GET", ARTIFACTS_PREFIX, "proxy"),
    _e("download_artifact", "GET", f"{ARTIFACTS_PREFIX}/{{artifact_path:path}}", "proxy"),
    _e("upload_artifact", "PUT", f"{ARTIFACTS_PREFIX}/{{artifact_path:path}}", "proxy"),
    _e("delete_artifact", "DELETE", f"{ARTIFACTS_PREFIX}/{{artifact_path:path}}", "proxy"),
    # -- the server itself --------------------------------------------------------------------------
    _e("health", "GET", "/health", "server"),
    _e("version", "GET", "/version", "server"),
    _e("server_info", "GET", "/api/3.0/mlflow/server-info", "server"),
)

_BY_NAME = {e.name: e for e in ENDPOINTS}


def endpoint(name: str) -> Endpoint:
    """The operation called ``name``; a KeyError names the operations there are."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no REST operation {name!r}; known: {sorted(_BY_NAME)}") from None
