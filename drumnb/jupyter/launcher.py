"""Servers started from a kernel (``%drum_serve``): child processes that die with the kernel.

:func:`start` runs ``python -m drumnb.jupyter._child`` through :mod:`drumnb.supervisor`
(whose lifeline ends the child when the kernel dies, even by ``kill -9``), waits for its
ready line, and returns a :class:`NotebookServer` handle.  The kernel stays free while the
child serves; a model that crashes takes down only the child.  Every server this kernel
started is stopped, by PID, when the kernel exits normally.  The child (not
``drumnb server``, which ``drumnb.serve(process=True)`` runs) is used for its reload route.
"""
from __future__ import annotations

import atexit
import html
import json
import os
import sys
import threading
import time
import uuid
from typing import Any

from .. import server_registry as registry
from . import errors
from .. import supervisor
from ..core.errors import ConfigurationError
from ..server.client import Client, ServerError, error_from
from ._child import RELOAD_HEADER, RELOAD_PATH

HOST = "127.0.0.1"
_SERVERS: dict[str, "NotebookServer"] = {}
_LOCK = threading.RLock()


# --- where we are ------------------------------------------------------------------------------

kernel_id = registry.kernel_id
proxy_url_template = registry.proxy_url_template


# --- the handle --------------------------------------------------------------------------------

class NotebookServer:
    """A model server in a child process: ``.url``, ``.pid``, ``.status``, ``.client``, ``.stop()``."""

    def __init__(self, name: str, spec: dict[str, Any], child: supervisor.Child, *,
                 port: int, url: str, load_error: str | None):
        self.name = name
        self.spec = spec
        self.child = child
        self.process = child.process
        self.log_path = child.log_path
        self.port = port
        self.url = url
        self.load_error = load_error
        self.started = time.time()
        tmpl = spec.get("proxy_url_template")
        self.proxy_url = tmpl.replace("{port}", str(port)) if tmpl else None
        self.client = Client(url)

    # --- state ---------------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def code_dir(self) -> str:
        return self.spec["code_dir"]

    @property
    def target_type(self) -> str | None:
        return self.spec.get("target_type")

    @property
    def running(self) -> bool:
        return self.child.is_alive()

    @property
    def stopped(self) -> bool:
        return self.child.stopped

    @property
    def status(self) -> str:
        """What the process is now: "running", "stopped", "exited (code N)", "killed (SIGKILL)"."""
        status = self.child.status
        if status == "running" and self.load_error:
            return "running (model failed to load: 513)"
        return status

    @property
    def browser_url(self) -> str:
        """The URL that works from the browser (the hub proxy on JupyterHub / Binder)."""
        return self.proxy_url or self.url

    def health(self, timeout: float = 5.0) -> dict[str, Any]:
        """``GET /health/``: status code, message, round-trip latency (ms)."""
        if not self.running:
            return {"status": None, "message": self.status, "latency_ms": None}
        started = time.perf_counter()
        try:
            r = self.client.get("/health/", timeout=timeout)
        except Exception as exc:  # noqa: BLE001
            return {"status": None, "message": f"{type(exc).__name__}: {exc}", "latency_ms": None}
        latency = (time.perf_counter() - started) * 1000
        try:
            message = str(r.json().get("message", ""))
        except ValueError:
            message = r.text[:200]
        return {"status": r.status_code, "message": message, "latency_ms": round(latency, 2)}

    def stats(self, timeout: float = 5.0) -> dict[str, Any] | None:
        """``GET /stats/`` (memory, predictions, time), or None when it does not answer."""
        if not self.running:
            return None
        try:
            r = self.client.get("/stats/", timeout=timeout)
            return r.json() if r.status_code == 200 else None
        except Exception:  # noqa: BLE001
            return None

    def logs(self, lines: int | None = None) -> str:
        """What the server logged (the last ``lines`` lines)."""
        text = self.child.logs(lines)
        return text + "\n" if lines and text else text

    def reload(self, timeout: float = 120.0) -> dict[str, Any]:
        """Re-load the model from its folder in the server (after its hooks changed)."""
        if not self.running:
            return {"ok": False, "message": self.status}
        r = post_reload(self.client, timeout)
        body = r.json()
        if r.status_code == 200 and body.get("ok"):
            self.load_error = None
        elif r.status_code == 200:
            self.load_error = body.get("message")
        return body

    # --- control -------------------------------------------------------------------------------
    def stop(self, timeout: float = 5.0) -> None:
        """Stop the child (SIGTERM, then SIGKILL after ``timeout``), by its PID; the port is free after."""
        self.child.stop(timeout)
        registry.remove(self.pid)
        self.client.close()
        with _LOCK:
            if _SERVERS.get(self.name) is self:
                del _SERVERS[self.name]

    def restart(self, timeout: float = 120.0) -> "NotebookServer":
        """Stop this server and start the same one again (on the same port when it was chosen)."""
        spec = dict(self.spec)
        self.stop()
        return _spawn(spec, timeout=timeout)

    def __enter__(self) -> "NotebookServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- display -------------------------------------------------------------------------------
    def __repr__(self) -> str:
        extra = f" (browser: {self.proxy_url})" if self.proxy_url else ""
        return f"<drumnb server {self.name!r} {self.url}{extra} pid {self.pid} {self.status}>"

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.running and not self.load_error else "#cf222e"
        link = html.escape(self.browser_url)
        rows = [("URL", f'<a href="{link}" target="_blank">{link}</a>')]
        if self.proxy_url:
            rows.append(("in the kernel", html.escape(self.url)))
        rows += [("PID", f"<span class='drumnb-pid'>{self.pid}</span>"),
                 ("status", f'<span style="color:{colour}">{html.escape(self.status)}</span>'),
                 ("model", html.escape(_display_path(self.code_dir)))]
        if self.load_error:
            rows.append(("load error", f"<pre style='margin:0'>{html.escape(self.load_error)}</pre>"))
        body = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{k}</th>"
                       f"<td style='text-align:left'>{v}</td></tr>" for k, v in rows)
        return (f"<div class='drumnb-server'><b>drumnb server {html.escape(self.name)}</b>"
                f"<table>{body}</table></div>")


# --- starting ----------------------------------------------------------------------------------

def _log_dir() -> str:
    path = os.path.join(registry.registry_dir(), "logs")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def start(name: str, code_dir: str, target_type: str | None = None, *, port: int = 0, host: str = HOST,
          url_prefix: str = "", load_kwargs: dict[str, Any] | None = None, timeout: float = 120.0,
          env: dict[str, str] | None = None) -> NotebookServer:
    """Serve ``code_dir`` in a child process; returns when it answers (or raises with its log)."""
    with _LOCK:
        old = _SERVERS.get(name)
        if old is not None:
            if old.running:
                raise errors.error(ConfigurationError, f"a server named {name!r} already runs at {old.url} "
                                   f"(pid {old.pid})",
                                   f"stop it first (%drum_serve --stop {name}), or use --restart")
            old.stop()
    kwargs = dict(load_kwargs or {})
    monitor = kwargs.get("monitor")
    if monitor is not None and hasattr(monitor, "__dataclass_fields__"):
        kwargs["monitor"] = dict(vars(monitor))
    spec = {
        "name": name, "code_dir": os.path.abspath(code_dir), "target_type": target_type, "host": host,
        "port": int(port or 0), "url_prefix": url_prefix, "load_kwargs": kwargs,
        "kernel_id": kernel_id(), "proxy_url_template": proxy_url_template(),
        "max_request_size": 256 * 1024 * 1024, "env": dict(env or {}),
    }
    return _spawn(spec, timeout=timeout)


def _spawn(spec: dict[str, Any], *, timeout: float) -> NotebookServer:
    if spec["host"] not in ("127.0.0.1", "localhost", "::1"):
        import warnings

        warnings.warn(f"serving on {spec['host']}: the server is reachable from other machines", stacklevel=3)
    name = spec["name"]
    log_path = os.path.join(_log_dir(), f"{name}-{uuid.uuid4().hex[:8]}.log")
    spec = {**spec, "parent_pid": os.getpid(), "log": log_path, "pdeathsig": supervisor.pdeathsig_usable()}
    # embedded R's start-up variables are already gone from os.environ (drumnb.predictors.r.runtime)
    env = {**os.environ, **spec.get("env", {}), "PYTHONUNBUFFERED": "1"}
    env.pop("URL_PREFIX", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), _package_root()]))  # drumnb as here
    child = supervisor.spawn([sys.executable, "-m", "drumnb.jupyter._child", json.dumps(spec)], env=env,
                             cwd=os.getcwd(), log_path=log_path, remove_log=True)
    try:
        message = child.wait_ready(timeout, tail_lines=12)
    except supervisor.NotReady as exc:
        registry.remove(child.pid)
        if exc.reason == "refused":
            raise errors.error(ServerError, f"the server for {name!r} did not start: {exc}",
                               "see the log above" if exc.tail else None) from None
        raise errors.error(ServerError, f"the server for {name!r} {exc}" + (f":\n{exc.tail}" if exc.tail else ""),
                           "run the same folder with `drumnb server --code-dir ...` in a terminal to see more") \
            from None
    server = NotebookServer(name, spec, child, port=int(message["port"]), url=message["url"],
                            load_error=message.get("error"))
    with _LOCK:
        _SERVERS[name] = server
    return server


def post_reload(client: Client, timeout: float) -> Any:
    """``POST <prefix>/_drumnb/reload/`` with the header the route requires (see drumnb.jupyter._child)."""
    name, value = RELOAD_HEADER
    return client.post(RELOAD_PATH + "/", headers={name: value}, timeout=timeout)


def _display_path(path: str) -> str:
    from .workspace import display_path

    return display_path(path)


def _package_root() -> str:
    import drumnb

    return os.path.dirname(os.path.dirname(os.path.abspath(drumnb.__file__)))


# --- this kernel's servers ---------------------------------------------------------------------

def servers() -> dict[str, NotebookServer]:
    """This kernel's servers by name (running or not yet stopped)."""
    with _LOCK:
        return dict(_SERVERS)


def get(name: str) -> NotebookServer | None:
    with _LOCK:
        return _SERVERS.get(name)


def stop_all() -> list[str]:
    """Stop every server this kernel started; returns their names."""
    names = []
    for name, server in servers().items():
        server.stop()
        names.append(name)
    return names


def reload_folder(code_dir: str, timeout: float = 120.0) -> list[tuple[str, str, dict[str, Any]]]:
    """Ask every live server of ``code_dir`` (this kernel's and the registry's) to re-load it.

    Returns ``(name, url, answer)`` for each.
    """
    folder = os.path.realpath(code_dir)
    seen, out = set(), []
    for server in servers().values():
        if server.running and os.path.realpath(server.code_dir) == folder:
            seen.add(server.pid)
            try:
                out.append((server.name, server.url, server.reload(timeout)))
            except Exception as exc:  # noqa: BLE001
                out.append((server.name, server.url, {"ok": False, "message": f"{type(exc).__name__}: {exc}"}))
    for entry in registry.entries():
        if entry.get("pid") in seen or os.path.realpath(entry.get("code_dir") or "") != folder:
            continue
        if entry.get("reload") is False:  # a `drumnb server` child (drumnb.serve(process=True)): no reload route
            continue
        try:
            r = post_reload(Client(entry["url"]), timeout)
            answer = r.json() if r.headers.get("Content-Type", "").startswith("application/json") else \
                {"ok": False, "message": error_from(r).message}
        except Exception as exc:  # noqa: BLE001
            answer = {"ok": False, "message": f"{type(exc).__name__}: {exc}"}
        out.append((entry.get("name") or str(entry["pid"]), entry["url"], answer))
    return out


atexit.register(stop_all)
