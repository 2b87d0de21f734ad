"""MLflow's search filter and order_by languages, evaluated over a wide frame of runs or experiments.

Pipeline: tokenizer (``_lexer``) -> recursive-descent parser (``_parser``, raw tree in ``_ast``, IN
lists read by ``_pylist``) -> binding to the runs or experiments vocabulary (``_bind``: MLflow's checks
and error texts) -> bound tree (``Compare``/``And``/``Or``). order_by clauses become ``OrderKey``
objects (``_order``). A bound tree has three evaluators with one semantics:

- ``_polars``: Polars expressions for filters and sort keys (``Filter.to_polars``,
  :func:`order_by_exprs`), used by the lazy search over the view files (``views._search``) and by
  ``search_experiments``;
- ``_numpy``: vectorised evaluation and sorting over dictionary-encoded numpy columns, used by the
  in-memory run search (``views._memory``); a comparison it cannot decide exactly raises its
  ``Unsupported`` and the caller falls back to Polars;
- ``_eval``: the pure-Python reference over one row (``Filter.matches``), which ``_numpy`` also uses to
  decide each text comparison once per distinct value; LIKE/ILIKE matching for all three is in ``_like``.

Nothing is ever evaluated as code.

Wide-frame columns: ``attributes.<name>`` (runs: ``run_id run_name status user_id artifact_uri`` as
strings, ``start_time end_time`` as Int64; experiments: ``name`` string, ``experiment_id
creation_time last_update_time`` Int64), ``metrics.<key>`` (Float64, the latest value),
``params.<key>`` and ``tags.<key>`` (strings). A missing key is null.

Every filter MLflow accepts gives MLflow's result. On top of that (rejected by MLflow): ``OR`` and
parentheses (AND binds tighter than OR), and ``IN``/``NOT IN`` for params, tags and all string
attributes. Everything else raises ``FilterError`` with MLflow's message where MLflow has one.

Polars is imported only when an expression is first built, numpy only with ``_numpy`` (which this
module does not import).
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eventlog.views.filter._ast import MATCH_ALL, And, Compare, Node, Or, columns_of, conj
from eventlog.views.filter._bind import Kind, Unrenderable, bind, render
from eventlog.views.filter._errors import FilterError
from eventlog.views.filter._eval import evaluate
from eventlog.views.filter._order import OrderKey, parse_order_by, with_tiebreakers
from eventlog.views.filter._parser import parse_filter_text

if TYPE_CHECKING:
    import polars as pl
    from eventlog.views.filter._numpy import (
        Column,
        NumberColumn,
        TextColumn,
        Unsupported,
        sort_rows,
        text_column,
    )
    from eventlog.views.filter._numpy import evaluate as evaluate_columns
    from eventlog.views.filter._polars import SortSpec, filter_expr

__all__ = [
    "And",
    "Column",
    "Compare",
    "Filter",
    "FilterError",
    "Node",
    "NumberColumn",
    "Or",
    "OrderKey",
    "SortSpec",
    "TextColumn",
    "Unrenderable",
    "Unsupported",
    "columns_of",
    "conj",
    "evaluate_columns",
    "filter_expr",
    "order_by_exprs",
    "parse_experiment_filter",
    "parse_order_by",
    "parse_search_filter",
    "sort_rows",
    "text_column",
    "with_tiebreakers",
]

# Exported on first use (name -> (module, attribute)): these modules import Polars or numpy.
_LAZY = {
    "SortSpec": ("eventlog.views.filter._polars", "SortSpec"),
    "filter_expr": ("eventlog.views.filter._polars", "filter_expr"),
    # The numpy evaluation over dictionary-encoded columns (the in-memory search of views._memory).
    "Column": ("eventlog.views.filter._numpy", "Column"),
    "NumberColumn": ("eventlog.views.filter._numpy", "NumberColumn"),
    "TextColumn": ("eventlog.views.filter._numpy", "TextColumn"),
    "Unsupported": ("eventlog.views.filter._numpy", "Unsupported"),
    "evaluate_columns": ("eventlog.views.filter._numpy", "evaluate"),
    "sort_rows": ("eventlog.views.filter._numpy", "sort_rows"),
    "text_column": ("eventlog.views.filter._numpy", "text_column"),
}


class Filter:
    """A parsed, checked filter over the runs or experiments wide frame."""

    __slots__ = ("columns", "extensions", "kind", "node", "text")

    columns: frozenset[str]
    """The wide-frame columns the filter reads, e.g. ``{"metrics.loss", "params.lr"}``."""
    extensions: frozenset[str]
    """The grammar extensions the filter string uses (empty when MLflow accepts it as well):
    ``OR``, ``parentheses``, ``IN`` (on a key MLflow has no IN for), ``case-insensitive comparator``."""

    def __init__(
        self,
        node: Node,
        kind: Kind = "runs",
        text: str | None = None,
        extensions: Collection[str] = (),
    ) -> None:
        self.node = node
        self.kind = kind
        self.text = text
        self.columns = columns_of(node)
        self.extensions = frozenset(extensions)

    @property
    def matches_all(self) -> bool:
        return self.node == MATCH_ALL

    def to_polars(self, available: Collection[str] | None = None) -> pl.Expr:
        """A boolean expression, never null. With ``available`` (the frame's column names), columns the
        filter reads but the frame lacks are treated as all-null instead of raising."""
        from eventlog.views.filter._polars import filter_expr

        return filter_expr(self.node, available)

    def matches(self, row: Mapping[str, object]) -> bool:
        """Reference evaluation over one row dict (same column names; a missing key or None is absent)."""
        return evaluate(self.node, row)

    def to_string(self) -> str:
        """A canonical filter string that parses back to this filter (raises ``Unrenderable`` for the
        rare keys/values no quoting can express)."""
        return render(self.node, self.kind)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Filter) and (self.kind, self.node) == (other.kind, other.node)

    def __hash__(self) -> int:
        return hash((self.kind, self.node))

    def __repr__(self) -> str:
        return f"Filter({self.kind!r}, {self.text!r})"


def _parse(filter_string: str | None, kind: Kind) -> Filter:
    if filter_string is None or filter_string == "":
        return Filter(MATCH_ALL, kind, filter_string)
    if not isinstance(filter_string, str):
        raise FilterError(f"The filter must be a string, not {type(filter_string).__name__}")
    raw, extensions = parse_filter_text(filter_string)
    node = bind(raw, kind, extensions)
    return Filter(node, kind, filter_string, extensions)


def parse_search_filter(filter_string: str | None) -> Filter:
    """Parse a ``search_runs`` filter; ``""``/None give a filter that matches every run."""
    return _parse(filter_string, "runs")


def parse_experiment_filter(filter_string: str | None) -> Filter:
    """Parse a ``search_experiments`` filter; ``""``/None give a filter that matches every experiment."""
    return _parse(filter_string, "experiments")


def order_by_exprs(keys: Sequence[OrderKey], available: Collection[str] | None = None) -> SortSpec:
    """Polars sort expressions for ``keys`` (append tie-breakers first, e.g. with ``with_tiebreakers``).

    Use as ``frame.sort(spec.by, descending=spec.descending, nulls_last=spec.nulls_last,
    maintain_order=True)``.
    """
    from eventlog.views.filter._polars import order_by_exprs as build

    return build(keys, available)


def __getattr__(name: str) -> Any:
    found = _LAZY.get(name)
    if found is None:
        raise AttributeError(f"module 'eventlog.views.filter' has no attribute {name!r}")
    module, attribute = found
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value
