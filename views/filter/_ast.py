"""Syntax trees of the filter language.

Two levels:

* the *raw* tree the parser builds (``RawClause``/``RawAnd``/``RawOr``): identifiers, operators and values
  as written, with character positions, before any check against a schema;
* the *bound* tree (``Compare``/``And``/``Or``) that binding produces: wide-frame column names, normalised
  operators and typed values. It is what evaluation, rendering and equality work on; it carries no
  positions, so that two spellings of the same filter compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "MATCH_ALL",
    "And",
    "Compare",
    "DType",
    "Node",
    "Or",
    "RawAnd",
    "RawClause",
    "RawNode",
    "RawOr",
    "RawValue",
    "Scalar",
    "Value",
    "columns_of",
    "conj",
    "disj",
]

# --------------------------------------------------------------------------------------------- raw


@dataclass(frozen=True)
class RawValue:
    """The right-hand side of a comparison as written.

    ``kind``: ``number`` (``sub`` is ``int``/``float``), ``string`` (single-quoted), ``ident`` (a
    double-quoted string, a bare word or a dotted chain: MLflow reads all of these as an identifier),
    ``list`` (a parenthesised Python literal, ``items`` holds its elements) or ``other`` (anything else
    MLflow would still hand to its value check, e.g. ``NULL`` or a hexadecimal number).
    """

    kind: Literal["number", "string", "ident", "list", "other"]
    text: str
    pos: int
    sub: str = ""
    items: tuple[object, ...] = ()


@dataclass(frozen=True)
class RawClause:
    """``<identifier> <operator> [<value>]``; ``op`` is the operator as written (``IS NULL``,
    ``IS NOT NULL`` and ``NOT IN`` are normalised to those spellings, as MLflow does)."""

    ident: str
    ident_pos: int
    op: str
    op_pos: int
    value: RawValue | None
    # True when sqlparse would group the clause as a binary Comparison (``ident op value``); False for
    # IS [NOT] NULL and [NOT] IN clauses. Decides where MLflow tolerates a missing AND.
    binary: bool = True


@dataclass(frozen=True)
class RawAnd:
    items: tuple[RawNode, ...]


@dataclass(frozen=True)
class RawOr:
    items: tuple[RawNode, ...]


RawNode: TypeAlias = "RawClause | RawAnd | RawOr"

# ------------------------------------------------------------------------------------------- bound

DType = Literal["float", "int", "str"]
Scalar: TypeAlias = "int | float | str"
Value: TypeAlias = "int | float | str | tuple[str, ...] | tuple[int, ...] | None"


@dataclass(frozen=True)
class Compare:
    """One comparison against one wide-frame column.

    ``dtype`` is the column's value domain: ``float`` (metrics: NaN-aware), ``int`` (time attributes,
    experiment ids) or ``str``. ``op`` is one of ``= != < <= > >= LIKE ILIKE IN NOT IN IS NULL
    IS NOT NULL``; ``value`` is None for the IS forms and a tuple for the IN forms.
    """

    column: str
    op: str
    value: Value
    dtype: DType


@dataclass(frozen=True)
class And:
    """Conjunction; ``And(())`` matches everything."""

    items: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Or:
    """Disjunction of at least two items."""

    items: tuple[Node, ...]


Node: TypeAlias = "Compare | And | Or"

MATCH_ALL = And(())


def conj(items: list[Node] | tuple[Node, ...]) -> Node:
    """Flattened conjunction (a single item stands for itself)."""
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, And) else (item,))
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def disj(items: list[Node] | tuple[Node, ...]) -> Node:
    """Flattened disjunction (a single item stands for itself)."""
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, Or) else (item,))
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def columns_of(node: Node) -> frozenset[str]:
    if isinstance(node, Compare):
        return frozenset((node.column,))
    out: set[str] = set()
    for item in node.items:
        out |= columns_of(item)
    return frozenset(out)
