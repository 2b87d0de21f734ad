"""The segment encoder: plain columns into the Arrow table of a segment, and that table into Parquet bytes.

The other half of the on-disk contract of ``_schema.py`` (docs/format.md): the writer encodes every
segment it publishes here, and the benchmark generator (``bench/_generate.py``) builds its synthetic stores
here too, so both lay segments out the same way.

A segment is described column by column, by schema column name; a column left out is all null. A column
is one of:

- ``str``: the same text in every row (``writer``, ``kind``);
- ``Coded(codes, dictionary, nulls=None)``: text as integer codes into ``dictionary`` (a metric's run and
  key: the writer keeps small ints, not strings, per event);
- ``Numbers(values, nulls=None)``, or the ``values`` alone: an ``array.array`` or numpy array of numbers,
  encoded from its buffer;
- ``range``: int64 numbers (a block of sequence numbers);
- a list of Python values, ``None`` for null (the writer's rarer event kinds).

``nulls`` is a numpy bool array, True where the row is null.

Arrow arrays are built from buffers, never with ``pa.array`` or ``pa.scalar``: those import pandas (when it
is installed) to check whether they were handed a pandas object — about 35 MB and 0.15 s in every logging
process — and a Polars round trip would cost a millisecond per small flush. numpy and pyarrow are imported
when a segment is first encoded, so importing this module stays cheap (the writer imports it at its first
flush, not at ``import eventlog``).
"""

from __future__ import annotations

import io
from array import array
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from eventlog.views._schema import segment_schema

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

__all__ = [
    "ZSTD_MIN_ROWS",
    "Coded",
    "Column",
    "Numbers",
    "segment_bytes",
    "segment_table",
    "split_by_experiment",
]


class Coded(NamedTuple):
    """A text column as integer codes into ``dictionary`` (any integer array; int32 is used as is)."""

    codes: array[int] | np.ndarray
    dictionary: Sequence[str]
    nulls: np.ndarray | None = None


class Numbers(NamedTuple):
    """A numeric column from the buffer of ``values`` (converted to the column's type if it differs)."""

    values: array[int] | array[float] | np.ndarray
    nulls: np.ndarray | None = None


# What segment_table takes for a column (see the module's docstring).
Column: TypeAlias = (
    "str | Coded | Numbers | array[int] | array[float] | np.ndarray | range | Sequence[object]"
)

# zstd's set-up costs about a millisecond per file, more than a small segment (a run's start or end) takes
# to write: those get snappy, large ones get zstd's better ratio.
ZSTD_MIN_ROWS = 10_000


def segment_table(n: int, columns: Mapping[str, Column]) -> pa.Table:
    """The Arrow table of a segment of ``n`` events: every schema column, in schema order; the columns
    not in ``columns`` are null."""
    import pyarrow as pa

    schema = segment_schema()
    unknown = set(columns) - set(schema.names)
    if unknown:
        raise ValueError(f"not segment columns: {sorted(unknown)}")
    arrays = []
    for field in schema:
        spec = columns.get(field.name)
        array_ = None if spec is None else _arrow(spec, field.type, n)
        if array_ is not None and len(array_) != n:
            raise ValueError(f"column {field.name!r} has {len(array_)} rows, not {n}")
        arrays.append(pa.nulls(n, field.type) if array_ is None else array_)
    return pa.Table.from_arrays(arrays, schema=schema)


def split_by_experiment(
    tables: Sequence[pa.Table], experiments: Sequence[str] | None = None
) -> list[tuple[str, pa.Table]]:
    """``tables`` (segment tables, in order; at least one) as one table per experiment partition, in order
    of each experiment's first event: what one flush publishes. A caller that knows the experiments (in
    that order) passes them and saves a pass over the column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not tables:
        raise ValueError("no segment tables to split")
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    if experiments is None:
        experiments = table.column("experiment_id").unique().to_pylist()
    if len(experiments) == 1:
        return [(str(experiments[0]), table)]
    return [(str(e), table.filter(pc.equal(table.column("experiment_id"), e))) for e in experiments]


def segment_bytes(table: pa.Table) -> bytes:
    """The Parquet file of a segment: snappy below ZSTD_MIN_ROWS events, zstd from there on."""
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    if table.num_rows >= ZSTD_MIN_ROWS:
        pq.write_table(table, sink, compression="zstd")
    else:
        # A small segment (a run's few events): no dictionary pages and no stored Arrow schema (its
        # Parquet types read back as the same Arrow types) make it smaller and quicker to write.
        pq.write_table(table, sink, compression="snappy", use_dictionary=False, store_schema=False)
    return sink.getvalue()


# -- columns ------------------------------------------------------------------------------------------------
_SMALL = 256  # rows up to which a coded text column is built from its strings
def _arrow(spec: Column, arrow_type: pa.DataType, n: int) -> pa.Array | None:
    """The Arrow array of one column (None: all null)."""
    import numpy as np
    import pyarrow as pa

    if isinstance(spec, str):
        if arrow_type != pa.string():
            raise TypeError(f"a text constant for a {arrow_type} column")
        return _constant(spec, n)
    if isinstance(spec, Coded):
        if arrow_type != pa.string():
            raise TypeError(f"coded text for a {arrow_type} column")
        if n <= _SMALL and spec.nulls is None:
            # A few rows (a run's end): the strings themselves cost less than a dictionary and its cast.
            dictionary = spec.dictionary
            return _column([dictionary[c] for c in _as_numpy(spec.codes, np.int64).tolist()], arrow_type)
        return _decoded(spec.codes, spec.dictionary, spec.nulls)
    if isinstance(spec, range):
        return _numbers(np.arange(spec.start, spec.stop, spec.step, dtype=np.int64), arrow_type, None)
    if isinstance(spec, Numbers):
        return _numbers(spec.values, arrow_type, spec.nulls)
    if isinstance(spec, (array, np.ndarray)):
        return _numbers(spec, arrow_type, None)
    values = list(spec)
    if all(v is None for v in values):
        return None
    return _column(values, arrow_type)


def _as_numpy(values: Any, dtype: Any) -> np.ndarray:
    """``values`` (an array.array or numpy array) as a contiguous numpy array of ``dtype``: a view of the
    same buffer when it already is one."""
    import numpy as np

    if isinstance(values, array):
        values = np.frombuffer(values, dtype=values.typecode)
    return np.ascontiguousarray(values, dtype=dtype)


def _validity(nulls: np.ndarray | None) -> pa.Buffer | None:
    import numpy as np
    import pyarrow as pa

    if nulls is None or not nulls.any():
        return None
    return pa.py_buffer(np.packbits(~np.asarray(nulls, dtype=bool), bitorder="little"))


def _numbers(values: Any, arrow_type: pa.DataType, nulls: np.ndarray | None) -> pa.Array:
    """A numeric array over the buffer of ``values``."""
    import numpy as np
    import pyarrow as pa

    if arrow_type == pa.int64():
        dtype: Any = np.int64
    elif arrow_type == pa.float64():
        dtype = np.float64
    elif arrow_type == pa.int32():
        dtype = np.int32
    else:
        raise TypeError(f"numbers for a {arrow_type} column")
    data = _as_numpy(values, dtype)
    return pa.Array.from_buffers(arrow_type, len(data), [_validity(nulls), pa.py_buffer(data)])


def _constant(value: str, n: int) -> pa.Array:
    """``value`` in each of ``n`` rows, straight from buffers (cheaper than decoding n zero codes)."""
    import numpy as np

    encoded = value.encode()
    return _strings(n, None, np.arange(n + 1, dtype=np.int64) * len(encoded), encoded * n)


def _decoded(codes: Any, dictionary: Sequence[str], nulls: np.ndarray | None) -> pa.Array:
    """A string array from codes into ``dictionary``: one string per distinct value, then a gather."""
    import pyarrow as pa

    text = pa.string()
    indices = _numbers(codes, pa.int32(), nulls)
    return pa.DictionaryArray.from_arrays(indices, _column(list(dictionary), text)).cast(text)


def _column(values: list[object], arrow_type: pa.DataType) -> pa.Array:
    """A string, int64 or float64 array from a list that may hold None."""
    if len(values) <= _SMALL:
        return _small_column(values, arrow_type)
    return _column_arrays(values, arrow_type)


def _column_arrays(values: list[object], arrow_type: pa.DataType) -> pa.Array:
    """``_column`` through numpy: for many values."""
    import numpy as np
    import pyarrow as pa

    n = len(values)
    absent = np.fromiter((v is None for v in values), dtype=bool, count=n)
    validity = pa.py_buffer(np.packbits(~absent, bitorder="little")) if absent.any() else None
    if arrow_type == pa.string():
        encoded = [b"" if v is None else str(v).encode() for v in values]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=n), out=offsets[1:])
        return _strings(n, validity, offsets, b"".join(encoded))
    dtype = np.float64 if arrow_type == pa.float64() else np.int64
    numbers = np.fromiter((0 if v is None else v for v in values), dtype=dtype, count=n)
    return pa.Array.from_buffers(arrow_type, n, [validity, pa.py_buffer(numbers)])


def _small_column(values: list[object], arrow_type: pa.DataType) -> pa.Array:
    """``_column`` for a few values (a run's start or end): the buffers built in plain Python, which for
    tens of values costs a fraction of numpy's per-call overhead."""
    import pyarrow as pa

    n = len(values)
    validity = None
    if None in values:
        bitmap = bytearray((n + 7) // 8)
        for i, v in enumerate(values):
            if v is not None:
                bitmap[i >> 3] |= 1 << (i & 7)
        validity = pa.py_buffer(bitmap)
    if arrow_type == pa.string():
        encoded = [b"" if v is None else str(v).encode() for v in values]
        offsets = array("i", [0])
        total = 0
        for item in encoded:
            total += len(item)
            offsets.append(total)
        if total >= 2**31:  # beyond 32-bit offsets: the general path
            return _column_arrays(values, arrow_type)
        buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
        return pa.Array.from_buffers(arrow_type, n, buffers)
    typecode = "d" if arrow_type == pa.float64() else "q"
    numbers = array(typecode, [0 if v is None else v for v in values])  # type: ignore[type-var]
    return pa.Array.from_buffers(arrow_type, n, [validity, pa.py_buffer(numbers)])


def _strings(n: int, validity: pa.Buffer | None, offsets: np.ndarray, data: bytes) -> pa.Array:
    """A string array from its int64 ``offsets`` and ``data``."""
    import numpy as np
    import pyarrow as pa

    if offsets[-1] < 2**31:  # the usual case: 32-bit offsets, the string type itself
        small = pa.py_buffer(offsets.astype(np.int32))
        return pa.Array.from_buffers(pa.string(), n, [validity, small, pa.py_buffer(data)])
    large = pa.Array.from_buffers(pa.large_string(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(data)])
    return large.cast(pa.string())
