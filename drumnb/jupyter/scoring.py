"""Scoring for ``%%drum_score`` and the score panel: the data a cell names, one call through the core, the report.

The magic parses its flags and calls :func:`score` (or :func:`score_on_dask`); the score panel calls
the same :func:`score`, so a cell and a click give the same answer.  A DataFrame whose scoring takes
more than about a second shows progress: the time of its one call (as DRUM makes it), or rows counted
behind a bar with ``--chunk-rows N``.
Ctrl-C (or the kernel's interrupt button) stops it between two chunks or inside one: the cell shows
one line and nothing is stored.
"""
from __future__ import annotations

import argparse
import glob
import os
import time
from typing import Any

from ..core.errors import ConfigurationError, InputError, UnsupportedError
from ..core.targets import TargetType
from ..tools import progress
from . import errors

#: A call that takes longer than this (seconds) shows its progress.
PROGRESS_AFTER = 1.0


def resolve_data(spec: str, namespace: dict[str, Any]) -> Any:
    """``--data``: a variable, a file path, or a Python expression over the notebook's variables."""
    if spec in namespace:
        return namespace[spec]
    path = os.path.expanduser(spec)
    if os.path.isfile(path):
        return path
    if os.path.isdir(path) or (any(c in path for c in "*?[") and glob.glob(path)):
        return path  # a folder or glob of CSV / Parquet files: the Dask engine reads them
    if spec.isidentifier():
        import difflib

        import pandas as pd

        frames = [k for k, v in namespace.items() if isinstance(v, pd.DataFrame) and not k.startswith("_")]
        close = difflib.get_close_matches(spec, frames, n=1)
        raise errors.error(NameError, f"--data {spec}: no variable or file of that name",
                           f"did you mean {close[0]!r}?" if close else
                           ("DataFrames here: " + ", ".join(sorted(frames)[:8])) if frames else
                           "load the data first, e.g. df = pd.read_csv(...)")
    try:
        return eval(spec, namespace)  # noqa: S307 - the user's own notebook namespace
    except Exception as exc:  # noqa: BLE001
        raise errors.error(NameError, f"--data {spec}: not a variable, a file, or an expression that "
                                        f"evaluates ({type(exc).__name__}: {exc})",
                           "pass a DataFrame variable or a file path") from None


class Scored:
    """A scoring call's value (for -o) and its report (to display)."""

    def __init__(self, value: Any, report: Any):
        self.value = value
        self.report = report


def score(model: Any, data: Any, *, name: str, content_type: str | None = None, query: str | None = None,
          max_rows: int = 10, plot: bool = True, render: bool = True, chunk_rows: int | None = None) -> Scored:
    """Score ``data`` with ``model`` through the core and build the report (shared by the magic and widgets)."""
    from .display import ScoreReport  # pandas and matplotlib: imported on the first call, not at %load_ext
    if model.target_type == TargetType.UNSTRUCTURED:
        from .inspection import describe_result

        if isinstance(data, str) and os.path.isfile(data):
            with open(data, "rb") as fh:
                data = fh.read()
        if not isinstance(data, (str, bytes, bytearray, memoryview)):
            raise errors.error(InputError, f"an unstructured model takes str or bytes, not {type(data).__name__}",
                               "pass text, bytes, or a file path with --data")
        body = data.encode(_charset(content_type)) if isinstance(data, str) else bytes(data)
        result = model.predict_unstructured(body, content_type=content_type, query=query)
        from ..core.unstructured import parse_query

        return Scored(result, describe_result(result, name=name, body=body, content_type=content_type,
                                              query=parse_query(query)))
    if model.target_type in (TargetType.TEXTGENERATION, TargetType.AGENTICWORKFLOW) and "chat" in model.hooks and \
            not ("score" in model.hooks or model.predictor is not None):
        raise errors.error(ConfigurationError, "this is a chat model: call it with model.chat({...}) or serve it",
                           "%drum_serve NAME, then srv.client.chat('hello')")
    if isinstance(data, str) and not os.path.isfile(data):
        raise errors.usage(f"--data {data}: a folder or glob of files is scored with --engine dask",
                           "add --engine dask (and --workers N for a local cluster), or name one file")
    started = time.perf_counter()
    pred, chunks = predict(model, data, desc=name, chunk_rows=chunk_rows)
    seconds = time.perf_counter() - started
    rows = int(pred.shape[0]) if hasattr(pred, "shape") else None
    labels = model.config.labels
    notes = [f"Note: {n}." for n in getattr(model, "compat_notes", ())]
    if chunks > 1:
        notes.append(f"Scored in {chunks:,} calls of {chunk_rows:,} rows (--chunk-rows).")
    report = ScoreReport(name, model.target_type, pred, seconds, rows, labels=labels, max_rows=max_rows, plot=plot,
                         note=" ".join(notes))
    if render:
        report.render()  # the table and the plot, timed apart from the scoring (report.render_seconds)
    return Scored(pred, report)


def score_on_dask(model: Any, folder: str, data: Any, args: argparse.Namespace, *, name: str,
                  load_kwargs: dict[str, Any]) -> Scored:
    """``--engine dask``: the partitions scored on a cluster; a report like the local engine's."""
    from . import dask_engine  # dask: only for --engine dask
    from .display import ScoreReport
    if model.target_type == TargetType.UNSTRUCTURED:
        raise errors.error(UnsupportedError, "--engine dask scores rows; this model is unstructured",
                           "score unstructured payloads with the local engine")
    client = dask_engine.client_for(args.scheduler, args.workers, args.memory_limit)
    preds, frame, rows, seconds = dask_engine.score(model, folder, data, client=client, passthrough=args.keep_columns,
                                                    output_path=args.output_path, load_kwargs=load_kwargs)
    if frame is None:
        print(f"wrote {rows:,} prediction rows from {preds.npartitions} partition(s) to {args.output_path} "
              f"in {seconds:.1f} s")
        return Scored(preds, None)
    report = ScoreReport(name, model.target_type, frame, seconds, rows, labels=model.config.labels,
                         max_rows=args.rows, plot=not args.no_plot,
                         note=f"scored on Dask: {preds.npartitions} partition(s), {_workers(client)} worker(s)")
    if not args.quiet:
        report.render()
    return Scored(frame, report)


def _workers(client: Any) -> int:
    try:
        return len(client.scheduler_info().get("workers", {}))
    except Exception:  # noqa: BLE001 - only for the note
        return 0


def _charset(content_type: str | None) -> str:
    from ..core.unstructured import DEFAULT_CHARSET, parse_content_type

    return parse_content_type(content_type)[1] or DEFAULT_CHARSET


def predict(model: Any, data: Any, *, desc: str = "scoring", chunk_rows: int | None = None) -> tuple[Any, int]:
    """``model.predict(data)``: one call, as ``drumnb score`` and DRUM make it, or ``chunk_rows`` rows a call.

    Returns the predictions and the number of calls made.  One call gives exactly DRUM's answer (hooks
    see all rows; even a built-in model's arithmetic can differ in the last bit with the batch size, so
    rows are never split unasked); a call that takes over :data:`PROGRESS_AFTER` seconds shows the time
    so far.  ``chunk_rows`` (``%drum_score --chunk-rows N``) scores a DataFrame, or a CSV file the model
    reads into one, N rows a call behind a progress bar that appears after a second.  Ctrl-C leaves as
    one short error: nothing is returned.
    """
    import pandas as pd  # not at %load_ext

    if chunk_rows is not None and _plain_csv(model, data):
        data = model.read(data)  # read once here, then scored in chunks like a DataFrame
    n = len(data) if isinstance(data, pd.DataFrame) else 0
    if chunk_rows is None or n <= chunk_rows or model.target_type == TargetType.TRANSFORM:
        what = f"{desc}: {n:,} rows in one call" if n else f"{desc}: one call"
        with progress.elapsed(what, delay=PROGRESS_AFTER):
            return _interruptible(lambda: model.predict(data), 0, n, single=True), 1
    parts, done = [], 0
    bar = progress.bar(total=n, unit="rows", desc=desc, leave=False, delay=PROGRESS_AFTER)
    try:
        while done < n:
            chunk = data.iloc[done:done + chunk_rows].reset_index(drop=True)
            parts.append(_interruptible(lambda: model.predict(chunk), done, n))
            done += len(chunk)
            bar.update(len(chunk))
    finally:
        bar.close()
    return pd.concat(parts, ignore_index=True), len(parts)


def _plain_csv(model: Any, data: Any) -> bool:
    """A CSV file the model reads into the DataFrame its hooks get (no read_input_data hook, no R reader)."""
    return (isinstance(data, str) and data.lower().endswith(".csv") and model.target_type != TargetType.TRANSFORM
            and "read_input_data" not in model.hooks and getattr(model.predictor, "read_bytes", None) is None)


def _interruptible(call: Any, done: int, total: int, *, single: bool = False) -> Any:
    """``call()``; Ctrl-C becomes one line saying how far it got and that nothing was stored."""
    try:
        return call()
    except KeyboardInterrupt:
        where = f" after {done:,} of {total:,} rows" if total and not single else ""
        raise errors.error(KeyboardInterrupt, f"scoring interrupted{where}; nothing was stored",
                           "run the cell again to score all rows") from None
