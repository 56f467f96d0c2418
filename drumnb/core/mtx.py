"""Matrix Market payloads (``.mtx``, ``text/mtx``): sparse matrices, parsed here and checked strictly.

scipy's C++ reader crashes the process on some malformed bodies, so the header is checked (banner, size
line, entries the body can hold, the :class:`~drumnb.core.limits.Limits`) and the body parsed with pandas'
C tokenizer; values equal ``scipy.io.mmread``'s.  scipy is imported inside the functions (start-up time).
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import InputError
from .limits import current_limits


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
        current_limits().check("Matrix Market", cols, rows=rows, entries=entries)
    else:
        if symmetry != "general" and rows != cols:
            raise _mtx_error(f"Line {number}: a {symmetry} matrix must be square, got {rows:,} x {cols:,}")
        entries = {"general": rows * cols, "skew-symmetric": rows * (rows - 1) // 2}.get(symmetry, rows * (rows + 1) // 2)
        if entries * 2 > body:  # a value takes at least "1\n"
            raise _mtx_error(f"the header declares {rows:,} x {cols:,} values but only {len(data) - start:,} bytes "
                             "follow it")
        current_limits().check("Matrix Market", cols, cells=rows * cols)
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
