"""CLI verbs ``drumnb server`` and ``drumnb env``.

Only the standard library is imported here (CLI start-up time matters);
Flask, gunicorn and the model load inside the handlers.
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from ..tools.commands import RegistryChoices
from .options import (DEFAULT_ADDRESS, DEFAULT_MAX_COLUMNS, DEFAULT_MAX_REQUEST_SIZE, RUNTIME_SETTINGS, ServerOptions,
                      env_flag, normalize_prefix, parse_address, parse_setting, parse_size, runtime_setting)

SERVER_DESCRIPTION = """\
Serve --code-dir over HTTP with DRUM's routes.

Concurrency: a gunicorn master holds the listening socket and runs --max-workers
worker processes (default 1), each with its own copy of the model; it replaces a
worker that dies, stops answering, outlives --request-timeout or reaches
--max-requests, and connections wait in its backlog meanwhile (never refused).
Each worker serves HTTP with granian's compiled server: idle connections cost
nothing, and up to --threads requests run at once.  Which model calls overlap:
a model with a per-request hook (read_input_data, transform, score,
post_process, score_unstructured, chat) or a predictor not known to be
thread-safe runs its calls one at a time per worker (more workers: more calls
at once); built-in scikit-learn, ONNX and TorchScript models without those hooks
run them at once.  /ping/, /health/, /info/, /stats/ and /metrics never wait for
the model.  A model call past --request-timeout answers 504 and its worker is
replaced."""

SERVER_EPILOG = ("Environment twins: ADDRESS, URL_PREFIX, MAX_WORKERS, WITH_ERROR_SERVER, TARGET_TYPE, "
                 "POSITIVE_CLASS_LABEL, NEGATIVE_CLASS_LABEL, CLASS_LABELS, and DRUM's serving knobs "
                 + ", ".join(f"{x.env} ({x.flag})" for x in RUNTIME_SETTINGS)
                 + " (also as MLOPS_RUNTIME_PARAM_<NAME> runtime parameters).  Routes: /, /ping/, /health/, "
                 "/info/, /stats/, /capabilities/, /predict/, /predictions/, /transform/, /predictUnstructured/, "
                 "/openapi.json, /metrics (all under URL_PREFIX).")


COUNTS = ("max_requests", "max_requests_jitter", "worker_connections", "backlog")


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _workers(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of workers >= 1, got {text!r}")
    return int(text)


def _count(text: str) -> int:
    if not text.strip().replace("_", "").isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def _keep(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected a number of requests >= 0, got {text!r}")
    return int(text)


def register(subparsers: Any, model_flags: Callable[[argparse.ArgumentParser], None],
             common_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``server`` and ``env`` to the CLI."""
    server = subparsers.add_parser(
        "server", help="serve a model folder over HTTP with DRUM's routes",
        description=SERVER_DESCRIPTION, epilog=SERVER_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    model_flags(server)
    g = server.add_argument_group("server")
    g.add_argument("--address", default=os.environ.get("ADDRESS") or DEFAULT_ADDRESS,
                   help=f"HOST:PORT to listen on (default: ADDRESS, else {DEFAULT_ADDRESS})")
    g.add_argument("--url-prefix", default=None, help="serve every route under this path (default: URL_PREFIX)")
    g.add_argument("--with-error-server", action="store_true", default=env_flag("WITH_ERROR_SERVER"),
                   help="if the model fails to load, keep serving and answer 513 with the error "
                        "(default: WITH_ERROR_SERVER)")
    g.add_argument("--max-workers", type=_workers, default=None,
                   help="worker processes, each with its own copy of the model (default: MAX_WORKERS, else 1)")
    g.add_argument("--production", action="store_true",
                   help="accepted for DRUM scripts: drumnb always serves with a gunicorn master")
    g.add_argument("--max-request-size", type=_size, default=DEFAULT_MAX_REQUEST_SIZE,
                   help="largest request body accepted, e.g. 50MB, 1GiB (larger: 413; default: 256MiB)")
    g.add_argument("--max-columns", type=_count, default=DEFAULT_MAX_COLUMNS,
                   help="most columns a payload may have; more: 413 before parsing (default: 100,000)")
    g.add_argument("--max-cells", type=_count, default=None,
                   help="most rows x columns a payload may declare (Matrix Market, Parquet, Arrow; for sparse "
                        "payloads its rows and stored entries); more: 413 before parsing (default: the "
                        "--max-request-size in bytes)")
    g.add_argument("--reload", action="store_true",
                   help="watch --code-dir and reload on edits: a changed custom.py swaps in its hooks without "
                        "loading the artifact again (which happens only when load_model/init or an artifact "
                        "changed); each worker reloads itself; keeps the last requests for replay")
    g.add_argument("--keep-requests", type=_keep, default=None, metavar="N",
                   help="keep the last N prediction requests (inputs truncated) at URL_PREFIX/_drumnb/requests/, "
                        "where they can be replayed (default: 50 with --reload, else 0: inputs are not kept)")
    g.add_argument("--threads", type=_workers, default=4,
                   help="requests each worker runs at once (default: 4; calls into a model with hooks still run "
                        "one at a time)")
    for setting in RUNTIME_SETTINGS:
        metavar = "CLASS" if setting.kind is str else "N" if setting.field in COUNTS else "SECONDS"
        g.add_argument(setting.flag, dest=setting.field, default=None, metavar=metavar,
                       help=f"{setting.help} (env: {setting.env})")
    common_flags(server)
    server.set_defaults(handler=cmd_server)

    env = subparsers.add_parser(
        "env", help="write a drop-in environment (Dockerfile, requirements.txt, start_server.sh)",
        description="Write a DataRobot-style drop-in environment folder that serves /opt/code with "
                    "'drumnb server' on port 8080 (URL_PREFIX honoured, error server on).")
    env.add_argument("dir", help="folder to write (created; existing files are replaced only with --force)")
    env.add_argument("--onnx", action="store_true",
                     help="the artifact-only ONNX environment (numpy + onnxruntime, no other framework)")
    env.add_argument("--framework", action="append", choices=RegistryChoices("env_frameworks"),
                     help="frameworks to install (repeatable; default: sklearn)")
    env.add_argument("--tar", nargs="?", const=True, default=None, metavar="PATH",
                     help="also write the environment tarball (default path: DIR.tar.gz)")
    env.add_argument("--force", action="store_true", help="replace files that exist")
    common_flags(env)
    env.set_defaults(handler=cmd_env)


def options_from_args(args: argparse.Namespace) -> ServerOptions:
    """The CLI's flags (and their environment twins) as :class:`ServerOptions`."""
    from ..flags import load_kwargs as model_kwargs
    from ..core.errors import ConfigurationError

    try:
        host, port = parse_address(args.address)
    except ValueError as exc:
        raise ConfigurationError(str(exc), hint="pass --address HOST:PORT, e.g. --address 127.0.0.1:8080") from None
    runtime = {}
    for setting in RUNTIME_SETTINGS:  # the flag, else DRUM's variable (plain or runtime parameter), else default
        try:
            given = getattr(args, setting.field, None)
            runtime[setting.field] = (parse_setting(setting, given, setting.flag) if given is not None
                                      else runtime_setting(setting))
        except ValueError as exc:
            raise ConfigurationError(str(exc), hint=f"see drumnb server --help for {setting.flag}") from None
    workers = args.max_workers
    if workers is None and os.environ.get("MAX_WORKERS", "").strip():
        try:
            workers = _workers(os.environ["MAX_WORKERS"])
        except argparse.ArgumentTypeError as exc:
            raise ConfigurationError(f"MAX_WORKERS: {exc}") from None
    if workers is None and args.production:
        workers = 1
    url_prefix = args.url_prefix if args.url_prefix is not None else os.environ.get("URL_PREFIX", "")
    load_kwargs = model_kwargs(args)  # every model flag, as `score` reads them (labels, monitoring, ...)
    level = args.logging_level or ("info" if args.verbose else "warning")
    return ServerOptions(
        code_dir=load_kwargs.pop("code_dir"), target_type=load_kwargs.pop("target_type"), load_kwargs=load_kwargs,
        host=host, port=port, url_prefix=normalize_prefix(url_prefix), with_error_server=args.with_error_server,
        max_request_size=args.max_request_size, max_columns=args.max_columns, max_cells=args.max_cells,
        workers=workers, threads=args.threads, logging_level=level, reload=args.reload,
        keep_requests=args.keep_requests, **runtime)


def cmd_server(args: argparse.Namespace) -> int:
    """``drumnb server``: serve until SIGTERM / Ctrl-C."""
    from .lifecycle import startup_begins
    from .options import check_address

    startup_begins()  # until the app is built (in each worker)
    options = options_from_args(args)
    check_address(options.host, options.port)  # before the model loads: a taken port fails at once
    if options.worker_class == "werkzeug":
        if (options.workers or 1) > 1:
            from ..core.errors import UsageError

            raise UsageError("--worker-class werkzeug serves from this one process: it cannot run "
                             f"{options.workers} workers", hint="drop --max-workers, or choose --worker-class granian")
        from . import runner

        return runner.serve_forever(options)
    from . import gunicorn

    return gunicorn.run(options)


def cmd_env(args: argparse.Namespace) -> int:
    """``drumnb env DIR``: write the environment folder (and tarball)."""
    import sys

    from ..tools.envtemplate import write_environment

    result = write_environment(args.dir, onnx=args.onnx, frameworks=args.framework, tar=args.tar,
                               force=args.force)
    for path in result.files:
        print(path)
    if result.tarball:
        print(result.tarball)
    print(f"drumnb: wrote a drop-in environment to {result.folder}"
          + (f" and {result.tarball}" if result.tarball else ""), file=sys.stderr)
    return 0
