"""The gunicorn worker classes ``drumnb server`` runs.

* :class:`GranianWorker` (the default): the worker serves HTTP on the master's
  socket with granian's compiled (Rust) server.  Connections are handled
  asynchronously -- an idle or slow client costs no thread -- and complete
  requests run the WSGI app on ``threads`` Python threads.  Per request that
  is several times less Python than gunicorn's own workers
  (benchmarks/server_bench.py).
* :class:`ThreadWorker` / :class:`SyncWorker`: gunicorn's ``gthread`` and
  ``sync`` workers (``--worker-class gthread|sync``).

All of them honour a recycle request (:mod:`drumnb.server.lifecycle`: a model
call outlived the request timeout): they finish the requests in flight and
exit, and the master starts a fresh worker.  gunicorn's own ``max_requests``
(+ jitter) applies to all three.

granian's worker is driven through the internal API its own process manager
uses; :func:`granian_available` says whether the installed granian is a
release this was written against (else the runner falls back to gthread).
"""
from __future__ import annotations

import itertools
import logging
import os
import signal
import sys
import threading
from typing import Any

from gunicorn.workers.gthread import ThreadWorker as _GThreadWorker
from gunicorn.workers.sync import SyncWorker as _SyncWorker

from . import lifecycle

log = logging.getLogger("drumnb.server")
#: The granian releases whose internal worker API :class:`GranianWorker` was written against.
GRANIAN_RELEASES = ("2.8.",)


def granian_available() -> bool:
    """Whether granian is installed, a supported release, and has the worker API :class:`GranianWorker` uses
    (checked in the worker, which imports granian anyway: the master stays light)."""
    try:
        import granian
        from granian._futures import _new_cbscheduler  # noqa: F401
        from granian._granian import SocketHolder, WorkerSignal, WSGIWorker  # noqa: F401
        from granian.wsgi import _callback_wrapper  # noqa: F401
    except ImportError:
        return False
    return str(getattr(granian, "__version__", "")).startswith(GRANIAN_RELEASES)


class _Loading:
    """The heartbeat goes on while the app loads: a model that takes longer than the master's ``timeout``
    (seconds without a heartbeat) to load is not killed for it."""

    def load_wsgi(self) -> None:
        done = threading.Event()

        def beat() -> None:
            while not done.wait(1.0):
                self.notify()  # type: ignore[attr-defined]

        threading.Thread(target=beat, name="drumnb-loading", daemon=True).start()
        try:
            super().load_wsgi()  # type: ignore[misc]
        finally:
            done.set()


class _Recycles(_Loading):
    """A recycle request ends gunicorn's worker loop: the requests in flight finish, then the worker exits."""

    alive: bool

    def run(self) -> None:
        lifecycle.on_recycle(self._end)
        super().run()  # type: ignore[misc]

    def _end(self) -> None:
        self.alive = False


class ThreadWorker(_Recycles, _GThreadWorker):
    """gunicorn's ``gthread`` worker."""


class SyncWorker(_Recycles, _SyncWorker):
    """gunicorn's ``sync`` worker (one connection at a time: idle clients can starve it)."""


class GranianWorker(ThreadWorker):
    """One worker process serving the app with granian's HTTP server on the master's socket (gunicorn's
    gthread loop when this granian cannot be used)."""

    _stop: Any = None

    def init_signals(self) -> None:
        super().init_signals()
        # The server runs in Rust threads: stop it from the handler (gunicorn's handlers only flip flags).
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            signal.signal(sig, self._on_stop_signal)

    def _on_stop_signal(self, signum: int, frame: Any) -> None:
        self._end()

    def _end(self) -> None:
        self.alive = False
        if self._stop is not None:
            self._stop.set()

    def run(self) -> None:
        if not granian_available():
            import importlib.util

            log.warning("granian %s: serving with gunicorn's gthread loop instead",
                        "is not installed" if importlib.util.find_spec("granian") is None
                        else f"is not a {' or '.join(GRANIAN_RELEASES)}x release")
            return super().run()
        from granian._futures import _new_cbscheduler
        from granian._granian import SocketHolder, WorkerSignal, WSGIWorker
        from granian._loops import loops
        from granian.http import HTTP1Settings
        from granian.wsgi import _callback_wrapper

        cfg = self.cfg
        self._stop = stop = WorkerSignal()
        stopped = threading.Event()
        stop.add_cb(stopped.set)
        threads = max(1, cfg.threads)
        # granian bounds the wait for a request's headers, the next one's on a kept-alive connection too (ms):
        # the keep-alive time, but never less than 10 s for a slow client's first request
        http1 = HTTP1Settings(keep_alive=cfg.keepalive > 0,
                              header_read_timeout=min(60_000, max(10, cfg.keepalive) * 1000))
        sock = (None, SocketHolder(self.sockets[0].fileno(), False, cfg.backlog))
        callback = _callback_wrapper(_Counting(self.wsgi, self.max_requests), {"url_path_prefix": None}, None)
        no_tls = (False, None, None, None, "tls1.3", None, [], False)
        server = WSGIWorker(self.age, sock, None, 1, 512, threads, 30, max(threads, cfg.worker_connections),
                            "1", http1, None, None, *no_tls, (None, None))
        loop = loops.get("asyncio")
        lifecycle.on_recycle(self._end)  # at once: the requests that follow go to the fresh worker
        threading.Thread(target=self._heartbeat, args=(stop, stopped), name="drumnb-heartbeat", daemon=True).start()
        if not self.alive:  # a signal came while the app was loading
            return
        try:
            server.serve_mtr(_new_cbscheduler(loop, callback, impl_asyncio=True), loop, stop)
            stopped.wait()
        finally:
            self.alive = False
            sys.stdout.flush()
            sys.stderr.flush()
        # The requests in flight are answered.  A model call past its timeout may still hold a thread:
        # do not wait for it at interpreter exit.
        os._exit(0)

    def _heartbeat(self, stop: Any, stopped: threading.Event) -> None:
        """Tell the master this worker lives; stop when the master is gone."""
        interval = 1.0 if not self.timeout else max(0.1, min(1.0, self.timeout / 4))
        while not stopped.wait(interval):
            self.notify()
            if self.ppid != os.getppid():
                log.warning("the gunicorn master %s went away; worker %s stops", self.ppid, self.pid)
                self._end()
            elif not self.alive:
                stop.set()


class _Counting:
    """The WSGI app, counting requests: at ``limit`` (gunicorn's max_requests + jitter) the worker is recycled."""

    def __init__(self, app: Any, limit: int):
        self.app = app
        self.limit = limit if limit < sys.maxsize else 0
        self._count = itertools.count(1)

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if next(self._count) == self.limit:
            lifecycle.request_recycle(f"served {self.limit} requests (--max-requests)", logging.INFO)
        return self.app(environ, start_response)
