"""The Dask engine's typed errors: a missing extra, a failed partition, a job Dask could not finish."""
from __future__ import annotations

import pandas as pd

from ..core.errors import DrumnbError, InputError, UnsupportedError

INSTALL_HINT = "install the Dask extra: pip install 'drumnb[dask]'"


def require(module: str = "dask.dataframe") -> None:
    """Import ``module`` or raise a typed error telling how to install it."""
    try:
        __import__(module)
    except ImportError as exc:
        raise UnsupportedError(f"the Dask engine needs the package {exc.name!r}, which is not installed",
                               hint=INSTALL_HINT) from None


def in_partition(exc: DrumnbError, number: int | None, total: int, index: pd.Index | None) -> DrumnbError:
    """A copy of ``exc`` (same class and attributes) saying which partition failed."""
    where = f"partition {number} of {total}" if number is not None else f"a partition (of {total})"
    if index is not None and len(index):
        where += f" (index {index[0]!r}..{index[-1]!r})"
    cls = type(exc)
    err = cls.__new__(cls)
    err.__dict__.update(exc.__dict__)
    err.message = f"{where}: {exc.message}"
    err.args = (err.message,)
    err.partition = number
    err.partition_label = where
    return err


def job_error(exc: BaseException) -> DrumnbError | None:
    """A typed error for what Dask itself raises when a job cannot finish (else None)."""
    try:
        from distributed import KilledWorker
    except ImportError:
        KilledWorker = ()  # noqa: N806
    if isinstance(exc, KilledWorker):
        return DrumnbError(f"a partition was not scored: every worker that ran it died ({exc})",
                           hint="a worker dies when it goes over its memory limit or a hook crashes the process: "
                                "use smaller partitions, more memory per worker, or check the hooks")
    if isinstance(exc, ValueError) and "Mismatched dtypes" in str(exc):
        return InputError("a CSV column changes type past the rows Dask looked at to guess the types:\n"
                          + str(exc).split("\n\nUsually")[0],
                          hint="convert the input to Parquet (it stores the types), or in Python pass "
                               "read_options={'dtype': {...}} to drumnb.dask.score")
    return None
