"""Reading the input of a Dask job: paths, globs, folders or a Dask DataFrame, CSV or Parquet."""
from __future__ import annotations

import glob
import os
import re
from typing import Any, Mapping

import pandas as pd

from ..core.errors import InputError, UnsupportedError
from .errors import require

PARQUET_EXTENSIONS = (".parquet", ".pq", ".parq")
CSV_EXTENSIONS = (".csv",)
_GLOB_CHARS = re.compile(r"[*?\[]")


def _natural_key(path: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def _format_of(path: str, given: str | None) -> str:
    if given:
        if given not in ("csv", "parquet"):
            raise UnsupportedError(f"the Dask engine reads CSV and Parquet, not {given}",
                                   hint="convert the data to Parquet, or score it with the local engine")
        return given
    low = path.lower()
    if low.endswith(PARQUET_EXTENSIONS):
        return "parquet"
    if low.endswith(CSV_EXTENSIONS):
        return "csv"
    raise InputError(f"cannot tell the format of {path}: the Dask engine reads .csv and .parquet files",
                     hint="rename the files, or pass the format (--input-format csv|parquet)")


def _expand(path: str, given: str | None) -> tuple[list[str], str]:
    """The files one input path names (a file, a glob or a folder) and their format."""
    if "://" in path:  # a remote URL: left to Dask and fsspec
        return [path], _format_of(path, given)
    if os.path.isdir(path):
        entries = [os.path.join(path, n) for n in os.listdir(path) if not n.startswith((".", "_"))]
        parquet = [e for e in entries if e.lower().endswith(PARQUET_EXTENSIONS) or os.path.isdir(e)]
        csv = [e for e in entries if e.lower().endswith(CSV_EXTENSIONS)]
        if given == "csv" or (csv and not parquet):
            files, fmt = csv, "csv"
        elif parquet:
            return [path], _format_of(path, given or "parquet")  # a dataset folder: Dask reads it whole
        else:
            files, fmt = [], "csv"
        if not files:
            raise InputError(f"the folder {path} holds no .csv or .parquet files")
        return sorted(files, key=_natural_key), fmt
    if _GLOB_CHARS.search(path):
        files = sorted((f for f in glob.glob(path) if os.path.isfile(f)), key=_natural_key)
        if not files:
            raise InputError(f"no files match {path}", hint="check the pattern (quote it so the shell leaves it)")
    elif os.path.isfile(path):
        files = [path]
    else:
        raise InputError(f"input not found: {path}", hint="pass a file, a folder or a glob such as 'data/*.parquet'")
    formats = {_format_of(f, given) for f in files}
    if len(formats) > 1:
        raise InputError(f"{path} mixes CSV and Parquet files", hint="score each format on its own")
    return files, formats.pop()


def input_files(data: Any, *, format: str | None = None) -> tuple[list[str], str]:
    """The files (or Parquet folders, or URLs) a path, glob, folder or list of them names, and their format."""
    paths = [data] if isinstance(data, (str, os.PathLike)) else list(data)
    if not paths:
        raise InputError("no input given")
    files: list[str] = []
    formats = set()
    for p in paths:
        found, fmt = _expand(os.fspath(p), format)
        files += found
        formats.add(fmt)
    if len(formats) > 1:
        raise InputError("the input mixes CSV and Parquet files", hint="score each format on its own")
    return files, formats.pop()


def read(data: Any, *, format: str | None = None, read_options: Mapping[str, Any] | None = None) -> Any:
    """A Dask DataFrame from ``data``: a Dask DataFrame (returned as is), or a path,
    glob, folder or list of them holding CSV or Parquet files.

    String columns keep pandas' own string dtype, as the local engine reads
    them.  ``read_options`` go to ``dask.dataframe.read_csv`` / ``read_parquet``
    (e.g. ``{"blocksize": "16MB"}`` for smaller CSV partitions).
    """
    require()
    import dask
    import dask.dataframe as dd

    if isinstance(data, dd.DataFrame):
        return data
    if isinstance(data, pd.DataFrame):
        raise InputError("score() takes a Dask DataFrame or files, not a pandas DataFrame",
                         hint="use drumnb.load_model(...).predict(df), "
                              "or dask.dataframe.from_pandas(df, npartitions=N)")
    files, fmt = input_files(data, format=format)
    paths = [data] if isinstance(data, (str, os.PathLike)) else list(data)
    options = dict(read_options or {})
    with dask.config.set({"dataframe.convert-string": False}):
        try:
            if fmt == "parquet":
                return dd.read_parquet(files if len(files) > 1 else files[0], **options)
            return dd.read_csv(files, **options)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {paths[0] if len(paths) == 1 else paths} as {fmt}: "
                             f"{type(exc).__name__}: {exc}") from None
