"""MLflow's search filter and order_by languages, evaluated with Polars over a wide frame.

Pipeline: tokenizer (``_lexer``) -> recursive-descent parser (``_parser``, raw tree in ``_ast``) ->
binding to the runs or experiments vocabulary (``_bind``: MLflow's checks and error texts) -> bound tree
(``Compare``/``And``/``Or``) -> Polars expression (``_polars``) or pure-Python evaluation (``_eval``).
Nothing is ever evaluated as code.

Wide-frame columns: ``attributes.<name>`` (runs: ``run_id run_name status user_id artifact_uri`` as
strings, ``start_time end_time`` as Int64; experiments: ``name`` string, ``experiment_id
creation_time last_update_time`` Int64), ``metrics.<key>`` (Float64, the latest value),
``params.<key>`` and ``tags.<key>`` (strings). A missing key is null.

Every filter MLflow accepts gives MLflow's result. On top of that (rejected by MLflow): ``OR`` and
parentheses (AND binds tighter than OR), and ``IN``/``NOT IN`` for params, tags and all string
attributes. Everything else raises ``FilterError`` with MLflow's message where MLflow has one.

Polars is imported only when an expression is first built.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eventlog.views.filter._ast import MATCH_ALL, And, Compare, Node, Or, columns_of
from eventlog.views.filter._bind import Kind, Unrenderable, bind, render
from eventlog.views.filter._errors import FilterError
from eventlog.views.filter._eval import evaluate
from eventlog.views.filter._order import OrderKey, parse_order_by, with_tiebreakers
from eventlog.views.filter._parser import parse_filter_text

if TYPE_CHECKING:
    import polars as pl
    from eventlog.views.filter._polars import SortSpec

__all__ = [
    "And",
    "Compare",
    "Filter",
    "FilterError",
    "Or",
    "OrderKey",
    "SortSpec",
    "Unrenderable",
    "order_by_exprs",
    "parse_experiment_filter",
    "parse_order_by",
    "parse_search_filter",
    "with_tiebreakers",
]


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
    if name == "SortSpec":
        return importlib.import_module("eventlog.views.filter._polars").SortSpec
    raise AttributeError(f"module 'eventlog.views.filter' has no attribute {name!r}")
