"""``drumnb``: DRUM's verbs and flags over the core.  Parsing and rendering only.

Exit codes: 0 success, 1 a user error (one message and a hint on stderr; the
traceback only with ``--verbose`` / ``--show-stacktrace``), 2 bad usage.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Any, Callable, Sequence

from . import flags
from ._version import __version__
from .core.errors import DrumnbError, InputError, UsageError
from .core.targets import TargetType

# The model runtime, the codecs, monitoring and the Dask engine are imported inside the commands that use
# them: they load pandas (and sqlite3, dask), which `drumnb --help` and the server's master never need.

EPILOG = flags.EPILOG


def _common_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output and logging")
    g.add_argument("--verbose", action="store_true", help="more output: progress bar, notes, tracebacks")
    g.add_argument("--logging-level", default=None, choices=["debug", "info", "warning", "error", "critical"],
                   type=str.lower, help="log level (default: warning)")
    g.add_argument("--show-stacktrace", action="store_true", help="show the Python traceback of errors")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drumnb", description="Run DataRobot DRUM custom model folders: score, serve, validate.",
        epilog="Run 'drumnb COMMAND --help' for the flags of a command.")
    parser.add_argument("--version", action="version", version=f"drumnb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    score = sub.add_parser("score", help="score a file with a model folder, write predictions as CSV",
                           description="Score --input with the model in --code-dir; CSV to --output or stdout.",
                           epilog=EPILOG)
    flags.add_model_flags(score)
    io = score.add_argument_group("data")
    io.add_argument("--input", required=True, help="data file: .csv, .mtx (with --sparse-column-file), "
                    ".arrow/.feather, .parquet")
    io.add_argument("--output", help="where to write predictions (default: stdout); .csv, .arrow, .parquet")
    io.add_argument("--sparse-column-file", help="column names of a .mtx input, one a line")
    io.add_argument("--input-format", choices=["csv", "mtx", "arrow", "parquet"],
                    help="override the format guessed from the file extension")
    io.add_argument("--content-type", help='unstructured: the input\'s content type, e.g. "text/plain; charset=latin1"')
    io.add_argument("--query", help='unstructured: query parameters for the hook, e.g. "a=1&b=2"')
    dist = score.add_argument_group("distributed (Dask)")
    dist.add_argument("--engine", choices=["local", "dask"], default="local",
                      help="dask: score a glob of files partition by partition on a Dask cluster "
                      "(needs --output: a .csv path is one file, anything else a Parquet folder)")
    dist.add_argument("--scheduler", help="address of a running Dask scheduler (default: a local cluster)")
    dist.add_argument("--workers", type=int, help="worker processes of the local Dask cluster")
    dist.add_argument("--keep-columns", nargs="+", help="input columns (e.g. an id) copied to the output")
    _common_flags(score)
    score.set_defaults(handler=cmd_score)
    monitor = sub.add_parser("monitor", help="read the local monitoring store",
                             description="Summaries of what --monitor / --monitor-embedded recorded.")
    monitor.add_argument("action", choices=["summary"], help="summary: counts, latency percentiles and "
                         "prediction distribution per day")
    monitor.add_argument("path", help="the SQLite store (see --monitor-db)")
    _common_flags(monitor)
    monitor.set_defaults(handler=cmd_monitor)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, model_flags=flags.add_model_flags, common_flags=_common_flags)
    return parser


#: Front-end modules that add verbs: each has ``register(subparsers, model_flags=, common_flags=)``
#: and must import only the standard library at module level (start-up time matters).
COMMAND_MODULES: tuple[str, ...] = ("drumnb.server.commands", "drumnb.tools.commands")


# --- commands -----------------------------------------------------------------------------------

def _load(args: argparse.Namespace) -> Any:
    from .model import load_model  # pandas: see the note at the top

    return load_model(**flags.load_kwargs(args))


def _write(data: bytes, output: str | None) -> None:
    if output:
        with open(output, "wb") as fh:
            fh.write(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def cmd_monitor(args: argparse.Namespace) -> int:
    from . import monitoring  # sqlite3 and pandas: see the note at the top

    table = monitoring.summary(args.path)
    if table.empty:
        print(f"{args.path}: no records yet")
    else:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0


def _progress(args: argparse.Namespace) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """A tqdm bar on stderr when it is a terminal or --verbose; (update, close)."""
    if not (args.verbose or sys.stderr.isatty()):
        return None, lambda: None
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            if total < 50_000 and not args.verbose:
                return
            from tqdm import tqdm

            state["bar"] = tqdm(total=total, unit="rows", unit_scale=True, desc="scoring", file=sys.stderr,
                                leave=False)
        bar = state["bar"]
        bar.update(done - bar.n)

    def close() -> None:
        if "bar" in state:
            state["bar"].close()

    return update, close


def cmd_score(args: argparse.Namespace) -> int:
    if args.engine == "dask":
        from . import dask as drumnb_dask  # dask's start-up only for --engine dask

        return drumnb_dask.cli_score(args)
    from .core import codecs  # pandas: see the note at the top

    columns = None
    if args.sparse_column_file:
        columns = codecs.read_sparse_column_file(args.sparse_column_file)
    model = _load(args)
    if model.target_type == TargetType.UNSTRUCTURED:
        if not os.path.isfile(args.input):
            raise InputError(f"input file not found: {args.input}", hint="check the path passed as --input")
        with open(args.input, "rb") as fh:
            body = fh.read()
        result = model.predict_unstructured(body, content_type=args.content_type, query=args.query, batch=True)
        if result.returned is None or (isinstance(result.returned, tuple) and result.returned[0] is None):
            print("drumnb: score_unstructured returned None: the output is empty (DRUM 1.18.1 writes a "
                  "placeholder sentence instead)", file=sys.stderr)
        _write(result.body, args.output)  # str: encoded in its charset; bytes: as they are
        return 0
    if args.keep_columns or args.scheduler or args.workers:
        raise UsageError("--keep-columns, --scheduler and --workers go with --engine dask",
                                 hint="add --engine dask (and --output DIR), or drop them")
    if args.content_type or args.query:
        raise UsageError("--content-type and --query are for unstructured models",
                                 hint="add --target-type unstructured, or drop them")
    update, close = _progress(args)
    try:
        result = model.predict(args.input, format=args.input_format, sparse_column_names=columns,
                               progress=update)
    finally:
        close()
    out_format = "csv"
    if args.output:
        ext = os.path.splitext(args.output)[1].lower()
        out_format = {".arrow": "arrow", ".feather": "arrow", ".parquet": "parquet", ".mtx": "mtx"}.get(ext, "csv")
    _write(codecs.write_frame(result, out_format), args.output)
    return 0


# --- entry points -------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (never calls sys.exit)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    level = (args.logging_level or ("info" if args.verbose else "warning")).upper()
    logging.basicConfig(level=getattr(logging, level), format="drumnb: %(message)s", stream=sys.stderr)
    logging.captureWarnings(True)
    if getattr(args, "docker", None):
        print(f"drumnb: --docker {args.docker}: drumnb runs the model in this process, not in a container.\n"
              "hint: run without --docker, or write a deployable image folder with 'drumnb env DIR' "
              "and build it with docker where a Docker engine runs.", file=sys.stderr)
        return 1
    try:
        return args.handler(args)
    except DrumnbError as exc:
        if args.verbose or args.show_stacktrace:
            import traceback

            traceback.print_exc()
        print(f"drumnb: error: {exc.render()}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    except KeyboardInterrupt:
        print("drumnb: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - a bug of drumnb's own: still one message, exit 1
        if args.verbose or args.show_stacktrace:
            raise
        print(f"drumnb: internal error: {type(exc).__name__}: {exc}\n"
              "hint: run again with --show-stacktrace and report the traceback", file=sys.stderr)
        return 1


def run() -> None:  # console_scripts entry point
    sys.exit(main())


if __name__ == "__main__":
    run()
