"""MLflow's REST protocol, shared by ``eventlog server`` and eventlog's HTTP client (private).

- ``_endpoints``: the table of operations (name, HTTP method, path), from which the server routes and the
  client builds its URLs;
- ``_json``: entities <-> MLflow's REST JSON, scalars as MLflow writes and reads them, error documents and
  their HTTP statuses, and their parsing back into eventlog's typed exceptions.
"""

from eventlog._rest import _json as json_format
from eventlog._rest._endpoints import (
    AJAX_PREFIX,
    API_PREFIX,
    ARTIFACTS_PREFIX,
    ENDPOINTS,
    Endpoint,
    endpoint,
)

__all__ = [
    "AJAX_PREFIX",
    "API_PREFIX",
    "ARTIFACTS_PREFIX",
    "ENDPOINTS",
    "Endpoint",
    "endpoint",
    "json_format",
]
