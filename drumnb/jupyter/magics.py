"""The magics: ``%%drum_hooks``, ``%%drum_score``, ``%drum_serve``, ``%drum_validate``, ``%drum_perf``, ``%drum_export``.

Thin, as in jupysql: each magic parses its line, hands off to the workspace,
the core or the launcher, and renders the answer.  Every failure is one short
message in the cell (:mod:`drumnb.jupyter.errors`); ``--help`` on any magic
prints its flags.
"""
from __future__ import annotations

import argparse
import ast
import shlex
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_cell_magic, line_magic, magics_class

from .. import flags, supervisor
from ..core.targets import TargetType
from . import errors, serving
from .overlay import Overlay
from .scoring import resolve_data, score, score_on_dask
from .workspace import HOOK_FILE, WORKSPACE, display_path

#: The target types the magics and widgets offer (``-t``): all of :class:`TargetType`.
TARGET_TYPES = TargetType.values()


class _Done(Exception):
    """--help was printed: nothing more to do."""


class Parser(argparse.ArgumentParser):
    """argparse that reports errors as a short cell message instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise errors.usage(f"{self.prog}: {message}", f"{self.prog} --help lists the flags")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            print(message)
        raise _Done()

    def parse(self, line: str) -> argparse.Namespace:
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            raise errors.usage(f"{self.prog}: cannot split the line: {exc}", "close the quotes") from None
        return self.parse_args(argv)


def _model_flags(p: argparse.ArgumentParser, *, name_help: str) -> None:
    p.add_argument("name", nargs="?", help=name_help)
    flags.add_model_flags(p, notebook=True)


def _load_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The labels, files and monitoring of the model flags (the magic resolves the folder and passes -t)."""
    kwargs = flags.load_kwargs(args, drop_none=True)
    kwargs.pop("code_dir", None)
    kwargs.pop("target_type", None)
    return kwargs


def hooks_parser() -> Parser:
    p = Parser(prog="%%drum_hooks", add_help=True,
               description="Write the cell as the model's custom.py (checked first), then reload the model "
                           "everywhere it is used: this kernel's cached models and its servers.")
    p.add_argument("name", nargs="?", help="the model's name; its folder is drum_models/NAME/ unless --code-dir")
    p.add_argument("--code-dir", "-cd", dest="code_dir", help="write custom.py into this folder instead")
    p.add_argument("--force", action="store_true",
                   help="replace a custom.py that drumnb did not write (it is backed up first)")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing when all is well")
    return p


def score_parser(prog: str) -> Parser:
    p = Parser(prog=prog, add_help=True,
               description="Score data with a model through the core: a table, the timing and a plot. "
                           "A cell body is extra hook code for this call only.")
    _model_flags(p, name_help="a %%%%drum_hooks model name or a model folder")
    p.add_argument("--data", "-d", help="a variable (DataFrame, bytes, str), an expression, or a file path")
    p.add_argument("--output", "-o", dest="output", metavar="VAR", help="store the predictions in VAR")
    p.add_argument("--rows", type=int, default=10, help="rows of the table (default 10)")
    p.add_argument("--chunk-rows", type=int, metavar="N",
                   help="score N rows a call behind a progress bar (hooks then see N rows at a time; by default a "
                        "model with hooks gets all rows in one call, as drumnb score and DRUM give them)")
    p.add_argument("--no-plot", action="store_true", help="no plot")
    p.add_argument("--quiet", "-q", action="store_true", help="no table or plot (with -o: only its line)")
    p.add_argument("--content-type", help="unstructured: the request's content type, e.g. 'text/plain; charset=utf-8'")
    p.add_argument("--query", help="unstructured: query parameters, e.g. 'a=1&b=2'")
    g = p.add_argument_group("Dask engine (data past one process)")
    g.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="dask: score partitions on a Dask cluster (default: local, in this kernel)")
    g.add_argument("--scheduler", help="address of a running Dask scheduler (default: the notebook's Client, "
                                       "else a local cluster)")
    g.add_argument("--workers", type=int, help="start a local cluster of N worker processes on 127.0.0.1 "
                                               "(reused by later cells)")
    g.add_argument("--memory-limit", help="memory per worker of that local cluster, e.g. 300MB")
    g.add_argument("--keep-columns", nargs="+", metavar="COL", help="input columns kept beside the predictions")
    g.add_argument("--output-path", help="write the predictions there (a folder of Parquet files, or a .csv "
                                         "file) instead of collecting them in the kernel")
    return p


def _check_flags(p: argparse.ArgumentParser, p_args: argparse.Namespace, model_flags: bool = True) -> None:
    """Usage errors for flags that only go with another one."""
    dask_only = [f for f in ("scheduler", "workers", "memory_limit", "keep_columns", "output_path")
                 if getattr(p_args, f, None) is not None]
    if dask_only and getattr(p_args, "engine", "dask") != "dask":
        flag = "--" + dask_only[0].replace("_", "-")
        raise errors.usage(f"{p.prog}: {flag} goes with --engine dask", f"{p.prog} ... --engine dask {flag} ...")


def validate_parser() -> Parser:
    p = Parser(prog="%drum_validate", add_help=True,
               description="Run drumnb validation on a model: DRUM's null-value imputation check plus batch vs "
                           "single rows, row order, determinism, the output contract and schemas, unseen "
                           "categories.  Returns the report (a table; the smallest failing example each).")
    _model_flags(p, name_help="a %%%%drum_hooks model name or a model folder")
    p.add_argument("--data", "-d", help="a DataFrame variable, an expression, or a file path")
    p.add_argument("--checks", nargs="+", metavar="CHECK", help="run only these checks")
    p.add_argument("--rows", type=int, default=100, help="use the first N rows (default 100)")
    p.add_argument("--single-rows", type=int, default=20, help="rows scored one by one (default 20)")
    return p


def perf_parser() -> Parser:
    p = Parser(prog="%drum_perf", add_help=True,
               description="Performance test: serve the model (or use --url), send requests of 1 to 100,000 rows "
                           "and a large file, or (--concurrency 1,4,16) load it with that many client threads "
                           "per level; returns the report (tables) and shows the plots.")
    _model_flags(p, name_help="a %%%%drum_hooks model name or a model folder (not needed with --url)")
    p.add_argument("--data", "-d", help="rows to send (repeated to each size): a DataFrame variable or a file path")
    p.add_argument("--url", help="test the server already running at this URL (e.g. a %%drum_serve server)")
    p.add_argument("--sizes", help="rows per request, comma separated (default 1,10,100,1000,100000; "
                                   "none with --concurrency)")
    p.add_argument("--large-file-mb", type=float, default=None,
                   help="size of the large-file case (default 50, none with --concurrency; 0: none)")
    p.add_argument("--requests", type=int, default=10, help="requests per case (default 10)")
    p.add_argument("--case-budget", type=float, default=60.0, help="seconds per case at most (default 60)")
    p.add_argument("--concurrency", "-c", help="load test: client threads per level, comma separated, e.g. 1,4,16")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per concurrency level (default 10)")
    p.add_argument("--batch-rows", type=int, default=1, help="rows per load-test request (default 1)")
    p.add_argument("--max-requests", type=int, default=100_000, help="requests per level at most")
    p.add_argument("--compare", metavar="PATH", help="compare with a run saved by --json PATH")
    p.add_argument("--json", metavar="PATH", help="save the report as JSON there (to --compare a later run)")
    p.add_argument("--workers", type=int, help="serve with gunicorn and this many workers")
    p.add_argument("--no-plot", action="store_true", help="no plots")
    return p


def export_parser() -> Parser:
    p = Parser(prog="%drum_export", add_help=True,
               description="Write a DRUM model folder from what the notebook holds: the hooks of a %%drum_hooks "
                           "model (or this cell's code), an artifact object (--model VAR), labels; then validate "
                           "it and score it again in a fresh process.  Returns the report.")
    _model_flags(p, name_help="a %%%%drum_hooks model name or a model folder to start from (optional)")
    p.add_argument("--output", "-o", required=True, help="the folder to write (new or empty, or --force)")
    p.add_argument("--model", "-m", dest="artifact", metavar="VAR",
                   help="the artifact: a fitted model object in the notebook (saved in its framework's format)")
    p.add_argument("--data", "-d", help="a DataFrame (or path) to validate with and compare a fresh process on")
    p.add_argument("--tar", nargs="?", const=True, default=False, metavar="PATH",
                   help="also write custom_model.tar.gz (beside the folder, or at PATH)")
    p.add_argument("--name", dest="model_name", help="model name for model-metadata.yaml")
    p.add_argument("--requirement", action="append", default=[], metavar="REQ", help="an extra requirement")
    p.add_argument("--force", action="store_true", help="replace the output folder if it exists")
    p.add_argument("--no-validation", dest="validate", action="store_false", help="skip the checks")
    return p


def serve_parser() -> Parser:
    p = Parser(prog="%drum_serve", add_help=True,
               description="Serve a model in a child process that dies with the kernel; "
                           "--list, --stop, --logs and --restart manage this kernel's servers.")
    _model_flags(p, name_help="a %%%%drum_hooks model name or a model folder (or, with --stop/--logs/--restart, "
                              "a server name)")
    p.add_argument("--port", "-p", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--url-prefix", default="", help="serve every route under this path")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the model to load")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--list", "-l", action="store_true", help="every running server (all kernels)")
    g.add_argument("--stop", action="store_true", help="stop server NAME (or --all of this kernel's)")
    g.add_argument("--logs", action="store_true", help="print server NAME's log")
    g.add_argument("--restart", action="store_true", help="stop and start server NAME again")
    p.add_argument("--all", action="store_true", help="with --stop: every server of this kernel")
    p.add_argument("--lines", "-n", type=int, default=40, help="with --logs: the last N lines (0: all)")
    return p


def _display(obj: Any) -> None:
    from IPython.display import display

    display(obj)


@magics_class
class DrumMagics(Magics):
    """drumnb's magics (``%load_ext drumnb``)."""

    def __init__(self, shell: Any = None, **kwargs: Any):
        super().__init__(shell, **kwargs)
        errors.install(shell)  # drumnb's errors raised in cells (e.g. by srv.client) also show as one line
        self.cell = ""  # the running cell's source (pre_run_cell), to know whether a result is shown
        if shell is not None:
            shell.events.register("pre_run_cell", self._pre_run_cell)

    def _pre_run_cell(self, info: Any) -> None:
        self.cell = getattr(info, "raw_cell", "") or ""

    # --- %%drum_hooks ---------------------------------------------------------------------------
    @cell_magic
    def drum_hooks(self, line: str, cell: str) -> None:
        """Write this cell as a model's custom.py, check it, and reload the model everywhere.

        %%drum_hooks NAME [--code-dir DIR] [--force] [--quiet]

        NAME's folder is drum_models/NAME/ under the notebook's folder unless
        --code-dir names one.  Hook names and signatures are checked first (a
        near-miss such as `scroe` is reported); a custom.py that drumnb did
        not write is left alone unless --force (which backs it up).
        """
        try:
            args = hooks_parser().parse(line)
        except _Done:
            return None
        with errors.boundary() as maps:
            written = WORKSPACE.write_hooks(args.name, cell, code_dir=args.code_dir, force=args.force)
            maps.append(WORKSPACE.cell_map(written.name, written.code_dir))
            from ..core.hooks import load_python_hooks

            hooks = load_python_hooks(written.code_dir)  # runs the file: import errors name the cell line
            names = hooks.names
            lines = [f"{display_path(written.path)}: " + (", ".join(names) if names else "no hooks")
                     + (f"  (new folder {display_path(written.code_dir)}/)" if written.created else "")]
            if written.backup:
                lines.append(f"the previous {HOOK_FILE} is saved as {display_path(written.backup)}")
            lines += [f"warning: {w}" for w in written.report.warnings]
            reloaded = [m for m in WORKSPACE.cached_models(written.code_dir)]
            problems = WORKSPACE.reload(written.code_dir)
            if reloaded and not problems:
                note = WORKSPACE.reload_note(written.code_dir)  # "hooks reloaded in 4 ms"
                lines.append((f"reloaded the model in this kernel ({len(reloaded)} cached)"
                              if len(reloaded) > 1 else "reloaded the model in this kernel")
                             + (f": {note}" if note else ""))
            lines += [f"the model did not reload: {p}" for p in problems]
            from . import launcher

            for server_name, url, answer in launcher.reload_folder(written.code_dir):
                if answer.get("ok"):
                    how = answer.get("message")
                    lines.append(f"reloaded server {server_name!r} ({url})"
                                 + (f": {how}" if how and how.startswith(("hooks", "model")) else ""))
                else:
                    lines.append(f"server {server_name!r} ({url}) kept its previous hooks: "
                                 + serving.reload_message(answer, maps))
            if args.quiet:
                lines = [x for x in lines if x.startswith(("warning", "the model did not", "server"))]
            if lines:
                print("\n".join(lines))
        return None

    # --- %%drum_score / %drum_score -------------------------------------------------------------
    @line_cell_magic
    def drum_score(self, line: str, cell: str | None = None) -> None:
        """Score data with a model (through the core, exactly as the CLI and the server do).

        %%drum_score NAME|--code-dir DIR --data VAR|PATH [-t TYPE] [labels] [-o VAR]
        [extra hook code for this call only]

        Shows the predictions, the timing and a plot of their distribution;
        -o VAR stores the predictions DataFrame.  Unstructured models take
        --content-type and --query and show what the hook received.
        """
        prog = "%%drum_score" if cell is not None else "%drum_score"
        try:
            args = score_parser(prog).parse(line)
            if args.chunk_rows is not None and args.chunk_rows < 1:
                raise errors.usage(f"--chunk-rows takes a positive whole number, not {args.chunk_rows}",
                                   "e.g. --chunk-rows 1000")
        except _Done:
            return None
        with errors.boundary() as maps:
            name, folder = WORKSPACE.resolve(args.name, args.code_dir)
            if args.data is None:
                raise errors.usage(f"{prog}: name the data: --data VAR (a DataFrame in the notebook) or --data PATH",
                                   f"e.g. {prog} {name} --data df")
            _check_flags(score_parser(prog), args)
            data = resolve_data(args.data, self.shell.user_ns if self.shell else {})
            kwargs = _load_kwargs(args)
            if args.engine == "dask":  # before any model loads or cluster starts
                flags.refuse_monitoring(args, kwargs.get("monitor"))
            maps.extend(WORKSPACE.cell_maps_for(folder))
            overlay = None
            try:
                if cell is not None and cell.strip():
                    overlay = Overlay(folder, name, cell)
                    maps.insert(0, overlay.cell_map)
                    maps.extend(overlay.original_maps)
                    model = overlay.load(args.target_type, **kwargs)
                else:
                    model = WORKSPACE.model(folder, args.target_type, **kwargs)
                    note = WORKSPACE.reload_note(folder)  # custom.py changed since the last call
                    if note and not args.quiet:
                        print(f"{name}: {note}")
                if args.engine == "dask":
                    result = score_on_dask(model, overlay.tmp if overlay else folder, data, args, name=name,
                                           load_kwargs=kwargs)
                else:
                    result = score(model, data, name=name, content_type=args.content_type, query=args.query,
                                   max_rows=args.rows, plot=not args.no_plot, render=not args.quiet,
                                   chunk_rows=args.chunk_rows)
            finally:
                if overlay is not None:
                    overlay.close()
            if args.output:
                self.shell.user_ns[args.output] = result.value
                print(f"predictions stored in {args.output}" + _size(result.value))
            if overlay is not None and overlay.warnings:
                print("\n".join(f"warning: {w}" for w in overlay.warnings))
            if not args.quiet and result.report is not None:
                _display(result.report)
        return None

    # --- %drum_validate / %drum_perf / %drum_export ----------------------------------------------
    @line_magic
    def drum_validate(self, line: str) -> Any:
        """Validate a model before deploying it; returns the report (PASSED / FAILED per check).

        %drum_validate NAME|--code-dir DIR --data VAR|PATH [-t TYPE] [labels] [--checks C ...] [--rows N]

        The checks: DRUM's null-value imputation, plus batch vs single rows, row
        order, determinism, the output contract and schemas, unseen categories;
        each failure comes with the smallest example that shows it.
        """
        try:
            args = validate_parser().parse(line)
        except _Done:
            return None
        from ..tools.validation import validate

        with errors.boundary() as maps:
            name, folder = WORKSPACE.resolve(args.name, args.code_dir)
            data = self._data(args.data, "%drum_validate", name)
            maps.extend(WORKSPACE.cell_maps_for(folder))
            model = WORKSPACE.model(folder, args.target_type, **_load_kwargs(args))
            return validate(model, data, checks=args.checks, rows=args.rows, single_rows=args.single_rows)

    @line_magic
    def drum_perf(self, line: str) -> Any:
        """Performance-test a model behind a real server; returns the report and plots the latencies.

        %drum_perf NAME|--code-dir DIR --data VAR|PATH [--sizes 1,10,100] [--large-file-mb MB] [--workers N]
        %drum_perf NAME --data VAR --concurrency 1,4,16 [--duration S] [--batch-rows N] [--compare run.json]
        %drum_perf --url URL --data VAR|PATH ...      (a running server, e.g. one from %drum_serve)

        Ctrl-C (the kernel's interrupt) stops the client threads and the server it started, in one line.
        """
        try:
            args = perf_parser().parse(line)
        except _Done:
            return None
        import json

        from ..tools.perf import PerfInterrupted, perf_test
        from .widgets.perf import show

        try:
            with errors.boundary():
                if args.url and (args.name or args.code_dir):
                    raise errors.usage("%drum_perf: --url tests a running server; do not name a model too",
                                       "%drum_perf --url URL --data df, or %drum_perf NAME --data df")
                sizes = _int_list(args.sizes, "--sizes") if args.sizes else None
                levels = _int_list(args.concurrency, "--concurrency") if args.concurrency else None
                folder = None
                if not args.url:  # the server loads the folder; no second copy of the artifact in the kernel
                    _, folder = WORKSPACE.resolve(args.name, args.code_dir)
                data = self._data(args.data, "%drum_perf", args.name or "NAME")
                report = perf_test(folder, data, args.target_type, url=args.url, sizes=sizes,
                                   large_file_mb=args.large_file_mb, requests=args.requests,
                                   case_budget=args.case_budget, workers=args.workers, concurrency=levels,
                                   duration=args.duration, batch_rows=args.batch_rows,
                                   max_requests=args.max_requests, compare=args.compare, progress=True,
                                   **({} if args.url else _load_kwargs(args)))
                if args.json:
                    with open(args.json, "w", encoding="utf-8") as fh:
                        json.dump(report.to_dict(), fh, indent=1, default=str)
                if not args.no_plot:
                    show(report)
                return report
        except PerfInterrupted as exc:
            print(f"%drum_perf: {exc}")  # one line, no traceback
            return None
        except KeyboardInterrupt:  # before the test started (reading the data) or while plotting
            print("%drum_perf: interrupted")
            return None

    @line_cell_magic
    def drum_export(self, line: str, cell: str | None = None) -> Any:
        """Write a deployable DRUM folder from the notebook; returns the report.

        %drum_export [NAME|--code-dir DIR] --output OUT [--model VAR] [--data VAR] [-t TYPE] [labels] [--tar]
        %%drum_export --output OUT --model VAR ...   (the cell: the hooks to export)

        The folder gets custom.py, the artifact (saved by its framework), a
        model-metadata.yaml and a requirements.txt pinned to this kernel's
        versions; it is validated and scored again in a fresh process.
        drumnb's own state (monitoring stores) never goes in.
        """
        prog = "%%drum_export" if cell is not None else "%drum_export"
        try:
            args = export_parser().parse(line)
        except _Done:
            return None
        from ..tools.export import export_model

        with errors.boundary():
            ns = self.shell.user_ns if self.shell else {}
            code_dir = None
            if args.name or args.code_dir:
                _, code_dir = WORKSPACE.resolve(args.name, args.code_dir)
            hooks = cell if cell is not None and cell.strip() else None
            artifact = None
            if args.artifact:
                if args.artifact not in ns:
                    raise errors.error(NameError, f"--model {args.artifact}: no such variable in the notebook",
                                       "fit the model first, e.g. clf = LinearRegression().fit(X, y)")
                artifact = ns[args.artifact]
            if code_dir is None and hooks is None and artifact is None:
                raise errors.usage(f"{prog}: nothing to export",
                                   "name a %%drum_hooks model, give --model VAR, or write the hooks in the cell")
            data = resolve_data(args.data, ns) if args.data else None
            label_kwargs = {k: v for k, v in _load_kwargs(args).items() if k != "monitor"}
            return export_model(args.output, code_dir=code_dir, model=artifact, hooks=hooks,
                                target_type=args.target_type, name=args.model_name, data=data, tar=args.tar,
                                requirements=args.requirement, force=args.force, validate=args.validate,
                                progress=print, **label_kwargs)

    def _data(self, spec: str | None, prog: str, name: str | None) -> Any:
        if spec is None:
            raise errors.usage(f"{prog}: name the data: --data VAR (a DataFrame in the notebook) or --data PATH",
                               f"e.g. {prog} {name or 'NAME'} --data df")
        return resolve_data(spec, self.shell.user_ns if self.shell else {})

    # --- %drum_serve ----------------------------------------------------------------------------
    @line_magic
    def drum_serve(self, line: str) -> Any:
        """Serve a model over HTTP in a child process that dies with the kernel.

        %drum_serve NAME|--code-dir DIR [--port P] [-t TYPE] [labels]   -> a server handle
        %drum_serve --list | --stop NAME | --stop --all | --logs NAME [-n N] | --restart NAME

        The handle has .url, .pid, .status, .client (predict, predict_unstructured,
        chat, openai()), .logs(), .stop().  On JupyterHub / Binder the browser URL
        goes through jupyter-server-proxy (/user/.../proxy/PORT/).
        """
        try:
            args = serve_parser().parse(line)
        except _Done:
            return None
        from . import launcher

        with errors.boundary():
            if args.list:
                _display(serving.server_table())
                return None
            if args.stop:
                return serving.stop(args)
            if args.logs:
                server, entry = serving.find_server(args.name)
                path = server.log_path if server else entry.get("log")
                text = supervisor.tail(path, args.lines)
                print(text if text.strip() else f"(the log of {args.name!r} is empty)")
                return None
            if args.restart:
                server, _ = serving.find_server(args.name, own=True)
                return self._started(server.restart(timeout=args.timeout), line)
            if args.all:
                raise errors.usage("%drum_serve: --all goes with --stop", "%drum_serve --stop --all")
            name, folder = WORKSPACE.resolve(args.name, args.code_dir)
            server = launcher.start(name, folder, args.target_type, port=args.port, host=args.host,
                                    url_prefix=args.url_prefix, load_kwargs=_load_kwargs(args),
                                    timeout=args.timeout)
            if server.load_error:
                print(f"the model did not load; the server answers 513 with the error:\n{server.load_error}")
            return self._started(server, line)

    def _started(self, server: Any, line: str) -> Any:
        """The server handle; and its URL line unless the handle is the cell's shown result (which has it)."""
        if not _shown_as_result(self.shell, self.cell, "drum_serve", line):
            print(f"serving {server.name!r} at {server.browser_url} (pid {server.pid}); "
                  f"stop it with %drum_serve --stop {server.name}")
        return server


# --- helpers the magics share ------------------------------------------------------------------

def _size(value: Any) -> str:
    shape = getattr(value, "shape", None)
    return f" ({shape[0]:,} rows)" if shape else ""


def _shown_as_result(shell: Any, cell: str, magic: str, line: str) -> bool:
    """Whether ``cell`` ends with ``%magic line`` alone, so that IPython shows what the magic returns.

    ``srv = %drum_serve m`` (or the magic inside a loop or a function) shows nothing by itself.
    """
    try:
        body = ast.parse(shell.transform_cell(cell)).body
    except (SyntaxError, ValueError):
        return False
    last = body[-1] if body else None
    call = getattr(last, "value", None) if isinstance(last, ast.Expr) else None
    if not (isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "run_line_magic" and call.args):
        return False
    args = [a.value for a in call.args if isinstance(a, ast.Constant)]
    return args[:2] == [magic, line]


def _int_list(text: str, flag: str) -> list[int]:
    try:
        values = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise errors.usage(f"{flag} takes positive whole numbers separated by commas, not {text!r}",
                           f"e.g. {flag} 1,10,100")
    return values
