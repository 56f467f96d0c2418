"""Scoring a Dask DataFrame: the model loaded once per process, each partition through the core."""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd

from ..core import contract
from ..core.errors import ConfigurationError, ContractError, DrumnbError, InputError, UnsupportedError
from ..model import load_model
from .errors import in_partition
from .inputs import read

#: Rows of the first partition scored in the calling process to learn the output columns.
SAMPLE_ROWS = 100
#: Model folders kept loaded per process (least recently used first out).
MAX_CACHED_MODELS = 4


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
        raise in_partition(exc, number, npartitions, part.index) from None
    except Exception as exc:  # noqa: BLE001 - still typed, still naming the partition
        err = DrumnbError(f"{type(exc).__name__}: {exc}")
        raise in_partition(err, number, npartitions, part.index) from None


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
    ddf = read(data, format=format, read_options=read_options)
    keep = passthrough_columns(ddf, passthrough)
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


def passthrough_columns(ddf: Any, passthrough: Sequence[str] | str | None) -> tuple[str, ...]:
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
        raise in_partition(exc, number, ddf.npartitions, sample.index) from None
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
