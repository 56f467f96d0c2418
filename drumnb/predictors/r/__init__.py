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
  process, so an R model is refused, with a clear error,
  once a JVM runs in this process.  R first, then Java, works.

Modules, each importing only those listed before it: ``runtime`` (starting R, the lock around it,
``support.R``: drumnb's R helpers as a package data file), ``convert`` (values across the border),
``calls`` (calling R, its errors and warnings), ``hooks`` (``custom.R``), ``predictor`` (``.rds``).
"""
from .calls import missing_package
from .convert import to_py, to_r
from .hooks import RHooks, load_r_hooks
from .predictor import RPredictor
from .runtime import RRuntimeUnavailable, RWarning, r_env, r_started

__all__ = ["RPredictor", "RHooks", "RWarning", "RRuntimeUnavailable", "load_r_hooks", "r_env", "r_started",
           "to_py", "to_r", "missing_package"]
