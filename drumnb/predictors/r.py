"""R models: caret ``.rds`` artifacts and ``custom.R`` hooks, run in an embedded R (rpy2).

* R starts once per process, and only when an R model is used: nothing here
  imports rpy2 until then (``TZ`` defaults to ``UTC`` for R; R runs
  non-interactively, so no package ever waits for an answer on stdin).
  What R's start adds to the process environment (``LD_LIBRARY_PATH`` with
  R's and the JVM's library folders, ``R_SESSION_TMPDIR``, ``PAGER``...) is
  put back as it was once R runs, so processes started later (a server, javac,
  the user's own) do not inherit it; rpy2's "Environment variable ... redefined
  by R" warnings are not shown.
* Input data reaches R through R's own ``read.csv`` (R's NA rules): CSV bytes
  as they arrived, a DataFrame written as CSV first (the predictor's
  ``read_bytes``, which the core uses when ``custom.R`` has no
  ``read_input_data``), so the CLI, the server and the notebook all hand R the
  same thing.  Matrix Market (``.mtx``) input reaches R as DRUM hands it: a
  sparse ``Matrix`` (``dgTMatrix``) whose column names are the sparse column
  names given (``--sparse-column-file``, the server's ``X.colnames``); caret
  models score it as a data.frame of those columns.  A sparse matrix an R hook
  returns comes back as a DataFrame of sparse columns, with its column names.
* ``transform(data, model, y)`` in ``custom.R`` gets the target values (a
  data.frame read by ``read.csv``, or NULL) as its third argument when it
  takes one (or ``...``), as DRUM's R runner calls it for transform models.
* Values cross the border as the seed's table says: data.frame <-> DataFrame
  (factors <-> categoricals, NA kept, integer NA as nullable ``Int64``),
  NULL <-> None, character <-> str, raw <-> bytes, list <-> dict / list.  The
  model object stays an R object.  A frame that a hook returned goes back to
  the next hook as the very R object it was (no second conversion).
* R errors become :class:`HookError` / :class:`HookLoadError` (``cause_type``
  ``"RError"``, R's message, file and line in ``custom.R``); a missing R
  package is named in the message and the hint.  R warnings become
  :class:`RWarning` Python warnings (and are logged); under
  ``DRUMNB_R_WARNINGS=error`` (or a Python warnings filter set to "error")
  they fail the call as a typed error.
* R and the JVM: loading R packages after JPype's JVM started crashes the
  process (feasibility.md §1), so an R model is refused, with a clear error,
  once a JVM runs in this process.  R first, then Java, works.
"""
from __future__ import annotations

import inspect
import logging
import os
import re
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..core.contract import CLASSIFICATION
from ..core.errors import ArtifactError, HookError, HookLoadError, InputError
from ..core.hooks import Hooks, near_miss
from . import Predictor

log = logging.getLogger("drumnb")

HOOK_FILES = ("custom.R", "custom.r")
R_HOOKS = ("init", "load_model", "read_input_data", "transform", "score", "post_process", "score_unstructured")
LOAD_HOOKS = ("init", "load_model")
NA_INTEGER = -(2 ** 31)
#: The bit pattern of R's NA_real_ (a NaN whose low word is 1954).
_NA_REAL_BITS = np.uint64(0x7FF00000000007A2)
_PANDAS3 = int(pd.__version__.split(".")[0]) >= 3


class RWarning(UserWarning):
    """A warning raised by R code (``warning(...)`` in R), with R's message."""


class RRuntimeUnavailable(ArtifactError):
    """R (or rpy2) cannot run in this process."""


# --- the embedded R -----------------------------------------------------------------------------

_R_LOCK = threading.RLock()  # R is single-threaded: every call into it holds this lock
_state: dict[str, Any] = {}

_SUPPORT_R = r"""
invoke <- function(fn, args) {
  ev <- new.env()
  nm <- names(args)
  if (is.null(nm)) nm <- rep("", length(args))
  syms <- vector("list", length(args))
  for (i in seq_along(args)) {
    s <- paste0(".drumnb_arg", i)
    if (is.null(args[[i]])) assign(s, NULL, envir = ev) else assign(s, args[[i]], envir = ev)
    syms[[i]] <- as.name(s)
  }
  names(syms) <- nm
  assign(".drumnb_fn", fn, envir = ev)
  eval(as.call(c(list(as.name(".drumnb_fn")), syms)), ev)
}

locate <- function(calls, root) {
  file <- NA_character_
  line <- NA_integer_
  for (cl in calls) {
    sr <- attr(cl, "srcref")
    if (is.null(sr)) next
    sf <- attr(sr, "srcfile")
    fname <- tryCatch(sf$filename, error = function(e) NULL)
    if (is.null(fname) || !nzchar(fname)) next
    wd <- tryCatch(sf$wd, error = function(e) NULL)
    full <- if (startsWith(fname, "/") || is.null(wd)) fname else file.path(wd, fname)
    full <- normalizePath(full, mustWork = FALSE)
    if (startsWith(full, root)) {
      file <- full
      line <- as.integer(sr[1L])
    }
  }
  list(file = file, line = line)
}

call_safely <- function(fn, args, root) {
  warns <- character(0)
  where <- list(file = NA_character_, line = NA_integer_)
  res <- tryCatch(
    withCallingHandlers(
      list(ok = TRUE, value = invoke(fn, args)),
      warning = function(w) {
        warns <<- c(warns, conditionMessage(w))
        invokeRestart("muffleWarning")
      },
      error = function(e) where <<- locate(sys.calls(), root)
    ),
    error = function(e) {
      cl <- conditionCall(e)
      fname <- if (is.call(cl)) paste(deparse(cl[[1L]], nlines = 1L), collapse = "") else ""
      if (identical(fname, ".drumnb_fn")) fname <- ""
      list(ok = FALSE, message = conditionMessage(e), fname = fname)
    }
  )
  res$warnings <- warns
  res$file <- where$file
  res$line <- where$line
  res
}

source_hooks <- function(path) {
  env <- new.env(parent = globalenv())
  sys.source(path, envir = env, keep.source = TRUE, chdir = TRUE)
  fns <- Filter(function(n) is.function(get(n, envir = env)), ls(env, all.names = FALSE))
  list(env = env, functions = fns)
}

formals_of <- function(fn) {
  f <- formals(fn)
  if (is.null(f)) character(0) else names(f)
}

read_csv_raw <- function(raw) {
  tf <- tempfile("drumnb-", fileext = ".csv")
  on.exit(unlink(tf))
  writeBin(raw, tf)
  utils::read.csv(tf, check.names = FALSE, encoding = "UTF-8")
}

make_df <- function(cols, names, n) {
  names(cols) <- names
  attr(cols, "row.names") <- if (n > 0L) c(NA_integer_, -as.integer(n)) else integer(0)
  class(cols) <- "data.frame"
  cols
}

make_factor <- function(codes, levels) structure(codes, levels = levels, class = "factor")

string_codes <- function(x) {
  u <- unique(x)
  list(u, match(x, u))
}

make_posixct <- function(seconds) structure(seconds, class = c("POSIXct", "POSIXt"), tzone = "UTC")

model_packages <- function(model) {
  pk <- character(0)
  if (inherits(model, "train")) pk <- c("caret", model$modelInfo$library)
  unique(pk[nzchar(pk)])
}

missing_packages <- function(pk) pk[!vapply(pk, function(p) nzchar(system.file(package = p)), logical(1))]

load_packages <- function(pk) {
  for (p in pk) suppressPackageStartupMessages(loadNamespace(p))
  invisible(NULL)
}

make_sparse <- function(i, j, x, nrow, ncol, colnames) {
  Matrix::sparseMatrix(i = i, j = j, x = x, dims = c(nrow, ncol), index1 = FALSE, repr = "T",
                       dimnames = if (is.null(colnames)) NULL else list(NULL, colnames))
}

is_sparse_matrix <- function(x) isS4(x) && methods::is(x, "sparseMatrix")

sparse_parts <- function(m) {
  t <- methods::as(methods::as(m, "generalMatrix"), "TsparseMatrix")
  x <- if (methods::.hasSlot(t, "x")) as.numeric(t@x) else rep(1, length(t@i))
  cn <- colnames(m)
  list(i = t@i, j = t@j, x = x, dim = t@Dim, colnames = if (is.null(cn)) character(0) else cn,
       named = !is.null(cn))
}

as_model_input <- function(model, data) {
  # caret's predict cannot coerce a sparse Matrix (DRUM fails there): it gets a data.frame of the same columns
  if (inherits(model, "train") && isS4(data) && methods::is(data, "Matrix")) {
    data <- as.data.frame(as.matrix(data), optional = TRUE)
  }
  data
}

model_classes <- function(model) {
  if (inherits(model, "train") && identical(model$modelType, "Classification")) as.character(model$levels) else NULL
}

expected_columns <- function(model) {
  if (inherits(model, "train") && is.data.frame(model$ptype)) names(model$ptype) else NULL
}

predict_model <- function(model, data, classification) {
  data <- as_model_input(model, data)
  if (inherits(model, "train")) {
    if (classification) {
      stats::predict(model, newdata = data, type = "prob", na.action = stats::na.pass)
    } else {
      stats::predict(model, newdata = data, na.action = stats::na.pass)
    }
  } else if (classification) {
    out <- tryCatch(stats::predict(model, newdata = data, type = "prob"), error = function(e) NULL)
    if (is.null(out)) out <- stats::predict(model, newdata = data, type = "response")
    out
  } else {
    stats::predict(model, newdata = data)
  }
}

describe <- function(model) paste(class(model), collapse = "/")
"""


def _jvm_started() -> bool:
    jpype = sys.modules.get("jpype")
    try:
        return bool(jpype and jpype.isJVMStarted())
    except Exception:  # noqa: BLE001
        return False


def _refuse_after_jvm(what: str) -> None:
    if _jvm_started():
        raise RRuntimeUnavailable(
            f"cannot load {what}: a Java virtual machine already runs in this process (a Java/H2O model was "
            "loaded first), and R loading its packages after the JVM started crashes the process",
            hint="score R and Java models in separate processes (one 'drumnb score' or 'drumnb server' per "
                 "model; in a notebook, %drum_serve the R model: it runs in its own process), or load the R "
                 "model before any Java model in the same process")


def _console(text: str) -> None:
    try:
        sys.stderr.write(text)
    except Exception:  # noqa: BLE001 - never let R's console output break a call
        pass


_RPY2_ENV_WARNING = r'Environment variable "[^"]*" redefined by R'
#: Variables R's start sets that the running R still reads (``R.home("share")`` and the like).  They
#: name this R installation, so a child process that inherits them is not misled; all the others
#: (LD_LIBRARY_PATH with R's and the JVM's library folders, R_SESSION_TMPDIR, PAGER, EDITOR, TAR,
#: R_LIBS_*, PWD, PYTHON_SESSION_INITIALIZED...) are put back as they were, so that no process
#: drumnb (or the user) starts afterwards inherits them.
_R_LOCATION_VARS = frozenset({"R_HOME", "R_SHARE_DIR", "R_INCLUDE_DIR", "R_DOC_DIR"})


def _c_environ() -> dict[str, str] | None:
    """The C library's environment (R's own ``setenv`` calls land there, not in ``os.environ``)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        env = ctypes.POINTER(ctypes.c_char_p).in_dll(libc, "environ")
        out: dict[str, str] = {}
        i = 0
        while env[i]:
            key, sep, value = os.fsdecode(env[i]).partition("=")
            if sep:
                out[key] = value
            i += 1
        return out
    except Exception:  # noqa: BLE001 - not a glibc-like platform: os.environ is all we can see
        return None


def _restore_environ(before: dict[str, str]) -> list[str]:
    """Undo what starting R put in the process environment (both views), except R's location."""
    c_env = _c_environ() or {}
    undone = []
    for key in set(c_env) | set(os.environ):
        if key in _R_LOCATION_VARS:
            continue
        old = before.get(key)
        if old is None:
            os.environ.pop(key, None)
            try:
                os.unsetenv(key)
            except OSError:  # pragma: no cover
                continue
            undone.append(key)
        elif os.environ.get(key) != old or c_env.get(key, old) != old:
            os.environ[key] = old  # putenv too
            undone.append(key)
    return undone


def r_env() -> Any:
    """Start the embedded R once (lazily) and return drumnb's R support environment."""
    with _R_LOCK:
        if "support" in _state:
            return _state["support"]
        _refuse_after_jvm("an R model")
        os.environ.setdefault("TZ", "UTC")
        before = {**(_c_environ() or {}), **os.environ}
        try:
            import rpy2.rinterface as ri
            import rpy2.rinterface_lib.callbacks as ri_callbacks
        except ModuleNotFoundError as exc:
            raise RRuntimeUnavailable(
                f"R models need the Python package {exc.name!r}, which is not installed",
                hint="pip install 'drumnb[r]' (rpy2==3.5.17 for Debian 12's R 4.2), with R itself from "
                     "'apt-get install r-base-core r-cran-caret'") from None
        except Exception as exc:  # noqa: BLE001 - rpy2 raises plain errors when R is absent
            raise RRuntimeUnavailable(
                f"cannot start R through rpy2: {type(exc).__name__}: {exc}",
                hint="install R (apt-get install r-base-core r-cran-caret) and make 'R RHOME' work, "
                     "or set R_HOME") from None
        ri_callbacks.consolewrite_print = _console
        ri_callbacks.consolewrite_warnerror = _console
        ri_callbacks.consoleread = lambda prompt: ""  # never block on stdin
        ri_callbacks.showmessage = _console
        try:
            with warnings.catch_warnings():
                # rpy2 copies R's start-up variables into os.environ and warns for each one it
                # overrides ('Environment variable "PWD" redefined by R ...'): noise for users
                warnings.filterwarnings("ignore", message=_RPY2_ENV_WARNING, category=UserWarning)
                ri.initr_checkenv(interactive=False)
        except Exception as exc:  # noqa: BLE001
            _restore_environ(before)
            raise RRuntimeUnavailable(f"cannot start the embedded R: {type(exc).__name__}: {exc}",
                                      hint="check that R starts with 'R --version'") from None
        undone = _restore_environ(before)
        if undone:
            log.debug("removed R's start-up variables from the environment: %s", ", ".join(sorted(undone)))
        env = ri.baseenv["new.env"]()
        # one EXPRSXP: as an argument it stays unevaluated until eval() runs it in env
        ri.baseenv["eval"](ri.parse(_SUPPORT_R), env)
        _state["ri"] = ri
        _state["support"] = env
        log.debug("embedded R started")
        return env


def _fn(name: str) -> Any:
    return r_env()[name]


def r_started() -> bool:
    """Whether this process already runs an embedded R (started by drumnb)."""
    return "support" in _state


# --- conversions --------------------------------------------------------------------------------

class _Cache(threading.local):
    def __init__(self) -> None:
        self.items: dict[int, tuple[Any, Any]] = {}


_cache = _Cache()
_CACHE_SIZE = 8


def _remember(py: Any, robj: Any) -> Any:
    if isinstance(py, (pd.DataFrame, pd.Series, dict, list, tuple)):
        items = _cache.items
        items[id(py)] = (py, robj)
        while len(items) > _CACHE_SIZE:
            items.pop(next(iter(items)))
    return py


def _recall(py: Any) -> Any:
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


def _names(obj: Any) -> list[str] | None:
    names = obj.names
    ri = _state["ri"]
    if names is ri.NULL or names is None:
        return None
    return [None if n is ri.NA_Character else str(n) for n in names]


def _column_to_py(col: Any) -> Any:
    """One R vector as a numpy array or pandas extension array (NA kept)."""
    ri = _state["ri"]
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
    ri = _state["ri"]
    if len(col) < _STRING_CODES_MIN:
        return np.array([None if x is ri.NA_Character else x for x in col], dtype=object)
    parts = _fn("string_codes")(col)
    distinct = np.array([None if x is ri.NA_Character else x for x in parts[0]], dtype=object)
    codes = np.array(parts[1].memoryview(), dtype=np.int64) - 1  # match() of x in unique(x): never NA
    return distinct[codes]


def _frame_to_py(df: Any) -> pd.DataFrame:
    names = _names(df) or [f"V{i + 1}" for i in range(len(df))]
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
    ri = _state["ri"]
    if rn.typeof == ri.RTYPES.INTSXP and len(rn) == 2 and rn[0] is ri.NA_Integer:
        return abs(int(rn[1]))
    return len(rn)


def _matrix_to_py(m: Any) -> pd.DataFrame:
    dim = [int(x) for x in _slot(m, "dim")]
    values = _column_to_py(m)
    arr = np.asarray(values).reshape(dim[1], dim[0]).T if dim[0] * dim[1] else np.empty(dim)
    dimnames = _slot(m, "dimnames")
    columns = None
    ri = _state["ri"]
    if dimnames is not None and dimnames is not ri.NULL and len(dimnames) == 2 and dimnames[1] is not ri.NULL:
        columns = [str(c) for c in dimnames[1]]
    return pd.DataFrame(arr, columns=columns)


def _sparse_to_py(m: Any) -> pd.DataFrame:
    """An R sparse ``Matrix`` as a DataFrame of sparse columns (named as its column names)."""
    import scipy.sparse

    res = _fn("sparse_parts")(m)
    parts = dict(zip(_names(res) or [], list(res)))
    i = np.array(parts["i"].memoryview(), dtype=np.int32)
    j = np.array(parts["j"].memoryview(), dtype=np.int32)
    x = np.array(parts["x"].memoryview(), dtype=np.float64)
    nrow, ncol = (int(v) for v in parts["dim"])
    columns = [str(c) for c in parts["colnames"]] if bool(parts["named"][0]) else None
    matrix = scipy.sparse.coo_matrix((x, (i, j)), shape=(nrow, ncol)).tocsc()
    return pd.DataFrame.sparse.from_spmatrix(matrix, columns=columns)


def to_py(obj: Any) -> Any:
    """An R value as Python, per the seed's type table; other R objects are returned as they are."""
    ri = _state["ri"]
    if obj is ri.NULL or obj is None:
        return None
    t = getattr(obj, "typeof", None)
    cls = _classes(obj)
    if "data.frame" in cls:
        return _remember(_frame_to_py(obj), obj)
    if t is None:
        return obj
    if t == ri.RTYPES.S4SXP and bool(_fn("is_sparse_matrix")(obj)[0]):
        return _remember(_sparse_to_py(obj), obj)
    if t == ri.RTYPES.RAWSXP:
        return bytes(obj)
    if t in (ri.RTYPES.STRSXP, ri.RTYPES.REALSXP, ri.RTYPES.INTSXP, ri.RTYPES.LGLSXP, ri.RTYPES.CPLXSXP):
        if _slot(obj, "dim") is not None and len(_slot(obj, "dim")) == 2:
            return _remember(_matrix_to_py(obj), obj)
        values = _column_to_py(obj)
        names = _names(obj)
        if len(obj) == 1 and names is None and "factor" not in cls:
            value = values[0]
            if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
                return None
            return value.item() if hasattr(value, "item") else value
        return _remember(pd.Series(values, index=names) if names else pd.Series(values), obj)
    if t == ri.RTYPES.VECSXP:
        names = _names(obj)
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
    ri = _state["ri"]
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.int32)
        codes = np.where(codes < 0, NA_INTEGER, codes + 1).astype(np.int32)
        levels = ri.StrSexpVector([str(c) for c in s.cat.categories])
        return _fn("make_factor")(ri.IntSexpVector.from_memoryview(memoryview(np.ascontiguousarray(codes))), levels)
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
        return _fn("make_posixct")(ri.FloatSexpVector.from_memoryview(memoryview(_na_real(secs, mask))))
    values = s.to_numpy(dtype=object)
    return ri.StrSexpVector([ri.NA_Character if _missing(v) else str(v) for v in values])


def _missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and v != v


def _all_sparse(df: pd.DataFrame) -> bool:
    return df.shape[1] > 0 and all(isinstance(dtype, pd.SparseDtype) for dtype in df.dtypes)


def sparse_frame_to_r(df: pd.DataFrame) -> Any:
    """A DataFrame of sparse columns as the R sparse ``Matrix`` DRUM hands R for ``.mtx`` input
    (``readMM``'s ``dgTMatrix``), its column names from the frame (none for 0..n-1)."""
    ri = _state["ri"]
    coo = df.sparse.to_coo()
    named = not isinstance(df.columns, pd.RangeIndex)
    names = ri.StrSexpVector([str(c) for c in df.columns]) if named else ri.NULL

    def ints(a: np.ndarray) -> Any:
        return ri.IntSexpVector.from_memoryview(memoryview(np.ascontiguousarray(a, dtype=np.int32)))

    x = np.ascontiguousarray(coo.data, dtype=np.float64)
    return _fn("make_sparse")(ints(coo.row), ints(coo.col), ri.FloatSexpVector.from_memoryview(memoryview(x)),
                              ri.IntSexpVector([df.shape[0]]), ri.IntSexpVector([df.shape[1]]), names)


def frame_to_r(df: pd.DataFrame) -> Any:
    """A DataFrame as an R data.frame, column by column (types kept, NaN as NA)."""
    ri = _state["ri"]
    cols = [_series_to_r(df.iloc[:, i]) for i in range(df.shape[1])]
    names = ri.StrSexpVector([str(c) for c in df.columns])
    return _fn("make_df")(ri.ListSexpVector(cols), names, ri.IntSexpVector([len(df)]))


def to_r(value: Any) -> Any:
    """A Python value as R, per the seed's type table (a cached hook result goes back as it was)."""
    ri = _state["ri"]
    cached = _recall(value)
    if cached is not None:
        return cached
    if value is None:
        return ri.NULL
    if isinstance(value, ri.Sexp):
        return value
    if isinstance(value, pd.DataFrame):
        if _all_sparse(value):
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


try:  # the core's CSV writer, so that every front end hands R the same bytes
    from ..core.codecs import write_csv as _core_write_csv  # type: ignore[attr-defined]
except Exception:  # noqa: BLE001 - the codec module may not exist in this version of the core
    _core_write_csv = None


def frame_to_csv(df: pd.DataFrame) -> bytes:
    if _core_write_csv is not None:
        data = _core_write_csv(df)
        return data.encode() if isinstance(data, str) else bytes(data)
    return df.to_csv(index=False).encode()


# --- calling R ----------------------------------------------------------------------------------

_PKG_RE = [re.compile(r"there is no package called [‘'\"]([^’'\"]+)[’'\"]"),
           re.compile(r"package [‘'\"]([^’'\"]+)[’'\"] required by .* could not be found"),
           re.compile(r"namespace [‘'\"]([^’'\"]+)[’'\"] .* is required")]


def missing_package(message: str) -> str | None:
    """The R package an error message says is missing, if any."""
    for rx in _PKG_RE:
        m = rx.search(message or "")
        if m:
            return m.group(1)
    return None


def package_hint(packages: list[str]) -> str:
    names = ", ".join(packages)
    debs = " ".join(f"r-cran-{p.lower()}" for p in packages)
    vec = ", ".join(f"'{p}'" for p in packages)
    return (f"install the R package(s) {names}: 'apt-get install {debs}' where Debian packages them "
            f"(it does not package brnn, xgboost, kknn, Cubist, C50, klaR), else in R: install.packages(c({vec}))")


@dataclass
class RResult:
    ok: bool
    value: Any = None
    message: str = ""
    fname: str = ""
    file: str | None = None
    line: int | None = None
    warnings: tuple[str, ...] = ()


def call_r(fn: Any, args: list[Any], kwargs: dict[str, Any] | None = None, root: str = "/") -> RResult:
    """Call the R function ``fn`` with R-converted arguments; errors and warnings are captured."""
    ri = _state["ri"]
    items = [to_r(a) for a in args]
    names = [""] * len(items)
    for k, v in (kwargs or {}).items():
        items.append(to_r(v))
        names.append(k)
    arglist = ri.ListSexpVector(items) if items else ri.ListSexpVector([])
    if items:
        arglist.do_slot_assign("names", ri.StrSexpVector(names))
    res = _fn("call_safely")(fn, arglist, ri.StrSexpVector([os.path.realpath(root)]))
    out = dict(zip(_names(res) or [], list(res)))

    def scalar(key: str) -> Any:
        v = out.get(key)
        if v is None or v is ri.NULL or len(v) == 0:
            return None
        x = v[0]
        return None if x in (ri.NA_Character, ri.NA_Integer, ri.NA_Logical) else x

    warns = tuple(str(w) for w in out["warnings"]) if out.get("warnings") is not None else ()
    line = scalar("line")
    return RResult(ok=bool(out["ok"][0]), value=out.get("value"), message=scalar("message") or "",
                   fname=scalar("fname") or "", file=scalar("file"), line=int(line) if line is not None else None,
                   warnings=warns)


def _warning_mode() -> str:
    return os.environ.get("DRUMNB_R_WARNINGS", "warn").strip().lower()


def emit_warnings(res: RResult, where: str) -> str | None:
    """Report R warnings as RWarning; returns the message of one that must fail the call."""
    mode = _warning_mode()
    for msg in res.warnings:
        if mode == "ignore":
            continue
        if mode == "error":
            return msg
        log.debug("R warning in %s: %s", where, msg)
        try:
            warnings.warn(RWarning(f"R warning in {where}: {msg}"), stacklevel=3)
        except RWarning:  # a warnings filter turned RWarning into an error
            return msg
    return None


# --- hooks --------------------------------------------------------------------------------------

@dataclass
class RHooks(Hooks):
    """Hooks from ``custom.R`` (without ``read_input_data`` the R predictor's ``read_bytes`` reads the input)."""

    env: Any = None


def _signature(formals: list[str]) -> inspect.Signature:
    params = []
    for name in formals:
        if name == "...":  # R's dots take positional and named arguments alike
            params.append(inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL))
            params.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
        elif name.isidentifier() and not any(p.name == name for p in params):
            params.append(inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD))
    params.sort(key=lambda p: p.kind)  # named, then *args, then **kwargs (stable: R's order kept)
    return inspect.Signature(params)


def _target_to_r(y: Any) -> Any:
    """The target values for ``transform``'s third argument: a data.frame, as DRUM reads them (read.csv)."""
    if isinstance(y, (bytes, bytearray, memoryview)):
        res = call_r(_fn("read_csv_raw"), [bytes(y)])
        if not res.ok:
            raise InputError(f"R's read.csv cannot read the target values: {res.message}",
                             hint="send y as CSV with a header row")
        return res.value
    if isinstance(y, pd.Series):
        y = y.to_frame(name=y.name if y.name is not None else "y")
    return to_r(y)


def _raise_r_error(hook: str, res: RResult, path: str, *, loading: bool, warning: str | None = None) -> None:
    error = HookLoadError if loading else HookError
    message = warning if warning is not None else res.message
    if res.fname and warning is None:
        message = f"{message} (in {res.fname}())"
    package = missing_package(message)
    hint = package_hint([package]) if package else None
    raise error(hook, message, file=res.file or path, line=res.line,
                cause_type="RWarning" if warning is not None else "RError", hint=hint)


def _wrap(hook: str, fn: Any, formals: list[str], path: str, root: str) -> Callable[..., Any]:
    loading = hook in LOAD_HOOKS

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _R_LOCK:
            if hook == "read_input_data":
                _cache.items.clear()
            if hook == "score_unstructured" and "mlops" in kwargs and "mlops" not in formals:
                kwargs.pop("mlops")
            args = list(args)
            if hook == "transform" and (len(args) > 2 or "y" in kwargs):
                # DRUM's R runner calls transform(data, model, y) for transform models: y is the third
                # argument, a data.frame or NULL; a transform that takes two arguments gets two
                y = args.pop(2) if len(args) > 2 else kwargs.pop("y")
                if len(formals) > 2 or "..." in formals:
                    args.insert(2, _target_to_r(y))
            res = call_r(fn, args, kwargs, root)
            if not res.ok:
                with warnings.catch_warnings():  # the error wins; the warnings before it are still shown
                    warnings.simplefilter("always", RWarning)
                    emit_warnings(res, f"'{hook}' ({os.path.basename(path)})")
                _raise_r_error(hook, res, path, loading=loading)
            failing = emit_warnings(res, f"'{hook}' ({os.path.basename(path)})")
            if failing is not None:
                _raise_r_error(hook, res, path, loading=loading, warning=failing)
            if hook == "load_model":
                ri = _state["ri"]
                return None if res.value is ri.NULL else res.value  # the model stays an R object
            value = to_py(res.value)
            if hook == "score_unstructured" and isinstance(value, list):
                value = tuple(value)
            return value

    wrapper.__name__ = hook
    wrapper.__qualname__ = f"custom.R:{hook}"
    wrapper.__signature__ = _signature(formals)  # type: ignore[attr-defined]
    wrapper.__doc__ = f"R function '{hook}' of {path}"
    return wrapper


def read_csv_in_r(raw: bytes) -> Any:
    """CSV bytes read by R's ``read.csv`` (R's NA rules); returns the pandas view of the data.frame."""
    ri = _state["ri"]
    res = call_r(_fn("read_csv_raw"), [bytes(raw)])
    if not res.ok:
        raise InputError(f"R's read.csv cannot read the input: {res.message}",
                         hint="send CSV with a header row")
    emit_warnings(res, "read.csv")
    return to_py(res.value) if res.value is not ri.NULL else None


def load_r_hooks(code_dir: str) -> Hooks:
    """The hooks of ``code_dir/custom.R``, as Python callables over pandas objects."""
    path = next((os.path.join(code_dir, f) for f in HOOK_FILES if os.path.isfile(os.path.join(code_dir, f))), None)
    if path is None:
        return Hooks()
    path = os.path.realpath(path)
    root = os.path.dirname(path)
    _refuse_after_jvm(os.path.basename(path))
    with _R_LOCK:
        r_env()
        res = call_r(_fn("source_hooks"), [path], root=root)
        if not res.ok:
            message = res.message
            line = res.line
            m = re.search(r":(\d+):(\d+): ", message)
            if m and line is None:
                line = int(m.group(1))
            package = missing_package(message)
            raise HookLoadError("import", message, file=res.file or path, line=line, cause_type="RError",
                                hint=package_hint([package]) if package else
                                f"fix {os.path.basename(path)} (Rscript -e 'source(\"{os.path.basename(path)}\")' "
                                "shows the same error)")
        emit_warnings(res, os.path.basename(path))
        parts = dict(zip(_names(res.value) or [], list(res.value)))
        env = parts["env"]
        names = [str(n) for n in parts["functions"]]
        hooks = RHooks(path=path, language="R", env=env)
        for name in names:
            fn = env[name]
            if name in R_HOOKS:
                formals = [str(x) for x in _fn("formals_of")(fn)]
                hooks.functions[name] = _wrap(name, fn, formals, path, root)
            else:
                miss = near_miss(name)
                if miss and miss not in names:
                    hooks.warnings.append(f"{os.path.basename(path)} defines {name!r}, which is not a hook; "
                                          f"did you mean {miss!r}?")
        return hooks


# --- the built-in predictor for .rds ------------------------------------------------------------

class RPredictor(Predictor):
    """``readRDS`` + R's ``predict`` (caret: ``type = "prob"`` for classifiers, NA rows kept)."""

    name = "r"
    language = "R"

    def load(self, path: str) -> Any:
        _refuse_after_jvm(os.path.basename(path))
        with _R_LOCK:
            r_env()
            ri = _state["ri"]
            res = call_r(ri.baseenv["readRDS"], [os.path.realpath(path)])
            if not res.ok:
                self._package_error(res.message, path)
                raise ArtifactError(f"R cannot read {os.path.basename(path)}: {res.message}",
                                    hint="save the model with saveRDS(model, 'model.rds')")
            model = res.value
            self.prepare(model, os.path.basename(path))
            return model

    def prepare(self, model: Any, what: str) -> None:
        """Check and load the R packages the model needs, so that a missing one fails at load."""
        packages = [str(p) for p in _fn("model_packages")(model)]
        missing = [str(p) for p in _fn("missing_packages")(_state["ri"].StrSexpVector(packages))] if packages else []
        if missing:
            raise ArtifactError(f"the R model {what} needs the R package(s) {', '.join(missing)}, "
                                "which are not installed", hint=package_hint(missing))
        if packages:
            res = call_r(_fn("load_packages"), [packages])
            if not res.ok:
                self._package_error(res.message, what)
                raise ArtifactError(f"cannot load the R packages {packages} for {what}: {res.message}")

    @staticmethod
    def _package_error(message: str, what: str) -> None:
        package = missing_package(message)
        if package:
            raise ArtifactError(f"the R model {os.path.basename(what)} needs the R package {package!r}, "
                                f"which is not installed ({message})", hint=package_hint([package]))

    def read_bytes(self, raw: bytes) -> pd.DataFrame:
        """CSV bytes parsed by R's ``read.csv`` (for the core, when no read_input_data hook is defined).

        The result is the pandas view; ``predict`` gets the R data.frame itself back from it.
        """
        with _R_LOCK:
            r_env()
            _cache.items.clear()
            return read_csv_in_r(bytes(raw))

    def _r_frame(self, data: Any) -> Any:
        cached = _recall(data)
        if cached is not None:
            return cached
        if isinstance(data, pd.DataFrame) and not _all_sparse(data):  # the same path as CSV bytes: R's read.csv
            res = call_r(_fn("read_csv_raw"), [frame_to_csv(data)])
            if not res.ok:
                raise InputError(f"R's read.csv cannot read the data: {res.message}")
            return res.value
        return to_r(data)

    def predict(self, model: Any, data: Any, config: Any):
        classification = config.target_type in CLASSIFICATION
        with _R_LOCK:
            ri = _state["ri"]
            if not isinstance(model, ri.Sexp):
                raise ArtifactError(f"the R predictor cannot score a {type(model).__name__}",
                                    hint="return an R model object from load_model in custom.R")
            frame = self._r_frame(data)
            res = call_r(_fn("predict_model"), [model, frame, classification])
            if not res.ok:
                package = missing_package(res.message)
                if package or "Required package" in res.message:
                    raise ArtifactError(f"R cannot score the model: {res.message}",
                                        hint=package_hint([package]) if package else None)
                raise InputError(f"the R model rejected the input: {res.message}"
                                 + (f" (in {res.fname}())" if res.fname else ""),
                                 hint="send the columns the model was trained on, with values of the same type")
            failing = emit_warnings(res, "R's predict")
            if failing is not None:
                raise InputError(f"R's predict warned: {failing}", hint="unset DRUMNB_R_WARNINGS=error to allow it")
            out = to_py(res.value)
        if isinstance(out, pd.DataFrame):
            return out, (list(out.columns) if classification else None)
        if isinstance(out, pd.Series):
            return out.to_numpy(), None
        return np.asarray(out), None

    def transform(self, model: Any, data: Any) -> Any:
        raise ArtifactError("an R model has no built-in transform",
                            hint="define transform(data, model) in custom.R")

    @staticmethod
    def _names_of(model: Any, fn: str) -> list[str] | None:
        """The character vector the support function ``fn`` gives for an R model (None for NULL)."""
        with _R_LOCK:
            ri = _state["ri"]
            if not isinstance(model, ri.Sexp):
                return None
            names = _fn(fn)(model)
            return None if names is ri.NULL else [str(c) for c in names]

    def classes(self, model: Any) -> list[str] | None:
        """A caret classifier's levels: the columns of its type = "prob" output, in that order."""
        return self._names_of(model, "model_classes")

    def expected_columns(self, model: Any) -> list[str] | None:
        return self._names_of(model, "expected_columns")

    def describe(self, model: Any) -> dict[str, Any]:
        with _R_LOCK:
            kind = str(_fn("describe")(model)[0]) if isinstance(model, _state["ri"].Sexp) else type(model).__name__
        return {"predictor": self.name, "model": f"R {kind}"}


__all__ = ["RPredictor", "RHooks", "RWarning", "RRuntimeUnavailable", "load_r_hooks", "r_env", "r_started",
           "to_py", "to_r", "missing_package"]
