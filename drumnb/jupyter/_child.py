"""The server process ``%drum_serve`` starts: ``python -m drumnb.jupyter._child SPEC_JSON``.

It serves one model folder with drumnb's Flask app (DRUM's routes, the same
app as ``drumnb server``) on werkzeug's threaded server, and it never outlives
the kernel that started it: :class:`drumnb.supervisor.Lifeline` (parent-death
signal, stdin pipe, parent-PID watch) ends it, after a short grace when the
kernel died, a longer one when it was asked to stop.

Ready, it writes one JSON line to stdout (``{"port": ..., "error": ...}``,
:func:`drumnb.supervisor.announce_ready`).  It publishes itself in the registry
(:mod:`drumnb.server_registry`) and removes its entry when it exits.  One
extra route, ``POST <prefix>/_drumnb/reload/``, re-loads the model from its
folder (after ``%%drum_hooks`` rewrote ``custom.py``) and swaps it in; a model
that fails to re-load leaves the previous one serving and answers the error.
Only its own callers may use it: the request must carry ``X-Drumnb-Reload: 1``
(a header a browser form cannot send, and a cross-origin script only after a
CORS preflight this server never grants) and no ``Origin`` other than its own (403).

This module runs only in the child process: ``os._exit`` below ends *that*
process, never a kernel.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from typing import Any

from .. import supervisor

RELOAD_PATH = "/_drumnb/reload"
#: the header every caller of the reload route sends (see the module's docstring)
RELOAD_HEADER = ("X-Drumnb-Reload", "1")
STATUS_PATH = "/_drumnb/status"
log = logging.getLogger("drumnb.jupyter.server")


class Swappable:
    """A WSGI app forwarding to the current Flask app; reload builds a new one and swaps it in."""

    def __init__(self, spec: dict[str, Any]):
        from ..server.options import ModelLoader, normalize_prefix  # noqa: F401 - imported for the loader

        self.spec = spec
        self.prefix = normalize_prefix(spec.get("url_prefix") or "")
        self.loader = ModelLoader(spec["code_dir"], spec.get("target_type"), _load_kwargs(spec))
        self.lock = threading.Lock()
        self.generation = 0
        self.app = self._create(self.loader)
        self.loaded_at = time.time()
        self.last_reload: str | None = None
        from .. import watch  # save and see: an edit of the folder (any editor) reloads its hooks here

        self.watcher = (watch.FolderWatcher(spec["code_dir"], lambda _names: self.reload(), name="drumnb-reload")
                        .start() if watch.available() else None)

    def _create(self, model_or_loader: Any) -> Any:
        from ..server.app import DEFAULT_KEPT_REQUESTS, create_app

        return create_app(model_or_loader, url_prefix=self.prefix, with_error_server=True,
                          max_request_size=self.spec.get("max_request_size"), keep_requests=DEFAULT_KEPT_REQUESTS)

    @property
    def error(self) -> str | None:
        err = self.app.extensions["drumnb"].error
        return err.render() if err is not None else None

    def reload(self) -> tuple[int, dict[str, Any]]:
        with self.lock:
            started = time.perf_counter()
            server = self.app.extensions["drumnb"]
            try:
                if server.error is None:  # new hooks, the artifact kept unless loading changed
                    result = server.reload()
                    if result.kind != "none":
                        self.generation += 1
                        self.loaded_at = time.time()
                        self.last_reload = result.message
                        log.info("%s: %s (generation %d)", self.spec["code_dir"], result.message, self.generation)
                    return 200, {"ok": True, "message": result.message, "kind": result.kind,
                                 "generation": self.generation, "seconds": round(result.seconds, 4),
                                 "hooks": list(result.hooks)}
                model = self.loader()
            except Exception as exc:  # noqa: BLE001 - the previous model keeps serving
                from ..core.errors import DrumnbError

                message = exc.render() if isinstance(exc, DrumnbError) else f"{type(exc).__name__}: {exc}"
                log.warning("reload failed, the previous model keeps serving: %s", message)
                self.last_reload = "did not reload, the previous hooks serve: " + message.splitlines()[0]
                body = {"ok": False, "message": message, "generation": self.generation}
                body.update({k: getattr(exc, k) for k in ("hook", "file", "line", "cause_type", "detail")
                             if getattr(exc, k, None) is not None})
                return 422, body
            old, self.app = self.app, self._create(model)
            self.generation += 1
            self.loaded_at = time.time()
        try:
            old.extensions["drumnb"].call.close()
        except Exception:  # noqa: BLE001
            pass
        seconds = time.perf_counter() - started
        log.info("reloaded %s in %.2fs (generation %d)", self.spec["code_dir"], seconds, self.generation)
        return 200, {"ok": self.error is None, "message": self.error or "reloaded", "generation": self.generation,
                     "seconds": round(seconds, 4), "hooks": list(getattr(model, "hooks", None).names
                                                                if getattr(model, "hooks", None) else [])}

    def status(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "generation": self.generation, "loaded_at": self.loaded_at,
                "error": self.error, "last_reload": self.last_reload, "code_dir": self.spec["code_dir"], "name": self.spec.get("name")}

    def __call__(self, environ: dict, start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "").rstrip("/")
        if path == self.prefix + RELOAD_PATH and environ.get("REQUEST_METHOD") == "POST":
            refused = _refuse_foreign(environ)
            if refused:
                return _json(start_response, 403, {"ok": False, "message": refused})
            return _json(start_response, *self.reload())
        if path == self.prefix + STATUS_PATH:
            return _json(start_response, 200, self.status())
        return self.app(environ, start_response)


def _refuse_foreign(environ: dict) -> str | None:
    """Why a reload request is refused (another origin, no reload header), or None."""
    origin = environ.get("HTTP_ORIGIN")
    own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
    if origin is not None and origin.rstrip("/") != own:
        return f"reload refused: a request from another origin ({origin})"
    name, value = RELOAD_HEADER
    if environ.get("HTTP_" + name.upper().replace("-", "_")) != value:
        return f"reload refused: the request lacks the {name}: {value} header"
    return None


def _json(start_response: Any, status: int, body: dict) -> list[bytes]:
    data = json.dumps(body).encode()
    reason = {200: "OK", 403: "FORBIDDEN", 422: "UNPROCESSABLE ENTITY"}.get(status, "")
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _load_kwargs(spec: dict[str, Any]) -> dict[str, Any]:
    kwargs = dict(spec.get("load_kwargs") or {})
    monitor = kwargs.pop("monitor", None)
    if monitor:
        from ..monitoring import MonitorSettings

        kwargs["monitor"] = MonitorSettings(**monitor)
    return kwargs


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    parent = int(spec["parent_pid"])
    lifeline = supervisor.Lifeline(parent)  # until the server listens, a stop ends the process at once
    if not lifeline.attach(pdeathsig=bool(spec.get("pdeathsig"))):
        return 0
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("drumnb.server").setLevel(logging.DEBUG)  # one line per request
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from ..server.options import check_address
    from ..server.runner import make_wsgi_server
    from .. import server_registry as registry

    host, port = spec.get("host") or "127.0.0.1", int(spec.get("port") or 0)
    try:
        if port:
            check_address(host, port)
        app = Swappable(spec)
        server = make_wsgi_server(app, host, port)
    except Exception as exc:  # noqa: BLE001 - told to the kernel, which shows it in the cell
        from ..core.errors import DrumnbError

        message = exc.render() if isinstance(exc, DrumnbError) else f"{type(exc).__name__}: {exc}"
        supervisor.announce_ready({"ok": False, "error": message})
        return 1
    port = server.server_port
    # shutdown() before serve_forever() starts is fine: serve_forever then returns at once
    lifeline.on_stop = lambda grace: server.shutdown()
    url = f"http://{host}:{port}{app.prefix}"
    pid = os.getpid()
    entry = {
        "name": spec.get("name"), "pid": pid, "port": port, "host": host, "url": url,
        "proxy_url": (spec.get("proxy_url_template") or "").replace("{port}", str(port)) or None,
        "model": spec.get("model") or spec.get("name"), "code_dir": spec["code_dir"],
        "target_type": spec.get("target_type"), "kernel_id": spec.get("kernel_id"),
        "kernel_pid": parent, "started": time.time(), "log": spec.get("log"),
        "create_time": registry.process_create_time(pid), "reload": True,
    }
    registry.write(entry)
    lifeline.on_exit.append(lambda: registry.remove(pid))
    log.info("serving %s on %s (pid %d)%s", spec["code_dir"], url, pid,
             "" if app.error is None else " -- the model did not load; answering 513")
    supervisor.announce_ready({"ok": True, "port": port, "pid": pid, "url": url, "error": app.error})
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        registry.remove(pid)
        # the requests in flight may finish: GRACE_SECONDS when asked to stop, less when the kernel died
        server.in_flight.wait_idle(lifeline.grace)  # type: ignore[attr-defined]
        server.server_close()
        log.info("stopped")
    lifeline.exit_now(0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
