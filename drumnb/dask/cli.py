"""``drumnb score --engine dask``: the CLI's flags checked, a cluster chosen, the job run and written."""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from typing import Any, Iterator, Mapping, Sequence

from .. import flags
from ..core.errors import ConfigurationError, UnsupportedError
from .cluster import connect, local_cluster
from .inputs import input_files, read
from .output import check_output, write
from .scoring import passthrough_columns, score


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
    passthrough_columns(data, args.keep_columns)
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
