"""Payload formats of the model runner: one registry of codecs.

Each :class:`Codec` is registered under its name, its file extensions and its
content types; :func:`get_codec` picks one from an explicit format, an HTTP
``Content-Type`` or a file name (in that order, CSV by default), the way
MLServer's codec registry does.  Built in: ``csv``, ``mtx`` (Matrix Market,
sparse), ``arrow`` (IPC stream or file) and ``parquet``.

CSV is read exactly as ``pandas.read_csv(io.BytesIO(data))`` reads it -- that is
a documented promise.  Large payloads, on machines with several CPUs, first go
through pyarrow's multi-threaded reader, whose result is kept only when none of
the known ways it can differ from pandas' applies (see :func:`_read_csv_arrow`;
found and checked by the differential tests); anything else is read by pandas.  CSV is written
byte for byte as ``df.to_csv(index=False)``, with a faster formatter for plain
numeric frames.

Untrusted payloads: within :func:`limits` (the server sets them per request)
a payload's columns and declared size are checked before it is parsed, from
its header or metadata (413; the checks are in :mod:`drumnb.core.limits`);
Matrix Market is parsed strictly (:mod:`drumnb.core.mtx`) and Arrow IPC
validated, since scipy's and pyarrow's readers crash the process on some
damaged inputs.  ``Limits``, ``limits``, ``current_limits``, ``read_mtx`` and
``write_mtx`` are importable from here too.

pyarrow and scipy are imported inside the functions that need them: this
module is on the CLI's start-up path.
"""
from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import InputError
from .limits import Limits, arrow_declared_values, check_csv_header, current_limits, limits
from .mtx import read_mtx, write_mtx

__all__ = ["Codec", "register", "get_codec", "read_frame", "write_frame", "is_sparse", "read_sparse_column_file",
           "read_csv", "write_csv", "read_mtx", "write_mtx", "read_arrow", "write_arrow", "read_parquet",
           "write_parquet", "Limits", "limits", "current_limits"]

#: pyarrow reads a CSV only when it is at least this large and this many CPUs
#: are available: single-threaded, pandas' C parser (3.x) is faster than
#: pyarrow's, which wins by using several cores (benchmarks/codec_bench.py).
ARROW_CSV_MIN_BYTES = 4 << 20
ARROW_CSV_MIN_CPUS = 4
#: pyarrow's CSV block size (its default): the unit of its multi-threading.
ARROW_CSV_BLOCK_BYTES = 1 << 20


# --------------------------------------------------------------------------- the registry

@dataclass(frozen=True)
class Codec:
    """A payload format: how to recognise it, read it and (maybe) write it.

    ``decode(data, *, sparse_column_names=None)`` returns a DataFrame;
    ``encode(df)`` returns bytes, or is ``None`` for read-only formats.
    """

    name: str
    extensions: tuple[str, ...]
    content_types: tuple[str, ...]
    decode: Callable[..., pd.DataFrame]
    encode: Callable[[pd.DataFrame], bytes] | None = None


_BY_NAME: dict[str, Codec] = {}
_BY_EXTENSION: dict[str, Codec] = {}
_BY_CONTENT_TYPE: dict[str, Codec] = {}


def register(codec: Codec) -> None:
    """Add ``codec`` (or replace the one of the same name, extension or type)."""
    _BY_NAME[codec.name.lower()] = codec
    _BY_EXTENSION.update((ext.lower(), codec) for ext in codec.extensions)
    _BY_CONTENT_TYPE.update((ctype.lower(), codec) for ctype in codec.content_types)


def get_codec(format: str | None = None, *, content_type: str | None = None,
              path: str | None = None) -> Codec:
    """The codec for an explicit ``format``, else ``content_type``, else ``path``'s extension.

    Content-type parameters (``; charset=utf-8``) and case are ignored.  An
    unknown format or content type raises :class:`InputError`; an unknown or
    missing extension, like no hint at all, means CSV.
    """
    if format:
        codec = _BY_NAME.get(format.lower())
        if codec is None:
            raise InputError(f"unknown payload format {format!r}",
                             hint="use one of: " + ", ".join(sorted(_BY_NAME)))
        return codec
    if content_type:
        from email.message import Message

        header = Message()
        header["Content-Type"] = content_type
        media_type = header.get_params()[0][0].lower()  # the value without its parameters
        codec = _BY_CONTENT_TYPE.get(media_type)
        if codec is None:
            raise InputError(f"unsupported content type {content_type!r}",
                             hint="send one of: " + ", ".join(sorted(_BY_CONTENT_TYPE)))
        return codec
    if path:
        return _BY_EXTENSION.get(os.path.splitext(path)[1].lower(), _BY_NAME["csv"])
    return _BY_NAME["csv"]


def read_frame(data, *, format: str | None = None, content_type: str | None = None,
               path: str | None = None, sparse_column_names: list[str] | None = None) -> pd.DataFrame:
    """Decode a payload (bytes, or the path of a file) with the codec :func:`get_codec` picks.

    A CSV file is parsed straight from disk (as ``pd.read_csv(path)`` does), so
    its bytes are never held in memory beside the frame.
    """
    if isinstance(data, (str, os.PathLike)):
        path = path or os.fspath(data)
        codec = get_codec(format, content_type=content_type, path=path)
        if codec.name == "csv":
            return _read_csv_file(os.fspath(data))
        with open(data, "rb") as f:
            data = f.read()
    else:
        codec = get_codec(format, content_type=content_type, path=path)
    return codec.decode(bytes(data), sparse_column_names=sparse_column_names)


def _read_csv_file(path: str) -> pd.DataFrame:
    """``pd.read_csv(path)``; on failure, the same errors as :func:`read_csv` gives for the bytes."""
    if current_limits() != Limits() or (os.path.getsize(path) >= ARROW_CSV_MIN_BYTES
                                                 and _available_cpus() >= ARROW_CSV_MIN_CPUS):
        with open(path, "rb") as f:
            return read_csv(f.read())  # enough cores for pyarrow's parallel reader to win, or limits to check
    try:
        return pd.read_csv(path)
    except (UnicodeDecodeError, ValueError):  # EmptyDataError and ParserError are ValueErrors
        with open(path, "rb") as f:
            return read_csv(f.read())


def write_frame(df, format: str = "csv") -> bytes:
    """Encode ``df`` as ``format`` (csv, arrow or parquet).

    A scipy sparse matrix, or a DataFrame with sparse columns, is always written
    as Matrix Market (``mtx``), whatever ``format`` says; :func:`is_sparse`
    tells callers which content type to send.
    """
    codec = _BY_NAME["mtx"] if is_sparse(df) else get_codec(format)
    if codec.encode is None:
        raise InputError(f"the {codec.name} format can be read but not written")
    return codec.encode(df)


def is_sparse(obj) -> bool:
    """Whether :func:`write_frame` writes ``obj`` as Matrix Market."""
    if isinstance(obj, pd.DataFrame):
        return any(isinstance(dtype, pd.SparseDtype) for dtype in obj.dtypes)
    sparse = sys.modules.get("scipy.sparse")  # no scipy loaded: obj cannot be a scipy matrix
    return sparse is not None and sparse.issparse(obj)


def read_sparse_column_file(path) -> list[str]:
    """Column names for an ``.mtx`` payload: one a line, stripped (as DRUM reads them)."""
    with open(path, "rb") as f:
        names = [line.strip().decode("utf-8") for line in f]
    while names and not names[-1]:
        names.pop()
    return names


# --------------------------------------------------------------------------- CSV

def read_csv(data: bytes, *, sparse_column_names: list[str] | None = None) -> pd.DataFrame:
    """Exactly ``pd.read_csv(io.BytesIO(data))``, via pyarrow where that is known to be equal.

    ``sparse_column_names`` is ignored (it is for Matrix Market payloads).
    """
    check_csv_header(data)
    if len(data) >= ARROW_CSV_MIN_BYTES and _available_cpus() >= ARROW_CSV_MIN_CPUS:
        df = _read_csv_arrow(data)
        if df is not None:
            return df
    try:
        return pd.read_csv(io.BytesIO(data))
    except UnicodeDecodeError:
        raise _utf8_error(data) from None
    except pd.errors.EmptyDataError:
        raise InputError("the CSV payload is empty" + (" (0 bytes)" if not data else
                         ": no header row, only blank lines")) from None
    except ValueError as exc:  # pd.errors.ParserError and the like: the message names the line
        raise InputError(f"could not read the CSV payload: {exc}",
                         hint="every row needs as many fields as the header, and quotes must be "
                              "closed") from None


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on macOS / Windows
        return os.cpu_count() or 1


def _utf8_error(data: bytes) -> InputError:
    try:
        data.decode("utf-8")
        where = ""
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        where = f" at byte {exc.start} (line {line}): {exc.reason} {data[exc.start:exc.start + 1]!r}"
    return InputError(f"the CSV payload is not valid UTF-8{where}",
                      hint="save the file as UTF-8, e.g. df.to_csv(path, index=False, encoding='utf-8')")


def _read_csv_arrow(data: bytes) -> pd.DataFrame | None:
    """``pd.read_csv``'s result, read by pyarrow, or ``None`` when it might differ.

    pyarrow is told pandas' NA strings; its table is accepted only if every
    column is int64, float64 or all-null (pandas: float64 NaN) and none of
    these traps, found by differential testing (tests/core/test_codecs.py), applies:

    * duplicate or empty header names (pandas renames them ``a.1``,
      ``Unnamed: 0``), and zero rows (pandas: object columns);
    * a blank header name: pandas skips a whitespace-only first line and takes
      the next line as the header, pyarrow takes the blanks as a column name;
    * NaN or infinity in a float column: pyarrow also parses ``NAN``, ``+nan``,
      ``nan(1)`` and `` inf`` (space first), which pandas keeps as text;
    * an ``x`` or ``X`` after the first line: pyarrow reads ``0x1F`` as an int,
      pandas keeps text (any other ``x`` is text anyway);
    * a magnitude of 2**63 or more in a float column: pyarrow reads integers
      beyond int64 as floats, pandas as uint64 -- or, for one beyond uint64
      that comes before the column's first non-integer, the whole column as
      text (even leaving ``NA`` as is);
    * a float column of whole numbers if the data holds a ``+``: pyarrow reads
      ``+1`` as a float, pandas as an int.

    Rows longer or shorter than the header, whitespace-only lines and invalid
    UTF-8 make pyarrow fail or yield text, so pandas handles them.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    from pandas._libs.parsers import STR_NA_VALUES  # the NA strings read_csv itself uses

    # The end of the first line: scanning from here covers every value (and maybe some header).
    body = min((i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0), default=0)
    if data.find(b"x", body) >= 0 or data.find(b"X", body) >= 0:
        return None
    try:
        table = pcsv.read_csv(
            pa.BufferReader(data),
            read_options=pcsv.ReadOptions(block_size=ARROW_CSV_BLOCK_BYTES),
            parse_options=pcsv.ParseOptions(newlines_in_values=data.find(b'"') >= 0),
            convert_options=pcsv.ConvertOptions(null_values=sorted(STR_NA_VALUES), strings_can_be_null=True,
                                                quoted_strings_can_be_null=True))
        names = table.column_names
    except (pa.ArrowException, UnicodeDecodeError):
        return None
    if table.num_rows == 0 or not all(name.strip() for name in names) or len(set(names)) != len(names):
        return None
    plus = None
    for i, column in enumerate(table.columns):
        if column.type == pa.null():
            table = table.set_column(i, names[i], column.cast(pa.float64()))
        elif column.type == pa.float64():
            extremes = pc.min_max(column).as_py()  # None when all are null
            if (not pc.all(pc.is_finite(column)).as_py()
                    or max(abs(extremes["min"] or 0), abs(extremes["max"] or 0)) >= 2.0 ** 63):
                return None
            if plus is None:
                plus = data.find(b"+", body) >= 0
            if plus and pc.all(pc.equal(pc.trunc(column), column)).as_py():
                return None
        elif column.type != pa.int64():
            return None
    return table.to_pandas(split_blocks=True)


def write_csv(df: pd.DataFrame) -> bytes:
    """Byte for byte ``df.to_csv(index=False).encode()``, faster for plain numeric frames.

    Frames whose column names are strings and whose columns are all float64,
    integer or bool are formatted here (floats as Python ``repr``, NaN as an
    empty field, ``""`` when it is the row's only field -- what the ``csv``
    module writes); everything else goes to pandas.
    """
    columns = _plain_columns(df)
    if columns is None:
        return df.to_csv(index=False).encode()
    import csv

    header = io.StringIO()
    csv.writer(header, lineterminator=os.linesep).writerow(df.columns)
    width, empty = len(columns), '""' if len(columns) == 1 else ""
    row = ",".join(["%s"] * width) + os.linesep  # %s of a float is its repr
    step = max(1, (1 << 16) // width)
    parts = [header.getvalue().encode()]
    for start in range(0, len(df), step):
        flat = [None] * (min(step, len(df) - start) * width)  # row-major values of this chunk
        for j, values in enumerate(columns):
            chunk = values[start:start + step]
            flat[j::width] = chunk.tolist()
            if chunk.dtype.kind == "f":
                for i in np.flatnonzero(np.isnan(chunk)).tolist():
                    flat[i * width + j] = empty
        parts.append((row * (len(flat) // width) % tuple(flat)).encode())
    return b"".join(parts)


def _plain_columns(df) -> list[np.ndarray] | None:
    """The columns as numpy arrays if :func:`write_csv` may format them itself."""
    if (not isinstance(df, pd.DataFrame) or df.empty or isinstance(df.columns, pd.MultiIndex)
            or not all(isinstance(name, str) for name in df.columns)
            or not all(isinstance(t, np.dtype) and (t == np.float64 or t.kind in "iub") for t in df.dtypes)):
        return None
    return [df.iloc[:, j].to_numpy() for j in range(df.shape[1])]


# --------------------------------------------------------------------------- Arrow and Parquet

def read_arrow(data: bytes, *, sparse_column_names: list[str] | None = None) -> pd.DataFrame:
    """An Arrow IPC payload, stream or file format, as a DataFrame."""
    import pyarrow as pa

    try:
        buffer = pa.py_buffer(data)
        reader = pa.ipc.open_file(buffer) if data[:6] == b"ARROW1" else pa.ipc.open_stream(buffer)
        current_limits().check("Arrow IPC", len(reader.schema))
        if current_limits().max_cells is not None:  # before any (compressed) body is inflated
            declared = arrow_declared_values(buffer)
            if declared is not None:
                current_limits().check("Arrow IPC", len(reader.schema), cells=declared)
        table = reader.read_all()
        current_limits().check("Arrow IPC", table.num_columns, cells=table.num_rows * table.num_columns)
        table.validate(full=True)  # IPC data is not checked on read: bad offsets crash to_pandas (SIGSEGV)
        return table.to_pandas()
    except (*_BINARY_ERRORS, pa.ArrowException) as exc:  # ArrowMemoryError: a damaged size
        raise _binary_error("Arrow IPC", data, exc) from None


def write_arrow(df: pd.DataFrame) -> bytes:
    """``df`` (without its index) as an Arrow IPC stream."""
    import pyarrow as pa

    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def read_parquet(data: bytes, *, sparse_column_names: list[str] | None = None) -> pd.DataFrame:
    """A Parquet payload as a DataFrame."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(pa.BufferReader(data)).metadata
        current_limits().check("Parquet", meta.num_columns, cells=meta.num_rows * meta.num_columns)
        if current_limits().max_cells is not None:  # values of nested columns too (a list column of 1 row, 1e9 values)
            values = sum(meta.row_group(g).column(c).num_values
                         for g in range(meta.num_row_groups) for c in range(meta.num_columns))
            current_limits().check("Parquet", meta.num_columns, cells=values)
        return pq.read_table(pa.BufferReader(data)).to_pandas()
    except (*_BINARY_ERRORS, pa.ArrowException) as exc:  # ArrowMemoryError: a damaged size
        raise _binary_error("Parquet", data, exc) from None


def write_parquet(df: pd.DataFrame) -> bytes:
    """``df`` (without its index) as Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), sink)
    return sink.getvalue().to_pybytes()


#: What pyarrow raises on a damaged payload: its own errors, OSError (ArrowIOError), and plain
#: Python errors from converting odd types to pandas.
_BINARY_ERRORS = (OSError, ValueError, TypeError, IndexError, KeyError, NotImplementedError, OverflowError,
                  UnicodeError)


def _binary_error(kind: str, data: bytes, exc: Exception) -> InputError:
    start = f"; it starts with {data[:8]!r}" if data else " (0 bytes)"
    return InputError(f"could not read the {kind} payload{start}: {exc}",
                      hint=f"send a complete {kind} file, or say the right format / content type")


register(Codec("csv", (".csv", ".txt"), ("text/csv", "text/plain"), read_csv, write_csv))
register(Codec("mtx", (".mtx",), ("text/mtx",), read_mtx, write_mtx))
register(Codec("arrow", (".arrow", ".arrows", ".feather", ".ipc"),
               ("application/vnd.apache.arrow.stream", "application/x-apache-arrow-stream",
                "application/vnd.apache.arrow.file"), read_arrow, write_arrow))
register(Codec("parquet", (".parquet", ".pq"),
               ("application/vnd.apache.parquet", "application/x-parquet", "application/parquet"),
               read_parquet, write_parquet))
