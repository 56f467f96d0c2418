"""Values across the border between pandas and R, per the seed's type table.

data.frame <-> DataFrame (factors <-> categoricals, NA kept, integer NA as nullable ``Int64``), NULL <-> None,
character <-> str, raw <-> bytes, list <-> dict / list, a sparse ``Matrix`` <-> a DataFrame of sparse columns.
A value that came from R is remembered (per thread, a few of them), so that a frame a hook returned goes back to
the next hook as the very R object it was.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
import pandas as pd

from ...core.codecs import write_csv
from .runtime import rinterface, support_fn

log = logging.getLogger("drumnb")

NA_INTEGER = -(2 ** 31)
#: The bit pattern of R's NA_real_ (a NaN whose low word is 1954).
_NA_REAL_BITS = np.uint64(0x7FF00000000007A2)
_PANDAS3 = int(pd.__version__.split(".")[0]) >= 3


class _Cache(threading.local):
    def __init__(self) -> None:
        self.items: dict[int, tuple[Any, Any]] = {}


_cache = _Cache()
_CACHE_SIZE = 8


def clear_cache() -> None:
    """Forget the R objects behind this thread's recent Python values (a new input starts)."""
    _cache.items.clear()


def _remember(py: Any, robj: Any) -> Any:
    if isinstance(py, (pd.DataFrame, pd.Series, dict, list, tuple)):
        items = _cache.items
        items[id(py)] = (py, robj)
        while len(items) > _CACHE_SIZE:
            items.pop(next(iter(items)))
    return py


def recall(py: Any) -> Any:
    hit = _cache.items.get(id(py))
    if hit is not None and hit[0] is py:
        return hit[1]
    return None


def _classes(obj: Any) -> list[str]:
    try:
        return list(obj.rclass)
    except Exception:  # noqa: BLE001
        return []


def _slot(obj: Any, name: str) -> Any:
    try:
        return obj.do_slot(name)
    except LookupError:
        return None


def r_names(obj: Any) -> list[str] | None:
    names = obj.names
    ri = rinterface()
    if names is ri.NULL or names is None:
        return None
    return [None if n is ri.NA_Character else str(n) for n in names]


def _column_to_py(col: Any) -> Any:
    """One R vector as a numpy array or pandas extension array (NA kept)."""
    ri = rinterface()
    t = col.typeof
    cls = _classes(col)
    if t == ri.RTYPES.INTSXP:
        arr = np.array(col.memoryview(), dtype=np.int32)
        if "factor" in cls:
            levels = [str(x) for x in _slot(col, "levels") or []]
            codes = np.where(arr == NA_INTEGER, -1, arr - 1)
            return pd.Categorical.from_codes(codes, categories=levels, ordered="ordered" in cls)
        mask = arr == NA_INTEGER
        if mask.any():
            return pd.arrays.IntegerArray(arr.astype(np.int64), mask)
        return arr.astype(np.int64)
    if t == ri.RTYPES.REALSXP:
        arr = np.array(col.memoryview(), dtype=np.float64)
        if "Date" in cls:
            return pd.to_datetime(arr, unit="D")
        if "POSIXct" in cls:
            return pd.to_datetime(arr, unit="s", utc=True)
        return arr
    if t == ri.RTYPES.LGLSXP:
        arr = np.array(col.memoryview(), dtype=np.int32)
        mask = arr == NA_INTEGER
        if mask.any():
            return pd.arrays.BooleanArray(arr == 1, mask)
        return arr == 1
    if t == ri.RTYPES.STRSXP:
        values = _strings_to_py(col)
        return pd.array(values, dtype="str") if _PANDAS3 else values
    if t == ri.RTYPES.CPLXSXP:
        return np.array(list(col), dtype=complex)
    return [to_py(x) for x in col]


#: Longer character vectors cross as their distinct values plus integer codes (one bulk copy):
#: rpy2 converts a character vector one element at a time, ~5 us each.
_STRING_CODES_MIN = 256


def _strings_to_py(col: Any) -> np.ndarray:
    """An R character vector as an object array of str, NA as None."""
    ri = rinterface()
    if len(col) < _STRING_CODES_MIN:
        return np.array([None if x is ri.NA_Character else x for x in col], dtype=object)
    parts = support_fn("string_codes")(col)
    distinct = np.array([None if x is ri.NA_Character else x for x in parts[0]], dtype=object)
    codes = np.array(parts[1].memoryview(), dtype=np.int64) - 1  # match() of x in unique(x): never NA
    return distinct[codes]


def _frame_to_py(df: Any) -> pd.DataFrame:
    names = r_names(df) or [f"V{i + 1}" for i in range(len(df))]
    n = _nrow(df)
    data = {}
    for name, col in zip(names, df):
        values = _column_to_py(col)
        if len(values) != n:  # a list column, a matrix column...
            values = list(values) if len(values) == n else [values] * n
        data[name] = values
    out = pd.DataFrame(data, columns=names) if len(set(names)) == len(names) else \
        pd.DataFrame({i: v for i, v in enumerate(data.values())}).set_axis(names, axis=1)
    if len(out) != n:
        out = out.reindex(range(n))
    return out


def _nrow(df: Any) -> int:
    rn = _slot(df, "row.names")
    if rn is None:
        return len(df[0]) if len(df) else 0
    ri = rinterface()
    if rn.typeof == ri.RTYPES.INTSXP and len(rn) == 2 and rn[0] is ri.NA_Integer:
        return abs(int(rn[1]))
    return len(rn)


def _matrix_to_py(m: Any) -> pd.DataFrame:
    dim = [int(x) for x in _slot(m, "dim")]
    values = _column_to_py(m)
    arr = np.asarray(values).reshape(dim[1], dim[0]).T if dim[0] * dim[1] else np.empty(dim)
    dimnames = _slot(m, "dimnames")
    columns = None
    ri = rinterface()
    if dimnames is not None and dimnames is not ri.NULL and len(dimnames) == 2 and dimnames[1] is not ri.NULL:
        columns = [str(c) for c in dimnames[1]]
    return pd.DataFrame(arr, columns=columns)


def _sparse_to_py(m: Any) -> pd.DataFrame:
    """An R sparse ``Matrix`` as a DataFrame of sparse columns (named as its column names)."""
    import scipy.sparse

    res = support_fn("sparse_parts")(m)
    parts = dict(zip(r_names(res) or [], list(res)))
    i = np.array(parts["i"].memoryview(), dtype=np.int32)
    j = np.array(parts["j"].memoryview(), dtype=np.int32)
    x = np.array(parts["x"].memoryview(), dtype=np.float64)
    nrow, ncol = (int(v) for v in parts["dim"])
    columns = [str(c) for c in parts["colnames"]] if bool(parts["named"][0]) else None
    matrix = scipy.sparse.coo_matrix((x, (i, j)), shape=(nrow, ncol)).tocsc()
    return pd.DataFrame.sparse.from_spmatrix(matrix, columns=columns)


def to_py(obj: Any) -> Any:
    """An R value as Python, per the seed's type table; other R objects are returned as they are."""
    ri = rinterface()
    if obj is ri.NULL or obj is None:
        return None
    t = getattr(obj, "typeof", None)
    cls = _classes(obj)
    if "data.frame" in cls:
        return _remember(_frame_to_py(obj), obj)
    if t is None:
        return obj
    if t == ri.RTYPES.S4SXP and bool(support_fn("is_sparse_matrix")(obj)[0]):
        return _remember(_sparse_to_py(obj), obj)
    if t == ri.RTYPES.RAWSXP:
        return bytes(obj)
    if t in (ri.RTYPES.STRSXP, ri.RTYPES.REALSXP, ri.RTYPES.INTSXP, ri.RTYPES.LGLSXP, ri.RTYPES.CPLXSXP):
        if _slot(obj, "dim") is not None and len(_slot(obj, "dim")) == 2:
            return _remember(_matrix_to_py(obj), obj)
        values = _column_to_py(obj)
        names = r_names(obj)
        if len(obj) == 1 and names is None and "factor" not in cls:
            value = values[0]
            if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
                return None
            return value.item() if hasattr(value, "item") else value
        return _remember(pd.Series(values, index=names) if names else pd.Series(values), obj)
    if t == ri.RTYPES.VECSXP:
        names = r_names(obj)
        items = [to_py(x) for x in obj]
        if names and all(names):
            return _remember(dict(zip(names, items)), obj)
        return _remember(items, obj)
    return obj


def _na_real(arr: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.array(arr, dtype=np.float64, copy=True)
    if mask.any():
        out.view(np.uint64)[mask] = _NA_REAL_BITS
    return out


def _series_to_r(s: pd.Series) -> Any:
    ri = rinterface()
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.int32)
        codes = np.where(codes < 0, NA_INTEGER, codes + 1).astype(np.int32)
        levels = ri.StrSexpVector([str(c) for c in s.cat.categories])
        return support_fn("make_factor")(ri.IntSexpVector.from_memoryview(memoryview(np.ascontiguousarray(codes))), levels)
    if pd.api.types.is_bool_dtype(dtype):
        mask = s.isna().to_numpy()
        vals = np.where(mask, NA_INTEGER, s.fillna(False).to_numpy(dtype=bool).astype(np.int32)).astype(np.int32)
        return ri.BoolSexpVector([ri.NA_Logical if v == NA_INTEGER else bool(v) for v in vals])
    if pd.api.types.is_integer_dtype(dtype):
        mask = s.isna().to_numpy()
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
        finite = vals[~mask]
        if finite.size == 0 or (finite.min() > NA_INTEGER and finite.max() < 2 ** 31):
            ints = np.where(mask, NA_INTEGER, np.nan_to_num(vals)).astype(np.int32)
            return ri.IntSexpVector.from_memoryview(memoryview(np.ascontiguousarray(ints)))
        return ri.FloatSexpVector.from_memoryview(memoryview(_na_real(vals, mask)))
    if pd.api.types.is_float_dtype(dtype):
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
        return ri.FloatSexpVector.from_memoryview(memoryview(_na_real(vals, np.isnan(vals))))
    if pd.api.types.is_datetime64_any_dtype(dtype):
        ts = s.dt.tz_convert("UTC") if getattr(dtype, "tz", None) is not None else s
        secs = ts.astype("int64").to_numpy() / 1e9
        mask = s.isna().to_numpy()
        return support_fn("make_posixct")(ri.FloatSexpVector.from_memoryview(memoryview(_na_real(secs, mask))))
    values = s.to_numpy(dtype=object)
    return ri.StrSexpVector([ri.NA_Character if _missing(v) else str(v) for v in values])


def _missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and v != v


def all_sparse(df: pd.DataFrame) -> bool:
    return df.shape[1] > 0 and all(isinstance(dtype, pd.SparseDtype) for dtype in df.dtypes)


def sparse_frame_to_r(df: pd.DataFrame) -> Any:
    """A DataFrame of sparse columns as the R sparse ``Matrix`` DRUM hands R for ``.mtx`` input
    (``readMM``'s ``dgTMatrix``), its column names from the frame (none for 0..n-1)."""
    ri = rinterface()
    coo = df.sparse.to_coo()
    named = not isinstance(df.columns, pd.RangeIndex)
    names = ri.StrSexpVector([str(c) for c in df.columns]) if named else ri.NULL

    def ints(a: np.ndarray) -> Any:
        return ri.IntSexpVector.from_memoryview(memoryview(np.ascontiguousarray(a, dtype=np.int32)))

    x = np.ascontiguousarray(coo.data, dtype=np.float64)
    return support_fn("make_sparse")(ints(coo.row), ints(coo.col), ri.FloatSexpVector.from_memoryview(memoryview(x)),
                              ri.IntSexpVector([df.shape[0]]), ri.IntSexpVector([df.shape[1]]), names)


def frame_to_r(df: pd.DataFrame) -> Any:
    """A DataFrame as an R data.frame, column by column (types kept, NaN as NA)."""
    ri = rinterface()
    cols = [_series_to_r(df.iloc[:, i]) for i in range(df.shape[1])]
    names = ri.StrSexpVector([str(c) for c in df.columns])
    return support_fn("make_df")(ri.ListSexpVector(cols), names, ri.IntSexpVector([len(df)]))


def to_r(value: Any) -> Any:
    """A Python value as R, per the seed's type table (a cached hook result goes back as it was)."""
    ri = rinterface()
    cached = recall(value)
    if cached is not None:
        return cached
    if value is None:
        return ri.NULL
    if isinstance(value, ri.Sexp):
        return value
    if isinstance(value, pd.DataFrame):
        if all_sparse(value):
            try:
                return sparse_frame_to_r(value)
            except (TypeError, ValueError, AttributeError) as exc:  # e.g. a fill value other than 0
                log.debug("sparse frame passed to R as a data.frame: %s", exc)
        return frame_to_r(value)
    if isinstance(value, pd.Series):
        vec = _series_to_r(value)
        return vec
    if isinstance(value, bool):
        return ri.BoolSexpVector([value])
    if isinstance(value, (int, np.integer)) and -2 ** 31 < int(value) < 2 ** 31:
        return ri.IntSexpVector([int(value)])
    if isinstance(value, (int, float, np.integer, np.floating)):
        return ri.FloatSexpVector([float(value)])
    if isinstance(value, str):
        return ri.StrSexpVector([value])
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ri.ByteSexpVector(bytes(value))
    if isinstance(value, dict):
        lst = ri.ListSexpVector([to_r(v) for v in value.values()])
        lst.do_slot_assign("names", ri.StrSexpVector([str(k) for k in value]))
        return lst
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, str) for v in value):
            return ri.StrSexpVector(list(value))
        return ri.ListSexpVector([to_r(v) for v in value])
    if isinstance(value, np.ndarray):
        return to_r(pd.Series(value.reshape(-1)))
    return ri.NULL  # e.g. the mlops reporter: nothing R can use


def frame_to_csv(df: pd.DataFrame) -> bytes:
    """The frame as the core's CSV writer writes it, so that every front end hands R the same bytes."""
    return write_csv(df)

