"""CLI verbs ``drumnb new model``, ``drumnb validation``, ``drumnb perf-test`` and ``drumnb export``.

Only the standard library is imported here (CLI start-up time matters); the
tools load inside the handlers.  Exit codes: 0 when everything passed, 1 when
a check failed (validation), a request failed (perf-test) or the export's
checks failed, and 1 with one message and a hint for the core's typed errors.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

VALIDATION_EPILOG = ("Checks: contract (output contract and typeSchema), null_imputation (DRUM's check), "
                     "determinism, batch_vs_single, row_order, unseen_categories.  Exit code 1 when any FAILED.")
PERF_EPILOG = ("Without --url, a server is started on 127.0.0.1 (a free port) for the test and stopped after it.  "
               "Each case repeats the input's rows to its size.  --concurrency 1,4,16 runs a load test instead "
               "(add --sizes to run the size cases too): per level, that many client threads send --batch-rows "
               "row requests for --duration seconds; p50/p90/p99, requests/s and rows/s per level.  Save a run "
               "with --json run.json, compare a later one with --compare run.json.  Exit code 1 when a request "
               "failed; 130 on Ctrl-C (the client threads and the server it started are stopped).")
EXPORT_EPILOG = ("Never copied: .drumnb/ state, monitoring stores, __pycache__, .ipynb_checkpoints, .git.  "
                 "Exit code 1 when validation or the fresh-process check failed.")


class RegistryChoices:
    """``choices=`` read from the predictor registry when argparse first checks a value or prints the choices.

    ``which``: a function of :mod:`drumnb.predictors` returning names (``template_languages``) or entries by
    name (``templates``, ``env_frameworks``); ``args`` are passed to it.  Lazy, so building the parser imports
    neither the registry nor its entry points.
    """

    def __init__(self, which: str, *args: Any):
        self.which, self.args = which, args

    def _names(self) -> list[str]:
        from .. import predictors

        return list(getattr(predictors, self.which)(*self.args))

    def __contains__(self, value: object) -> bool:
        return value in self._names()

    def __iter__(self) -> Any:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(x.replace("_", "")) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected row counts separated by commas, e.g. 1,10,100; got {text!r}") \
            from None
    if not sizes or any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"row counts must be >= 1, got {text!r}")
    return sizes


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def register(subparsers: Any, model_flags: Callable[[argparse.ArgumentParser], None],
             common_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``new``, ``validation``, ``perf-test`` and ``export`` to the CLI."""
    new = subparsers.add_parser(
        "new", help="write a template model folder (drumnb new model --language python|r|java|julia)",
        description="Write a model folder to start from: documented hooks, model-metadata.yaml, README, an "
                    "example input and a training script (run now, so a Python folder scores at once).")
    new.add_argument("what", choices=["model"], help="what to create (DRUM's 'new model')")
    new.add_argument("--code-dir", "-cd", dest="code_dir", required=True, help="folder to write")
    new.add_argument("--language", default="python", type=str.lower, choices=RegistryChoices("template_languages"),
                     help="language of the hooks (default: python)")
    new.add_argument("--framework", type=str.lower, choices=RegistryChoices("templates", "python"),
                     help="Python only: the framework of the example artifact (default: sklearn)")
    new.add_argument("--name", help="model name for model-metadata.yaml (default: the folder's name)")
    new.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    new.add_argument("--no-build", dest="build", action="store_false",
                     help="write the files only; do not train / compile the example artifact")
    common_flags(new)
    new.set_defaults(handler=cmd_new)

    val = subparsers.add_parser(
        "validation", help="check a model before deploying: null imputation, determinism, batch vs single ...",
        description="Run DRUM's null-value imputation check and more (determinism, single rows vs batch, row "
                    "order, unseen categories, output contract and typeSchema) on --input; print a PASSED / "
                    "FAILED table with the smallest failing example of each failure.",
        epilog=VALIDATION_EPILOG)
    model_flags(val)
    g = val.add_argument_group("validation")
    g.add_argument("--input", required=True, help="data to check with: .csv, .arrow/.feather, .parquet, .mtx")
    g.add_argument("--sparse-column-file", help="column names of a .mtx input, one a line")
    g.add_argument("--checks", nargs="+", metavar="CHECK",
                   help="run only these checks (contract always runs): contract null_imputation determinism "
                        "batch_vs_single row_order unseen_categories")
    g.add_argument("--rows", type=_positive_int, default=100, help="use the first N rows of the input (default 100)")
    g.add_argument("--single-rows", type=_positive_int, default=20,
                   help="score the first N rows one by one for batch_vs_single (default 20)")
    g.add_argument("--rtol", type=_non_negative, default=1e-5, help="relative tolerance comparing answers")
    g.add_argument("--atol", type=_non_negative, default=1e-8, help="absolute tolerance comparing answers")
    g.add_argument("--json", action="store_true", help="print the report as JSON")
    common_flags(val)
    val.set_defaults(handler=cmd_validation)

    perf = subparsers.add_parser(
        "perf-test", help="latency (min/avg/p50/p99/max) and memory of the model behind the prediction server",
        description="Start the prediction server for --code-dir (or use a running one with --url), send "
                    "1, 10, 100, 1,000 and 100,000-row requests and a ~50 MB file, and print a latency and "
                    "memory table.", epilog=PERF_EPILOG)
    model_flags(perf)
    for action in perf._actions:  # --url tests a running server: no folder needed then
        if action.dest == "code_dir":
            action.required = False
    g = perf.add_argument_group("performance test")
    g.add_argument("--input", required=True, help="rows to send (repeated to each size)")
    g.add_argument("--url", help="test the server already running at this URL (include its URL_PREFIX)")
    g.add_argument("--in-server", action="store_true",
                   help="also report the model's own time per request, read from the server's /stats/")
    g.add_argument("--sizes", type=_sizes, default=None,
                   help="rows per request (default 1,10,100,1000,100000; none with --concurrency)")
    g.add_argument("-s", "--samples", type=_positive_int, default=None,
                   help="DRUM's flag: one case of this many rows per request, instead of --sizes and the large file")
    g.add_argument("--large-file-mb", type=_non_negative, default=None,
                   help="size of the large-file case in MB (default 50, or none with --concurrency; 0 leaves it out)")
    g.add_argument("--requests", "-i", "--iterations", dest="requests", type=_positive_int, default=10,
                   help="requests per case (default 10; at most 5 above 1,000 rows and 3 above 10,000)")
    g.add_argument("--case-budget", type=_non_negative, default=60.0,
                   help="seconds after which a case sends no more requests (default 60)")
    g.add_argument("--timeout", type=_non_negative, default=600.0,
                   help="seconds after which no new case starts (default 600)")
    g.add_argument("--max-workers", type=_positive_int, default=None,
                   help="serve with gunicorn and this many workers (default: one threaded process)")
    g.add_argument("--concurrency", "-c", type=_sizes, default=None, metavar="LEVELS",
                   help="load test: client threads per level, comma separated, e.g. 1,4,16")
    g.add_argument("--duration", type=_positive_float, default=10.0,
                   help="seconds each concurrency level runs (default 10)")
    g.add_argument("--batch-rows", type=_positive_int, default=1, help="rows per load-test request (default 1)")
    g.add_argument("--max-requests", type=_positive_int, default=100_000,
                   help="requests per concurrency level at most (default 100,000)")
    g.add_argument("--compare", metavar="PATH", help="compare with a run saved by --json PATH (ratios per level)")
    g.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                   help="the report as JSON: on stdout (no progress bar, no table), or into PATH (the table "
                        "is printed too)")
    g.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                   help="no progress bar (it shows on stderr when that is a terminal, or with --verbose)")
    common_flags(perf)
    perf.set_defaults(handler=cmd_perf_test)

    exp = subparsers.add_parser(
        "export", help="write a clean, deployable copy of a model folder (and custom_model.tar.gz)",
        description="Copy --code-dir to --output without drumnb's state, complete model-metadata.yaml (target "
                    "type, labels), pin requirements.txt to the installed versions, validate it with --input, "
                    "and score it in a fresh process (the archive with --tar).", epilog=EXPORT_EPILOG)
    model_flags(exp)
    g = exp.add_argument_group("export")
    g.add_argument("--output", "-o", required=True, help="folder to write (must be new or empty, or --force)")
    g.add_argument("--tar", nargs="?", const=True, default=False, metavar="PATH",
                   help="also write the archive (default: custom_model.tar.gz beside the --output folder)")
    g.add_argument("--input", help="data to validate with and to compare a fresh process's predictions on")
    g.add_argument("--name", help="model name for model-metadata.yaml (when it has none)")
    g.add_argument("--requirement", action="append", default=[], metavar="REQ",
                   help="an extra requirements.txt line (repeatable), e.g. 'lightgbm==4.3.0'")
    g.add_argument("--force", action="store_true", help="replace the --output folder if it exists")
    g.add_argument("--no-validation", dest="validate", action="store_false", help="skip the validation checks")
    g.add_argument("--json", action="store_true", help="print the report as JSON")
    common_flags(exp)
    exp.set_defaults(handler=cmd_export)


def _print_json(obj: dict) -> None:
    print(json.dumps(obj, indent=1, default=str))


def _load_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    from ..flags import load_kwargs

    kwargs = load_kwargs(args)
    kwargs.pop("code_dir")
    return kwargs


def cmd_new(args: argparse.Namespace) -> int:
    from .templates import new_model

    if args.framework and args.language != "python":
        from ..core.errors import UsageError

        raise UsageError(f"--framework is for Python templates, not {args.language}",
                                 hint="drop --framework, or use --language python")
    print(f"drumnb: writing a {args.language} template to {args.code_dir}"
          + (" (training the example model)" if args.build and args.language == "python" else ""), file=sys.stderr)
    result = new_model(args.code_dir, args.language, args.framework, name=args.name, force=args.force,
                       build=args.build)
    print(result.to_text())
    return 0


def cmd_validation(args: argparse.Namespace) -> int:
    from ..core import codecs
    from .validation import validate

    kwargs = _load_kwargs(args)
    columns = codecs.read_sparse_column_file(args.sparse_column_file) if args.sparse_column_file else None
    report = validate(args.code_dir, args.input, checks=args.checks, rows=args.rows, single_rows=args.single_rows,
                      rtol=args.rtol, atol=args.atol, sparse_column_names=columns, **kwargs)
    if args.json:
        _print_json(report.to_dict())
    else:
        print(report.to_text())
    return 0 if report.passed else 1


def cmd_perf_test(args: argparse.Namespace) -> int:
    from ..core.errors import UsageError
    from .perf import PerfInterrupted, perf_test

    if not args.url and not args.code_dir:
        raise UsageError("perf-test needs --code-dir (a server is started for it) or --url (a running one)",
                                 hint="e.g. drumnb perf-test --code-dir my_model --input data.csv")
    kwargs = _load_kwargs(args)
    to_stdout = args.json == "-"
    progress = args.progress
    if progress is None:
        progress = False if to_stdout else (args.verbose or sys.stderr.isatty())
    try:
        report = perf_test(None if args.url else args.code_dir, args.input, url=args.url,
                           in_server=args.in_server, sizes=[args.samples] if args.samples else args.sizes,
                           large_file_mb=0.0 if args.samples else args.large_file_mb, requests=args.requests,
                           case_budget=args.case_budget, timeout=args.timeout, workers=args.max_workers,
                           concurrency=args.concurrency, duration=args.duration, batch_rows=args.batch_rows,
                           max_requests=args.max_requests, compare=args.compare, progress=progress, **kwargs)
    except PerfInterrupted as exc:
        print(f"drumnb: {exc}", file=sys.stderr)  # one line: what was stopped
        return 130
    if to_stdout:
        _print_json(report.to_dict())
    else:
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(report.to_dict(), fh, indent=1, default=str)
        print(report.to_text(colour=sys.stdout.isatty()))
        if args.json:
            print(f"\nsaved to {args.json} (compare a later run with --compare {args.json})")
    return 0 if report.ok else 1


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_model

    kwargs = _load_kwargs(args)
    kwargs.pop("monitor", None)
    quiet = args.json

    def say(message: str) -> None:
        if not quiet:
            print(f"drumnb: export: {message}", file=sys.stderr)

    report = export_model(args.output, code_dir=args.code_dir, data=args.input, tar=args.tar, name=args.name,
                          requirements=args.requirement, force=args.force, validate=args.validate, progress=say,
                          **kwargs)
    if args.json:
        _print_json(report.to_dict())
    else:
        print(report.to_text())
        if report.tarball:
            print(f"\nscore the archive with: drumnb score --code-dir {report.tarball} --input FILE")
    return 0 if report.ok else 1
