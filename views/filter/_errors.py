"""The one exception type of the filter language."""

from __future__ import annotations

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
INTERNAL_ERROR = "INTERNAL_ERROR"


class FilterError(ValueError):
    """A filter string or an order_by clause that cannot be used.

    ``str(error)`` is MLflow's exact message wherever MLflow defines one for the same input; where the
    grammar goes beyond MLflow's, the message is our own and names the character position.

    ``error_code`` is the MLflow error code a server should answer with (``INVALID_PARAMETER_VALUE``,
    except for MLflow's duplicate-order_by error, which MLflow raises as ``INTERNAL_ERROR``).
    ``position`` is the 0-based character offset of the offending token when known.
    """

    def __init__(
        self, message: str, *, position: int | None = None, error_code: str = INVALID_PARAMETER_VALUE
    ) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.error_code = error_code
