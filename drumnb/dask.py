"""Batch scoring past one machine: a model folder over a Dask DataFrame.

::

    import drumnb.dask

    with drumnb.dask.local_cluster(2, memory_limit="300MB") as client:    # prints the dashboard link
        preds = drumnb.dask.score("data/*.parquet", "model_dir", "regression", passthrough=["id"])
        drumnb.dask.write(preds, "predictions/")      # part.00000.parquet ...; or preds.to_parquet(...)

and from the shell: ``drumnb score --engine dask --workers 2 --code-dir model_dir
--input 'data/*.parquet' --output predictions/``.

How a job runs
--------------
* The folder is loaded once in the calling process: the target type and labels
  are resolved and checked there, and the first rows of the first partition are
  scored to learn the output columns.  Settings and input errors are therefore
  raised by :func:`score` itself, before any work is sent to the cluster.
* Every worker process loads the folder once (a per-process cache keyed by the
  folder, the resolved settings and the files' sizes and times) and scores each
  partition with :meth:`drumnb.Model.predict`: the hooks run per partition
  exactly as in the core (with ``read_input_data``, the partition goes through
  CSV bytes, as the CLI would send them).
* An output partition holds one row per input row, in the input order, with the
  input partition's index; ``passthrough`` columns (such as an id) come first.
  The model still receives every input column, as ``drumnb score`` would give
  it (built-in scikit-learn predictors pick the columns they were fitted on).
* A worker with several threads shares its loaded model between them, as a
  threaded server would; :func:`local_cluster` starts one thread per worker.
* A partition that fails raises the core's typed error (a ``HookError`` naming
  the hook, an ``InputError``, ...) with ``partition I of N`` in its message and
  in its ``partition`` attribute.  A worker that dies is replaced and its
  partitions are run again by Dask; nothing is skipped silently.

Input: a Dask DataFrame, or a path, glob, folder or list of them holding CSV or
Parquet files (the format follows the extension, or ``format=``).  Files are
read in natural order (``part.2`` before ``part.10``); each Parquet file, and
each block of a CSV file (``read_options={"blocksize": ...}``), is a partition.
The model folder and the input must be readable at the same paths by the
caller and by every worker (a local cluster, or a shared file system).

Output of :func:`write` and of the CLI: a path ending in ``.csv`` gets one CSV
file (header once, partitions in order), like ``drumnb score``; any other path
gets a folder of Parquet files ``part.00000.parquet``, ``part.00001.parquet``,
one per partition.  Each partition's predictions are sent back to the caller
as soon as they are ready (and released on the worker), and the caller writes
them: first to a hidden staging file or folder next to the output, renamed into
place only when every partition has been written, so a failed job leaves no
partial output behind.
"""
from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterator, Mapping, Sequence

import pandas as pd

from . import flags
from .core import contract
from .core.errors import ConfigurationError, ContractError, DrumnbError, InputError, UnsupportedError

__all__ = ["score", "write", "collect", "read", "input_files", "local_cluster", "connect", "cli_score", "check_output",
           "output_format", "ModelSpec", "cached_model"]

#: Rows of the first partition scored in the calling process to learn the output columns.
SAMPLE_ROWS = 100
#: Model folders kept loaded per process (least recently used first out).
MAX_CACHED_MODELS = 4
INSTALL_HINT = "install the Dask extra: pip install 'drumnb[dask]'"
PARQUET_EXTENSIONS = (".parquet", ".pq", ".parq")
CSV_EXTENSIONS = (".csv",)
_GLOB_CHARS = re.compile(r"[*?\[]")


def _require(module: str = "dask.dataframe") -> None:
    """Import ``module`` or raise a typed error telling how to install it."""
    try:
        __import__(module)
    except ImportError as exc:
        raise UnsupportedError(f"the Dask engine needs the package {exc.name!r}, which is not installed",
                               hint=INSTALL_HINT) from None


# --- errors that travel from workers -------------------------------------------------------------

def _in_partition(exc: DrumnbError, number: int | None, total: int, index: pd.Index | None) -> DrumnbError:
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


# --- the model on workers ------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelSpec:
    """What a worker needs to load a model folder: its path and the *resolved* settings.

    Settings are resolved once by the caller (flags, environment, metadata), so
    that every worker loads the same model whatever its own environment.
    ``fingerprint`` (names, sizes and times of the folder's files) makes an
    edited folder load afresh on a long-lived cluster.
    """

    code_dir: str
    target_type: str
    positive_class_label: str | None = None
    negative_class_label: str | None = None
    class_labels: tuple[str, ...] | None = None
    load_kwargs: tuple[tuple[str, Any], ...] = ()
    fingerprint: tuple = ()

    @classmethod
    def of(cls, code_dir: str, model: Any, load_kwargs: Mapping[str, Any]) -> "ModelSpec":
        cfg = model.config
        kwargs = {k: v for k, v in load_kwargs.items() if k != "class_labels_file" and v is not None}
        if "env" in kwargs:  # hashable, so that the spec is a cache key
            kwargs["env"] = tuple(sorted(dict(kwargs["env"]).items()))
        if "runtime_params_file" in kwargs:  # workers may run in another directory
            kwargs["runtime_params_file"] = os.path.abspath(os.fspath(kwargs["runtime_params_file"]))
        return cls(os.path.abspath(os.fspath(code_dir)), cfg.target_type, cfg.positive_class_label,
                   cfg.negative_class_label, tuple(cfg.class_labels) if cfg.class_labels else None,
                   tuple(sorted(kwargs.items())), _fingerprint(os.fspath(code_dir)))

    def load(self) -> Any:
        from .model import load_model

        kwargs = dict(self.load_kwargs)
        if "env" in kwargs:
            kwargs["env"] = dict(kwargs["env"])
        return load_model(self.code_dir, self.target_type, positive_class_label=self.positive_class_label,
                          negative_class_label=self.negative_class_label,
                          class_labels=list(self.class_labels) if self.class_labels else None, **kwargs)


def _fingerprint(path: str) -> tuple:
    """(name, size, mtime) of the files at the top of a folder (or of an archive file)."""
    try:
        if os.path.isfile(path):
            st = os.stat(path)
            return ((os.path.basename(path), st.st_size, st.st_mtime_ns),)
        return tuple(sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns)
                            for e in os.scandir(path) if e.is_file()))
    except OSError:
        return ()


_models: "OrderedDict[ModelSpec, Any]" = OrderedDict()
_models_lock = threading.Lock()


def cached_model(spec: ModelSpec, model: Any = None) -> Any:
    """The model of ``spec``, loaded at most once in this process.

    ``model`` (already loaded for ``spec``) is remembered instead of loading.
    At most :data:`MAX_CACHED_MODELS` folders stay loaded.
    """
    with _models_lock:
        found = _models.get(spec)
        if found is None:
            found = model if model is not None else spec.load()
            _models[spec] = found
            while len(_models) > MAX_CACHED_MODELS:
                _, old = _models.popitem(last=False)
                old.close()
        _models.move_to_end(spec)
        return found


def score_partition(part: pd.DataFrame, spec: ModelSpec, meta: pd.DataFrame, passthrough: tuple[str, ...],
                    npartitions: int, partition_info: dict | None = None) -> pd.DataFrame:
    """Score one partition on a worker: the core's ``Model.predict``, then input index and passthrough."""
    number = partition_info.get("number") if partition_info else None
    if len(part) == 0:
        return meta.iloc[:0].set_axis(part.index, axis=0)
    try:
        pred = cached_model(spec).predict(part.reset_index(drop=True))
        return _conform(_assemble(part, pred, passthrough), meta)
    except DrumnbError as exc:
        raise _in_partition(exc, number, npartitions, part.index) from None
    except Exception as exc:  # noqa: BLE001 - still typed, still naming the partition
        err = DrumnbError(f"{type(exc).__name__}: {exc}")
        raise _in_partition(err, number, npartitions, part.index) from None


def _assemble(part: pd.DataFrame, pred: Any, passthrough: Sequence[str]) -> pd.DataFrame:
    """Predictions with the partition's index and its passthrough columns first."""
    if not isinstance(pred, pd.DataFrame):
        raise UnsupportedError(f"the model returned a {type(pred).__name__}; the Dask engine scores models "
                               "that return a DataFrame (a sparse transform output is not supported)")
    if len(pred) != len(part):
        raise ContractError("one prediction per row", f"{len(pred)} prediction(s) for {len(part)} input row(s)")
    out = pred.reset_index(drop=True)
    if passthrough:
        out = pd.concat([part[list(passthrough)].reset_index(drop=True), out], axis=1)
    out.index = part.index
    return out


def _conform(out: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """``out`` with the columns and dtypes every partition shares (learnt from the first rows)."""
    if list(out.columns) != list(meta.columns):
        raise ContractError("the same columns in every partition",
                            f"got {list(out.columns)}; the first rows gave {list(meta.columns)}")
    differ = {c: meta[c].dtype for c in meta.columns if out[c].dtype != meta[c].dtype}
    if differ:
        try:
            out = out.astype(differ)
        except (ValueError, TypeError) as exc:
            raise ContractError("the same column types in every partition",
                                f"cannot make {sorted(differ)} {[str(t) for t in differ.values()]}: {exc}") from None
    return out


# --- reading -------------------------------------------------------------------------------------

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
    _require()
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


# --- scoring -------------------------------------------------------------------------------------

def score(data: Any, code_dir: "str | os.PathLike[str]", target_type: str | None = None, *,
          positive_class_label: Any = None, negative_class_label: Any = None,
          class_labels: Sequence[Any] | None = None, passthrough: Sequence[str] | str | None = None,
          client: Any = None, format: str | None = None, read_options: Mapping[str, Any] | None = None,
          **load_kwargs: Any) -> Any:
    """Predictions of the model folder ``code_dir`` for ``data``, as a lazy Dask DataFrame.

    ``data`` is a Dask DataFrame or CSV/Parquet files (see :func:`read`).  The
    result has one partition per input partition, each with the input's rows,
    order and index; ``passthrough`` input columns (e.g. an id) come first,
    then the prediction columns the core gives (``Predictions``, or one column
    per label, plus any extra columns of the hooks).  Settings are those of
    :func:`drumnb.load_model` (``load_kwargs``: ``class_labels_file``,
    ``runtime_params_file``, ``env``).  ``client`` computes the sample of first
    rows (default: the current Dask client, else the local scheduler); compute
    the result with ``.compute()``, ``.to_parquet()`` or :func:`write`.

    Raises the core's ``ConfigurationError`` / ``InputError`` / ``HookError``
    at once when the settings are wrong or the first rows do not score.
    """
    from .model import load_model

    ddf = read(data, format=format, read_options=read_options)
    keep = _passthrough(ddf, passthrough)
    model = load_model(code_dir, target_type, positive_class_label=positive_class_label,
                       negative_class_label=negative_class_label, class_labels=class_labels, **load_kwargs)
    if model.target_type == contract.UNSTRUCTURED:
        raise UnsupportedError("an unstructured model has no rows to score; the Dask engine scores structured "
                               "models", hint="call model.predict_unstructured for each payload")
    spec = ModelSpec.of(code_dir, model, load_kwargs)
    cached_model(spec, model)  # a threaded or synchronous scheduler reuses this load
    meta = _meta(model, ddf, keep, client)
    return ddf.map_partitions(score_partition, spec, meta, keep, ddf.npartitions, meta=meta,
                              enforce_metadata=False, transform_divisions=False, align_dataframes=False)


def _passthrough(ddf: Any, passthrough: Sequence[str] | str | None) -> tuple[str, ...]:
    if not passthrough:
        return ()
    keep = (passthrough,) if isinstance(passthrough, str) else tuple(passthrough)
    have = [str(c) for c in ddf.columns]
    missing = [c for c in keep if c not in have]
    if missing:
        raise ConfigurationError(f"passthrough column(s) {missing} are not in the input",
                                 hint=f"the input has the columns {have[:20]}{' ...' if len(have) > 20 else ''}")
    if len(set(keep)) != len(keep):
        raise ConfigurationError(f"passthrough columns repeat: {list(keep)}")
    return keep


def _sample(ddf: Any, client: Any) -> tuple[int, pd.DataFrame]:
    """(number, first rows) of the first partition that has rows (looking at up to 8 partitions)."""
    def compute(collection: Any) -> pd.DataFrame:
        return client.compute(collection).result() if client is not None else collection.compute()

    for i in range(min(ddf.npartitions, 8)):
        rows = compute(ddf.partitions[i].head(SAMPLE_ROWS, compute=False))
        if len(rows):
            return i, rows
    raise InputError("the input has no rows" if ddf.npartitions <= 8 else
                     "the first 8 partitions of the input hold no rows",
                     hint="send at least one row of data (or drop empty partitions first)")


def _meta(model: Any, ddf: Any, keep: tuple[str, ...], client: Any) -> pd.DataFrame:
    """The empty frame every output partition looks like: the first rows, scored here."""
    number, sample = _sample(ddf, client)
    try:
        out = _assemble(sample, model.predict(sample.reset_index(drop=True)), keep)
    except DrumnbError as exc:
        raise _in_partition(exc, number, ddf.npartitions, sample.index) from None
    clash = [c for c in keep if list(out.columns).count(c) > 1]
    if clash:
        raise ConfigurationError(f"passthrough column(s) {clash} have the name of a prediction column",
                                 hint="rename the input column, or pass it as the index")
    meta = out.iloc[:0]
    pred_cols = model.labels or [contract.PRED_COLUMN]
    if model.target_type in contract.NUMERIC_SINGLE + contract.LABELLED:  # another partition may give floats here
        ints = {c: "float64" for c in pred_cols if c in meta and pd.api.types.is_integer_dtype(meta[c].dtype)}
        meta = meta.astype(ints) if ints else meta
    return meta.set_axis(ddf._meta.index, axis=0)


# --- writing -------------------------------------------------------------------------------------

def output_format(path: str) -> str:
    """``csv`` when ``path`` ends in ``.csv`` (one file), else ``parquet`` (a folder)."""
    return "csv" if os.fspath(path).lower().endswith(".csv") else "parquet"


def _encode(part: pd.DataFrame, number: int, fmt: str, keep_index: bool) -> tuple[int, int, bytes]:
    """One partition in the output format, with the core's writers: (partition number, rows, bytes).

    CSV parts after the first leave out the header, so that their concatenation
    is byte for byte what ``drumnb score`` writes for all the rows at once.
    """
    from .core import codecs

    frame = part.reset_index() if keep_index else part
    if fmt != "csv":
        return number, len(part), codecs.write_parquet(frame)
    data = codecs.write_csv(frame)
    if number:
        header = codecs.write_csv(frame.iloc[:0])
        data = data[len(header):]
    return number, len(part), data


_PART_FILE = re.compile(r"^part\.\d+\.parquet$")


def check_output(output: "str | os.PathLike[str]") -> None:
    """A ``ConfigurationError`` if :func:`write` could not write ``output`` (checked before any work)."""
    output = os.fspath(output)
    if output_format(output) == "csv":
        if os.path.isdir(output):
            raise ConfigurationError(f"--output {output} is a folder; a .csv output is one file")
        return
    if os.path.exists(output):
        if not os.path.isdir(output):
            raise ConfigurationError(f"--output {output} is a file; the Dask engine writes a folder of "
                                     "Parquet files there", hint="name a folder, or a file ending in .csv")
        other = [n for n in os.listdir(output) if not _PART_FILE.match(n)]
        if other:
            raise ConfigurationError(f"--output {output} holds other files than predictions ({other[:5]})",
                                     hint="name a new or empty folder")


class _Staging:
    """Output written beside its final place and moved there only when complete."""

    def __init__(self, output: str, fmt: str, npartitions: int):
        check_output(output)
        self.output, self.fmt = os.path.abspath(output), fmt
        self.width = max(5, len(str(npartitions - 1)))
        parent = os.path.dirname(self.output)
        os.makedirs(parent, exist_ok=True)
        prefix = f".{os.path.basename(self.output)}.partial-"
        if fmt == "csv":
            fd, self.tmp = tempfile.mkstemp(prefix=prefix, dir=parent)
            self.fh: IO[bytes] | None = os.fdopen(fd, "wb")
        else:
            self.tmp, self.fh = tempfile.mkdtemp(prefix=prefix, dir=parent), None
        self.pending: dict[int, bytes] = {}
        self.next = 0

    def add(self, number: int, data: bytes) -> None:
        """Write partition ``number`` (CSV: in partition order, holding early arrivals)."""
        if self.fh is None:
            with open(os.path.join(self.tmp, f"part.{number:0{self.width}d}.parquet"), "wb") as fh:
                fh.write(data)
            return
        self.pending[number] = data
        while self.next in self.pending:
            self.fh.write(self.pending.pop(self.next))
            self.next += 1

    def commit(self) -> None:
        if self.fh is not None:
            self.fh.close()
            os.replace(self.tmp, self.output)
            return
        if os.path.isdir(self.output):
            for name in os.listdir(self.output):
                os.remove(os.path.join(self.output, name))  # only part.N.parquet files: check_output
            for name in os.listdir(self.tmp):
                os.replace(os.path.join(self.tmp, name), os.path.join(self.output, name))
            os.rmdir(self.tmp)
        else:
            os.replace(self.tmp, self.output)

    def discard(self) -> None:
        if self.fh is not None:
            self.fh.close()
        if os.path.isdir(self.tmp):
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif os.path.exists(self.tmp):
            os.remove(self.tmp)


def _default_client() -> Any:
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def write(preds: Any, output: "str | os.PathLike[str]", *, client: Any = None,
          progress: Callable[[int, int], None] | None = None) -> int:
    """Compute ``preds`` (from :func:`score`) and write them to ``output``; returns the rows written.

    ``output`` ending in ``.csv``: one CSV file; else a folder of
    ``part.NNNNN.parquet`` files (see the module's notes).  A named index is
    written as a column.  ``progress(done, total)`` is called per partition.
    Partitions run on ``client`` (default: the current Dask client, else one by
    one in this process); the first failure cancels the rest and is raised.
    """
    import dask

    output = os.fspath(output)
    fmt = output_format(output)
    keep_index = preds.index.name is not None
    parts = preds.to_delayed()
    total = len(parts)
    stage = _Staging(output, fmt, total)
    rows = 0
    client = client or _default_client()
    try:
        tasks = [dask.delayed(_encode, pure=True)(p, i, fmt, keep_index) for i, p in enumerate(parts)]
        for done, (number, n, data) in enumerate(_results(tasks, client), start=1):
            stage.add(number, data)
            rows += n
            if progress:
                progress(done, total)
        stage.commit()
    except BaseException:
        stage.discard()
        raise
    return rows


def _numbered(part: pd.DataFrame, number: int) -> tuple[int, pd.DataFrame]:
    return number, part


def collect(preds: Any, *, client: Any = None, progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Compute ``preds`` (from :func:`score`) into one pandas DataFrame, partitions in input order.

    Like ``preds.compute()``, but partitions come back as they finish (each
    released on its worker at once), ``progress(done, total)`` is called per
    partition, and the first failure cancels the rest and is raised with its
    partition number.  For data that does not fit in this process, use
    :func:`write` instead.
    """
    import dask

    parts = preds.to_delayed()
    total = len(parts)
    client = client or _default_client()
    done: dict[int, pd.DataFrame] = {}
    tasks = [dask.delayed(_numbered, pure=True)(p, i) for i, p in enumerate(parts)]
    for count, (number, part) in enumerate(_results(tasks, client), start=1):
        done[number] = part
        if progress:
            progress(count, total)
    if not done:
        return preds._meta.copy()
    return pd.concat([done[i] for i in range(total)])


def _results(tasks: list, client: Any) -> Iterator[Any]:
    """Results of ``tasks`` as they finish; the first error cancels the others.

    Each result is released on the worker as soon as it is here, so that
    workers hold at most the partitions in flight, whatever the data's size.
    """
    if client is None:
        for task in tasks:
            yield task.compute(scheduler="sync")
        return
    from distributed import as_completed

    pending = set(client.compute(tasks))
    try:
        for future, result in as_completed(pending, with_results=True):
            pending.discard(future)
            future.release()
            yield result
    except Exception as exc:  # noqa: BLE001
        raise _job_error(exc) or exc
    finally:
        if pending:
            client.cancel(list(pending))


def _job_error(exc: BaseException) -> DrumnbError | None:
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


# --- clusters ------------------------------------------------------------------------------------

def local_cluster(n_workers: int | None = 2, *, memory_limit: str | float | None = "auto",
                  threads_per_worker: int = 1, dashboard: bool = True, file: IO[str] | None = None,
                  quiet: bool = True, **cluster_kwargs: Any) -> Any:
    """Start a Dask cluster of ``n_workers`` processes on 127.0.0.1; returns its ``Client``.

    The dashboard (also on 127.0.0.1, a free port) is printed to ``file``
    (default stdout).  Use it as a context manager, or call ``.close()``:
    closing the client stops the cluster and its processes::

        with drumnb.dask.local_cluster(2, memory_limit="300MB") as client:
            ...

    ``memory_limit`` is per worker (``"300MB"``; ``"auto"`` splits the
    machine's memory).  ``quiet`` silences Dask's own logs (a failing partition
    is raised to the caller anyway); ``quiet=False`` shows its warnings, such as
    a worker restarted for going over its memory limit.
    """
    _require("distributed")
    from distributed import Client

    if n_workers is not None and n_workers < 1:
        raise ConfigurationError(f"a local cluster needs at least one worker, not {n_workers}")
    kwargs: dict[str, Any] = dict(n_workers=n_workers or os.cpu_count() or 1, threads_per_worker=threads_per_worker,
                                  processes=True, memory_limit=memory_limit, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0",
                                  silence_logs=logging.CRITICAL if quiet else logging.WARNING)
    if not dashboard:  # the scheduler still serves /health and /metrics: on 127.0.0.1 and a free port, not 8787
        kwargs["scheduler_kwargs"] = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}
    kwargs.update(cluster_kwargs)
    client = Client(**kwargs)
    link = client.dashboard_link if dashboard else ""
    out = file or sys.stdout
    workers = kwargs["n_workers"]
    if link:
        print(f"Dask dashboard: {link}  ({workers} worker process{'es' if workers != 1 else ''})", file=out)
    elif dashboard:
        print("Dask dashboard: not available (pip install 'bokeh>=3.1')", file=out)
    return client


def connect(address: str, *, timeout: float = 10) -> Any:
    """A ``Client`` of the running Dask scheduler at ``address``; a ``ConfigurationError`` when unreachable."""
    _require("distributed")
    from distributed import Client

    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigurationError(f"cannot reach the Dask scheduler at {address}: {type(exc).__name__}: {exc}",
                                 hint="start one with 'dask scheduler' (and 'dask worker ADDRESS'), "
                                      "or use --workers N for a local cluster") from None


# --- the CLI -------------------------------------------------------------------------------------

def _check_cli_args(args: Any, load_kwargs: Mapping[str, Any]) -> None:
    """Flags that do not fit the Dask engine: a ``ConfigurationError`` before anything starts."""
    if not args.output:
        raise ConfigurationError("--engine dask needs --output",
                                 hint="name a folder for Parquet files, or a file ending in .csv")
    if args.scheduler and args.workers is not None:
        raise ConfigurationError("--scheduler and --workers exclude each other",
                                 hint="--scheduler uses a running cluster; --workers N starts a local one")
    if args.workers is not None and args.workers < 1:
        raise ConfigurationError(f"--workers must be at least 1, not {args.workers}")
    if getattr(args, "sparse_column_file", None):
        raise UnsupportedError("the Dask engine reads CSV and Parquet, not Matrix Market",
                               hint="score .mtx input with the local engine")
    flags.refuse_monitoring(args, load_kwargs["monitor"])


def _check_not_input(output: str, inputs: Sequence[str]) -> None:
    """A ``ConfigurationError`` when writing ``output`` would replace or delete input files."""
    out = os.path.realpath(output)
    for path in inputs:
        if "://" in path:
            continue
        real = os.path.realpath(path)
        if real == out or real.startswith(out + os.sep) or out.startswith(real + os.sep):
            raise ConfigurationError(f"--output {output} would overwrite the input {path}",
                                     hint="write the predictions somewhere else")


@contextlib.contextmanager
def _cli_client(args: Any) -> Iterator[Any]:
    """The scheduler of ``--scheduler``, else a local cluster of ``--workers`` processes, closed at the end.

    Dask logs through its own handler (warnings with ``--verbose``, else
    nothing), not through the CLI's ``drumnb:`` lines.
    """
    dask_log = logging.getLogger("distributed")
    propagate = dask_log.propagate
    dask_log.propagate = False
    try:
        client = (connect(args.scheduler) if args.scheduler else
                  local_cluster(args.workers, file=sys.stderr, quiet=not args.verbose))
        try:
            yield client
        finally:
            client.close()
    finally:
        dask_log.propagate = propagate


def cli_score(args: Any) -> int:
    """``drumnb score --engine dask``: score ``--input`` on a Dask cluster, write ``--output``.

    Output format: ``--output`` ending in ``.csv`` is one CSV file, anything
    else a folder of Parquet files.  A progress bar (partitions) goes to stderr
    when it is a terminal or with ``--verbose``; the dashboard link and a
    summary line are always printed there.
    """
    from tqdm import tqdm

    load_kwargs = flags.load_kwargs(args)  # the model flags, as the local engine reads them
    _check_cli_args(args, load_kwargs)
    started = time.perf_counter()
    show = bool(args.verbose or sys.stderr.isatty())
    fmt = getattr(args, "input_format", None)  # user errors before any cluster starts:
    _check_not_input(args.output, input_files(args.input, format=fmt)[0])
    check_output(args.output)
    data = read(args.input, format=fmt)
    _passthrough(data, args.keep_columns)
    with _cli_client(args) as client:
        load_kwargs.pop("monitor")
        preds = score(data, load_kwargs.pop("code_dir"), load_kwargs.pop("target_type"),
                      passthrough=args.keep_columns, client=client, **load_kwargs)
        with tqdm(total=preds.npartitions, unit="partition", desc="scoring", file=sys.stderr, disable=not show,
                  leave=False) as bar:
            rows = write(preds, args.output, client=client, progress=lambda done, total: bar.update(1))
    print(f"drumnb: wrote {rows} prediction rows from {preds.npartitions} partition(s) to {args.output} "
          f"in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0
