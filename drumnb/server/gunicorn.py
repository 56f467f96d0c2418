"""Serving: a gunicorn master and N pre-forked workers, each serving HTTP with granian's compiled server.

The calling process becomes the gunicorn master (the arbiter).  It holds the
listening socket (connections wait in its backlog while a worker starts or is
replaced: never refused), and never loads the model: each worker builds its
own app (and loads the model once) right after the fork, so hooks and
frameworks that dislike ``fork`` are safe.  The master replaces a worker that
dies, stops answering its heartbeat (``timeout``), outlives a request timeout
or reaches ``max_requests`` (+ jitter), and stops gracefully on SIGTERM
(requests in flight finish, within ``graceful_timeout``).  The workers' HTTP
server is granian's (:mod:`drumnb.server.workers`), or gunicorn's own threaded
/ one-request workers with ``--worker-class gthread|sync``.

Workers share a metrics folder (``PROMETHEUS_MULTIPROC_DIR``; a private
temporary one unless set): ``/metrics`` and ``/stats/`` add up every
worker's counts and timings, whichever worker answers.

A load failure without ``--with-error-server`` stops the server: the first
worker writes the error to that folder and exits with gunicorn's boot-error
code; the master then raises it here as the same ``DrumnbError``.
"""
from __future__ import annotations

import glob
import json
import logging
import os
import shutil
import sys
import tempfile
from typing import Any

from gunicorn.app.base import BaseApplication

from ..core.errors import DrumnbError, ModelLoadError
from . import leanimports, lifecycle
from .options import ServerOptions

log = logging.getLogger("drumnb.server")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LOAD_ERROR_FILE = "drumnb-load-error.json"
WORKER_BOOT_ERROR = 3


class DrumnbGunicorn(BaseApplication):
    """gunicorn, configured from :class:`ServerOptions` (no config files, no argv)."""

    def __init__(self, options: ServerOptions, metrics_dir: str):
        self.options = options
        self.metrics_dir = metrics_dir
        self.master_pid = os.getpid()
        super().__init__(prog="drumnb server")

    def load_config(self) -> None:
        opts = self.options
        worker_class = worker_class_path(opts.worker_class)
        timeout = opts.timeout
        if opts.worker_class == "sync" and opts.request_timeout:  # its heartbeat stops while it answers
            timeout = max(timeout, int(opts.request_timeout) + opts.graceful_timeout)
        settings = {
            "bind": [opts.address], "workers": opts.workers or 1, "worker_class": worker_class,
            "threads": opts.threads, "worker_connections": max(opts.worker_connections, opts.threads),
            "keepalive": opts.keep_alive, "backlog": opts.backlog, "max_requests": opts.max_requests,
            "max_requests_jitter": opts.max_requests_jitter, "timeout": timeout,
            "graceful_timeout": opts.graceful_timeout, "loglevel": opts.logging_level, "accesslog": None,
            "errorlog": "-", "proc_name": "drumnb", "preload_app": False, "control_socket_disable": True,
            "child_exit": self._child_exit, "when_ready": self._when_ready,
            "post_fork": lambda arbiter, worker: lifecycle.startup_begins(),
        }
        for key, value in settings.items():
            if key in self.cfg.settings:  # control_socket_disable exists in newer gunicorn only
                self.cfg.set(key, value)

    def load(self) -> Any:
        """In each worker: build the app over a freshly loaded model."""
        from .app import create_app

        leanimports.install()  # before the model's imports reach SciPy
        opts = self.options
        try:
            with leanimports.no_gc_passes():
                app = create_app(opts.loader(), server_name="gunicorn", multiprocess=True,
                                 process_root=self.master_pid, **opts.app_kwargs())
        except DrumnbError as exc:
            _write_load_error(self.metrics_dir, exc)
            sys.exit(WORKER_BOOT_ERROR)
        lifecycle.startup_done()
        return app

    def _when_ready(self, arbiter: Any) -> None:
        lifecycle.startup_done()  # the master's start-up; each worker's ends when its app is built
        opts = self.options
        limit = f"{opts.request_timeout:g} s" if opts.request_timeout else "none"
        print(f"drumnb: serving {opts.code_dir} on http://{opts.address}{opts.url_prefix}/ "
              f"({opts.workers or 1} worker(s) x {opts.threads} threads, {opts.worker_class} HTTP server, "
              f"request timeout {limit}, master pid {os.getpid()}); ready when /health/ answers",
              file=sys.stderr, flush=True)

    @staticmethod
    def _child_exit(arbiter: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def worker_class_path(name: str) -> str:
    """The gunicorn worker class serving ``name`` (granian's worker runs gunicorn's gthread loop when granian
    cannot be used)."""
    return {"granian": "drumnb.server.workers.GranianWorker", "gthread": "drumnb.server.workers.ThreadWorker",
            "sync": "drumnb.server.workers.SyncWorker"}[name]


def _write_load_error(folder: str, exc: DrumnbError) -> None:
    tmp = os.path.join(folder, f".{LOAD_ERROR_FILE}.{os.getpid()}")
    with open(tmp, "w") as fh:
        json.dump({"type": type(exc).__name__, "message": exc.message, "hint": exc.hint}, fh)
    os.replace(tmp, os.path.join(folder, LOAD_ERROR_FILE))


def _read_load_error(folder: str) -> ModelLoadError | None:
    try:
        with open(os.path.join(folder, LOAD_ERROR_FILE)) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return ModelLoadError(f"{data['message']}", hint=data.get("hint"))


def _metrics_dir() -> tuple[str, bool]:
    """The shared metrics folder and whether this run created it (and so removes it)."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        os.makedirs(given, exist_ok=True)
        for stale in glob.glob(os.path.join(given, "*.db")) + glob.glob(os.path.join(given, LOAD_ERROR_FILE)):
            os.remove(stale)  # values of an earlier run would be added to this one's
        return given, False
    return tempfile.mkdtemp(prefix="drumnb-metrics-"), True


def run(options: ServerOptions) -> int:
    """Serve with gunicorn until SIGTERM; returns the exit code (raises the load error, if any)."""
    folder, created = _metrics_dir()
    os.environ[MULTIPROC_ENV] = folder  # before any worker imports prometheus_client
    master = os.getpid()
    code: Any = 0
    try:
        DrumnbGunicorn(options, folder).run()
    except SystemExit as exc:
        if os.getpid() != master:  # a worker leaving: it unwinds through here after the fork
            raise
        code = exc.code
    error = _read_load_error(folder)
    if created:
        shutil.rmtree(folder, ignore_errors=True)
    if code == WORKER_BOOT_ERROR and error is not None:
        raise error
    if isinstance(code, int):
        return code
    return 0 if code is None else 1
