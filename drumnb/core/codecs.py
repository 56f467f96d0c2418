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
its header or metadata (413); Matrix Market is parsed here, strictly, and
Arrow IPC validated, since scipy's and pyarrow's readers crash the process on
some damaged inputs.

pyarrow and scipy are imported inside the functions that need them: this
module is on the CLI's start-up path.
"""
from __future__ import annotations

import contextlib
import contextvars
import io
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import InputError, PayloadTooLarge

#: pyarrow reads a CSV only when it is at least this large and this many CPUs
#: are available: single-threaded, pandas' C parser (3.x) is faster than
#: pyarrow's, which wins by using several cores (benchmarks/codec_bench.py).
ARROW_CSV_MIN_BYTES = 4 << 20
ARROW_CSV_MIN_CPUS = 4
#: pyarrow's CSV block size (its default): the unit of its multi-threading.
ARROW_CSV_BLOCK_BYTES = 1 << 20


# --------------------------------------------------------------------------- limits

@dataclass(frozen=True)
class Limits:
    """How large a payload may say it is, checked before it is parsed (``None``: no limit).

    ``max_columns`` bounds the columns of every format (a CSV header, a Matrix
    Market size line, an Arrow or Parquet schema); ``max_cells`` bounds rows x
    columns where a payload declares its shape (Matrix Market, Parquet, Arrow),
    and for a sparse payload its rows and its stored entries.  ``names`` says
    how a user raises each limit (the server gives its flags).  A payload over
    a limit raises :class:`PayloadTooLarge` (413); no limit applies unless set
    with :func:`limits` (local files are trusted; servers set them per request).
    """

    max_columns: int | None = None
    max_cells: int | None = None
    names: dict[str, str] = field(default_factory=lambda: {"max_columns": "max_columns",
                                                           "max_cells": "max_cells"})

    def check(self, what: str, columns: int, **counts: int) -> None:
        """Raise :class:`PayloadTooLarge` if ``columns`` or any of ``counts`` (``cells``: rows x columns;
        ``rows`` and ``entries`` of a sparse payload) is over its limit."""
        if self.max_columns is not None and columns > self.max_columns:
            self._refuse(what, f"{columns:,} columns", "max_columns", "fewer columns")
        for label, count in counts.items():
            if self.max_cells is not None and count > self.max_cells:
                text = {"cells": "cells (rows x columns)", "entries": "stored entries"}.get(label, label)
                self._refuse(what, f"{count:,} {text}", "max_cells", "fewer rows per request")

    def _refuse(self, what: str, size: str, limit: str, fewer: str) -> None:
        name = self.names.get(limit, limit)
        raise PayloadTooLarge(f"the {what} payload declares {size}; at most {getattr(self, limit):,} are "
                              f"accepted ({name})", hint=f"send {fewer}, or raise the limit with {name}")


_LIMITS: contextvars.ContextVar[Limits] = contextvars.ContextVar("drumnb_codec_limits", default=Limits())


@contextlib.contextmanager
def limits(value: Limits | None = None, **kwargs) -> Iterator[Limits]:
    """Apply ``value`` (or ``Limits(**kwargs)``) to every payload read in this block, on this thread."""
    token = _LIMITS.set(value if value is not None else Limits(**kwargs))
    try:
        yield _LIMITS.get()
    finally:
        _LIMITS.reset(token)


def current_limits() -> Limits:
    return _LIMITS.get()


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
    if _LIMITS.get() != Limits() or (os.path.getsize(path) >= ARROW_CSV_MIN_BYTES
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
    _check_csv_header(data)
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


#: pandas renames each repeated header name (``a.1``, ``a.2``) by scanning every name: a header of n
#: columns with r repeats costs about n x r steps (100,000 columns, 50,000 repeats: minutes).  With
#: limits set, a header over this budget is refused.
REPEATED_NAMES_BUDGET = 10_000_000


def _check_csv_header(data: bytes) -> None:
    """With :class:`Limits` set, refuse a CSV header with too many columns, or too many repeated names
    for pandas to rename quickly, before parsing it."""
    limits = _LIMITS.get()
    if limits.max_columns is None and limits.max_cells is None:
        return
    start = 0
    while start < len(data):  # the header: the first line that is not blank (as pandas skips blank lines)
        ends = [i for i in (data.find(b"\n", start), data.find(b"\r", start)) if i >= 0]
        end = min(ends) if ends else len(data)
        line = data[start:end]
        if line.strip():
            break
        start = end + 1
    else:
        return
    quoted = b'"' in line
    if not quoted:  # the column count alone, before splitting a huge header
        limits.check("CSV", line.count(b",") + 1)
    if quoted:
        import csv

        names = [name.encode() for name in next(csv.reader([line.decode("utf-8", "replace")]), [])]
        limits.check("CSV", len(names))
    else:
        names = line.split(b",")
    named = [name for name in names if name.strip()]  # pandas names blank ones "Unnamed: i", no renaming
    repeats = len(named) - len(set(named))
    if repeats and len(names) * repeats > REPEATED_NAMES_BUDGET:
        raise InputError(f"the CSV header repeats column names {repeats:,} times among {len(names):,} columns; "
                         f"at most {REPEATED_NAMES_BUDGET // len(names):,} repeats are read in a header this wide",
                         hint="give every column its own name")


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
    these traps, found by differential testing (tests/test_codecs.py), applies:

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


# --------------------------------------------------------------------------- Matrix Market

def read_mtx(data: bytes, *, sparse_column_names: list[str] | None = None) -> pd.DataFrame:
    """A Matrix Market payload as a DataFrame of sparse columns.

    Columns are named from ``sparse_column_names`` (one per matrix column) or 0..n-1.
    The values equal ``scipy.io.mmread``'s; the payload is parsed here (pandas'
    C tokenizer) and checked strictly -- header, field count, entry count,
    index bounds -- because scipy's C++ reader crashes the process on some
    malformed bodies (a final ``1 1 1x`` without a newline; an array of 0 rows).
    """
    header = _check_mtx_header(data)
    try:
        with np.errstate(invalid="raise", over="raise"):  # "1e400" as an integer: an error, not garbage
            matrix = _mtx_matrix(data, header)
    except (ValueError, TypeError, IndexError, ArithmeticError, pd.errors.ParserError) as exc:
        raise _mtx_error(_mtx_bad_line(data, header) or str(exc).strip()) from None
    if sparse_column_names is not None and len(sparse_column_names) != matrix.shape[1]:
        raise InputError(f"the Matrix Market payload has {matrix.shape[1]} columns but "
                         f"{len(sparse_column_names)} sparse column names were given",
                         hint="give the sparse column file the model was trained with: one name a line")
    columns = None if sparse_column_names is None else list(sparse_column_names)
    return pd.DataFrame.sparse.from_spmatrix(matrix, columns=columns)


@dataclass(frozen=True)
class _MtxHeader:
    layout: str     # coordinate | array
    field: str      # real | double | integer | complex | pattern
    symmetry: str   # general | symmetric | skew-symmetric | hermitian
    rows: int
    cols: int
    entries: int    # lines of values that follow: stored entries, or values of an array
    body: int       # offset of the first line after the size line


def _mtx_matrix(data: bytes, h: _MtxHeader):
    """The sparse (CSC) matrix of a payload whose header :func:`_check_mtx_header` accepted."""
    import csv

    import scipy.sparse

    field = "real" if h.field == "double" else h.field
    width = (0 if h.layout == "array" else 2) + {"pattern": 0, "complex": 2}.get(field, 1)
    index = 0 if h.layout == "array" else 2
    value_type = "int64" if field == "integer" else "float64"
    if h.entries:
        table = pd.read_csv(io.BytesIO(memoryview(data)[h.body:]), sep=r"\s+", header=None, comment="%",
                            quoting=csv.QUOTE_NONE, keep_default_na=False,
                            na_values={i: ["nan", "NaN", "NAN", "-nan", "+nan"] for i in range(index, width)},
                            dtype={i: ("int64" if i < index else value_type) for i in range(width)})
        if table.shape[1] != width:
            raise ValueError(f"each line of a {field} {h.layout} holds {width} field(s); the first holds {table.shape[1]}")
        if len(table) != h.entries:
            raise ValueError(f"the header declares {h.entries:,} entries; the payload holds {len(table):,}")
        columns = [table[i].to_numpy() for i in range(width)]
    else:
        columns = [np.empty(0, dtype="int64")] * index + [np.empty(0, dtype=value_type)] * (width - index)
    if field == "pattern":
        values = np.ones(len(columns[0]), dtype="float64")
    elif field == "complex":
        values = columns[index] + 1j * columns[index + 1]
    else:
        values = columns[index]
    if h.layout == "array":
        if h.symmetry == "general":
            j, i = np.divmod(np.arange(h.entries, dtype="int64"), max(h.rows, 1))  # column-major
        else:  # the lower triangle, column by column (without the diagonal when skew-symmetric)
            low = np.tril_indices(h.rows, -1 if h.symmetry == "skew-symmetric" else 0)
            order = np.lexsort((low[0], low[1]))
            i, j = low[0][order], low[1][order]
    else:
        i, j = columns[0] - 1, columns[1] - 1
        for axis, (pos, size) in enumerate(((i, h.rows), (j, h.cols))):
            bad = np.flatnonzero((pos < 0) | (pos >= size))
            if bad.size:
                raise ValueError(f"entry {int(bad[0]) + 1}: {'row' if axis == 0 else 'column'} index "
                                 f"{int(pos[bad[0]]) + 1} is outside 1..{size}")
    if h.symmetry != "general":
        off = i != j
        mirrored = values[off]
        if h.symmetry == "skew-symmetric":
            mirrored = -mirrored
        elif h.symmetry == "hermitian":
            mirrored = np.conj(mirrored)
        i, j, values = np.concatenate([i, j[off]]), np.concatenate([j, i[off]]), np.concatenate([values, mirrored])
    matrix = scipy.sparse.csc_matrix((values, (i, j)), shape=(h.rows, h.cols))
    if h.layout == "array":
        matrix.eliminate_zeros()  # as a dense array's zeros are not stored
    return matrix


def _mtx_bad_line(data: bytes, h: _MtxHeader) -> str | None:
    """Where a body that failed to parse first goes wrong, as ``Line N: ...`` (the error path only)."""
    field = "real" if h.field == "double" else h.field
    index = 0 if h.layout == "array" else 2
    width = index + {"pattern": 0, "complex": 2}.get(field, 1)
    number = data.count(b"\n", 0, h.body)
    for number, line in enumerate(data[h.body:].split(b"\n"), number + 1):
        fields = line.split(b"%", 1)[0].split()
        if not fields:
            continue
        if len(fields) != width:
            return f"Line {number}: expected {width} field(s), got {len(fields)}: {line[:80]!r}"
        for k, text in enumerate(fields):
            try:
                value = int(text) if k < index or field == "integer" else float(text)
            except ValueError:
                kind = "an integer" if k < index or field == "integer" else "a number"
                return f"Line {number}: field {k + 1} is not {kind}: {text[:40]!r}"
            if isinstance(value, int) and not -2**63 <= value < 2**63:
                return f"Line {number}: field {k + 1} is out of range: {text[:40]!r}"
    return None


def _mtx_error(detail: str) -> InputError:
    return InputError(f"could not read the Matrix Market payload: {detail}",
                      hint="send a file written by scipy.io.mmwrite (coordinate format, "
                           "'%%MatrixMarket' banner first)")


_MTX_BANNER = re.compile(rb"%%MatrixMarket[ \t]+matrix[ \t]+(coordinate|array)[ \t]+(real|double|integer|complex|pattern)"
                         rb"[ \t]+(general|symmetric|skew-symmetric|hermitian)[ \t]*\r?$", re.IGNORECASE)


def _check_mtx_header(data: bytes) -> _MtxHeader:
    """Check a Matrix Market header before scipy reads the body: the banner, a size line of non-negative
    integers, no more entries declared than the body can hold, and the :class:`Limits`."""
    end = data.find(b"\n")
    banner = _MTX_BANNER.match(data[:end if end >= 0 else len(data)])
    if banner is None:
        first = data[:min(end if end >= 0 else len(data), 80)]
        raise _mtx_error(f"Line 1: not a Matrix Market banner such as '%%MatrixMarket matrix coordinate real "
                         f"general': {first!r}")
    layout, symmetry = banner.group(1).decode().lower(), banner.group(3).decode().lower()
    start, number = end + 1, 1
    while True:  # comment and blank lines, then the size line
        if end < 0 or start >= len(data):
            raise _mtx_error("no size line after the banner")
        end, number = data.find(b"\n", start), number + 1
        line = data[start:end if end >= 0 else len(data)]
        start = (end + 1) if end >= 0 else len(data)
        if line.strip() and not line.lstrip().startswith(b"%"):
            break
    numbers = line.split()
    want = 3 if layout == "coordinate" else 2
    if len(numbers) != want or not all(n.isdigit() for n in numbers):
        shape = "rows columns entries" if want == 3 else "rows columns"
        raise _mtx_error(f"Line {number}: the size line must hold {want} non-negative integers ({shape}), "
                         f"got {line[:80]!r}")
    rows, cols = int(numbers[0]), int(numbers[1])
    body = len(data) - start + 1  # the last line may lack its newline
    if layout == "coordinate":
        entries = int(numbers[2])
        if entries * 4 > body:  # an entry takes at least "1 1\n"
            raise _mtx_error(f"the header declares {entries:,} entries but only {len(data) - start:,} bytes follow it")
        _LIMITS.get().check("Matrix Market", cols, rows=rows, entries=entries)
    else:
        if symmetry != "general" and rows != cols:
            raise _mtx_error(f"Line {number}: a {symmetry} matrix must be square, got {rows:,} x {cols:,}")
        entries = {"general": rows * cols, "skew-symmetric": rows * (rows - 1) // 2}.get(symmetry, rows * (rows + 1) // 2)
        if entries * 2 > body:  # a value takes at least "1\n"
            raise _mtx_error(f"the header declares {rows:,} x {cols:,} values but only {len(data) - start:,} bytes "
                             "follow it")
        _LIMITS.get().check("Matrix Market", cols, cells=rows * cols)
    field = banner.group(2).decode().lower()
    if layout == "array" and field == "pattern":
        raise _mtx_error("Line 1: an array cannot have the 'pattern' field")
    return _MtxHeader(layout, field, symmetry, rows, cols, entries, start)


def write_mtx(obj) -> bytes:
    """A scipy sparse matrix or a DataFrame (sparse columns or not) as Matrix Market."""
    import scipy.io
    import scipy.sparse

    if isinstance(obj, pd.DataFrame):
        if all(isinstance(dtype, pd.SparseDtype) for dtype in obj.dtypes):
            obj = obj.sparse.to_coo()
        else:
            obj = scipy.sparse.coo_matrix(obj.to_numpy(dtype=np.float64))
    buffer = io.BytesIO()
    scipy.io.mmwrite(buffer, obj)
    return buffer.getvalue()


# --------------------------------------------------------------------------- Arrow and Parquet

def read_arrow(data: bytes, *, sparse_column_names: list[str] | None = None) -> pd.DataFrame:
    """An Arrow IPC payload, stream or file format, as a DataFrame."""
    import pyarrow as pa

    try:
        buffer = pa.py_buffer(data)
        reader = pa.ipc.open_file(buffer) if data[:6] == b"ARROW1" else pa.ipc.open_stream(buffer)
        _LIMITS.get().check("Arrow IPC", len(reader.schema))
        if _LIMITS.get().max_cells is not None:  # before any (compressed) body is inflated
            declared = _arrow_declared_values(buffer)
            if declared is not None:
                _LIMITS.get().check("Arrow IPC", len(reader.schema), cells=declared)
        table = reader.read_all()
        _LIMITS.get().check("Arrow IPC", table.num_columns, cells=table.num_rows * table.num_columns)
        table.validate(full=True)  # IPC data is not checked on read: bad offsets crash to_pandas (SIGSEGV)
        return table.to_pandas()
    except (*_BINARY_ERRORS, pa.ArrowException) as exc:  # ArrowMemoryError: a damaged size
        raise _binary_error("Arrow IPC", data, exc) from None


def _arrow_declared_values(buffer) -> int | None:
    """How many values (rows x columns, nested children and dictionaries included) an Arrow IPC payload
    declares, read from its messages' metadata without inflating a body (a compressed body of a few kB
    can declare gigabytes); None when the messages cannot be read (pyarrow then says why)."""
    import struct

    import pyarrow as pa

    def table(meta: bytes, pos: int):
        vtable = pos - struct.unpack_from("<i", meta, pos)[0]
        size = struct.unpack_from("<H", meta, vtable)[0]

        def field(i: int) -> int | None:
            at = 4 + 2 * i
            offset = struct.unpack_from("<H", meta, vtable + at)[0] if at < size else 0
            return pos + offset if offset else None
        return field

    def child(meta: bytes, at: int) -> int:  # a table or vector referenced from ``at``
        return at + struct.unpack_from("<I", meta, at)[0]

    total = 0
    try:
        reader = pa.ipc.MessageReader.open_stream(buffer[8:] if buffer[:6].to_pybytes() == b"ARROW1" else buffer)
        while True:
            try:
                message = reader.read_next_message()
            except StopIteration:
                break
            if message is None:
                break
            if message.type not in ("record batch", "dictionary"):
                continue
            meta = message.metadata.to_pybytes()
            header_at = table(meta, struct.unpack_from("<I", meta, 0)[0])(2)  # Message.header
            if header_at is None:
                return None
            batch = table(meta, child(meta, header_at))
            if message.type == "dictionary":  # DictionaryBatch.data: a RecordBatch
                data_at = batch(1)
                if data_at is None:
                    return None
                batch = table(meta, child(meta, data_at))
            nodes_at = batch(1)  # RecordBatch.nodes: FieldNode {length: int64, null_count: int64}
            if nodes_at is not None:
                nodes = child(meta, nodes_at)
                count = struct.unpack_from("<I", meta, nodes)[0]
                total += sum(struct.unpack_from("<q", meta, nodes + 4 + 16 * k)[0] for k in range(count))
    except (pa.ArrowException, OSError, ValueError, struct.error, IndexError):
        return None
    return total


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
        _LIMITS.get().check("Parquet", meta.num_columns, cells=meta.num_rows * meta.num_columns)
        if _LIMITS.get().max_cells is not None:  # values of nested columns too (a list column of 1 row, 1e9 values)
            values = sum(meta.row_group(g).column(c).num_values
                         for g in range(meta.num_row_groups) for c in range(meta.num_columns))
            _LIMITS.get().check("Parquet", meta.num_columns, cells=values)
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
