"""Serve an app in one process with werkzeug's threaded WSGI server.

Used by the background server (notebooks) and by ``drumnb server
--worker-class werkzeug`` (one process, no gunicorn master: for debugging;
nothing replaces the process after a request timeout).  HTTP/1.1 keep-alive is on; SIGTERM (and Ctrl-C) stop accepting,
let the requests in flight finish (bounded), then return.
"""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .lifecycle import startup_done
from .options import ServerOptions

log = logging.getLogger("drumnb.server")


class InFlight:
    """A count of requests being handled, to let them finish on shutdown."""

    def __init__(self) -> None:
        self._count = 0
        self._cond = threading.Condition()

    def __enter__(self) -> None:
        with self._cond:
            self._count += 1

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._count -= 1
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._count == 0, timeout)


def make_wsgi_server(app: Any, host: str, port: int) -> BaseWSGIServer:
    """A threaded werkzeug server bound to ``host:port`` (port 0: a free one), not yet serving."""
    in_flight = InFlight()

    class Handler(WSGIRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as clients and load generators expect

        def run_wsgi(self) -> None:
            with in_flight:
                super().run_wsgi()

        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s %s", self.command, self.path, code)

    server = make_server(host, port, app, threaded=True, request_handler=Handler)
    server.in_flight = in_flight  # type: ignore[attr-defined]
    return server


def stop_gracefully(server: BaseWSGIServer, timeout: float = 30.0) -> None:
    """Stop accepting, wait (at most ``timeout`` s) for requests in flight, close the socket."""
    server.shutdown()
    server.in_flight.wait_idle(timeout)  # type: ignore[attr-defined]
    server.server_close()


def serve_forever(options: ServerOptions) -> int:
    """Load the model, serve it until SIGTERM / SIGINT; returns the exit code."""
    from .app import create_app

    started = time.perf_counter()
    app = create_app(options.loader(), **options.app_kwargs())
    startup_done()
    server = make_wsgi_server(app, options.host, options.port)
    stopping = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, name="drumnb-shutdown", daemon=True).start()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    state = app.extensions["drumnb"]
    what = repr(state.model) if state.error is None else "the load error (513)"
    print(f"drumnb: serving {what} on http://{options.address}{state.url_prefix}/ "
          f"(one process, threaded; ready in {time.perf_counter() - started:.1f}s)", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.in_flight.wait_idle(options.graceful_timeout)  # type: ignore[attr-defined]
        server.server_close()
        state.call.close()
    return 0
