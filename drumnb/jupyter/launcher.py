"""Servers started from a kernel (``%drum_serve``): child processes that die with the kernel.

:func:`start` runs ``python -m drumnb.jupyter._child`` (see there for the three
watches that end it when the kernel dies, even by ``kill -9``), waits until it
listens, and returns a :class:`NotebookServer` handle.  The kernel stays free
while the child serves; a model that crashes takes down only the child.  Every
server this kernel started is stopped, by PID, when the kernel exits normally.

``drumnb.server.background.serve(process=True)`` is not used here: it starts
``drumnb server`` without a parent-death signal or a pipe to watch, so a
killed kernel would leave it holding the port.
"""
from __future__ import annotations

import atexit
import html
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

from . import errors, registry
from ..server.client import Client, error_from

HOST = "127.0.0.1"
_SERVERS: dict[str, "NotebookServer"] = {}
_LOCK = threading.RLock()


# --- where we are ------------------------------------------------------------------------------

def kernel_id() -> str:
    """This kernel's id (from its connection file ``kernel-<id>.json``), else ``pid-<pid>``."""
    try:
        from ipykernel.connect import get_connection_file

        stem = os.path.basename(get_connection_file()).removesuffix(".json")
        return stem.removeprefix("kernel-")
    except Exception:  # noqa: BLE001 - not in a kernel (testing shell, plain Python)
        return f"pid-{os.getpid()}"


def proxy_url_template(env: dict[str, str] | None = None) -> str | None:
    """``<hub prefix>proxy/{port}/`` on JupyterHub / Binder (with jupyter-server-proxy), else None."""
    env = os.environ if env is None else env
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX")
    if not prefix:
        return None
    import importlib.util

    if importlib.util.find_spec("jupyter_server_proxy") is None:
        return None
    path = "/" + prefix.strip("/") + "/proxy/{port}/"
    public = (env.get("JUPYTERHUB_PUBLIC_URL") or "").rstrip("/")
    if public:
        from urllib.parse import urlsplit

        parts = urlsplit(public)
        return f"{parts.scheme}://{parts.netloc}{path}" if parts.scheme else path
    return path


# --- the handle --------------------------------------------------------------------------------

class NotebookServer:
    """A model server in a child process: ``.url``, ``.pid``, ``.status``, ``.client``, ``.stop()``."""

    def __init__(self, name: str, spec: dict[str, Any], process: subprocess.Popen, log_path: str, *,
                 port: int, url: str, load_error: str | None):
        self.name = name
        self.spec = spec
        self.process = process
        self.log_path = log_path
        self.port = port
        self.url = url
        self.load_error = load_error
        self.started = time.time()
        self.stopped = False
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
        return self.process.poll() is None

    @property
    def status(self) -> str:
        code = self.process.poll()
        if code is None:
            return "running" if not self.load_error else "running (model failed to load: 513)"
        if self.stopped:
            return "stopped"
        return f"exited (code {code})"

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
        try:
            with open(self.log_path, errors="replace") as fh:
                text = fh.read()
        except OSError:
            return ""
        if lines:
            text = "\n".join(text.rstrip("\n").splitlines()[-lines:]) + "\n"
        return text

    def reload(self, timeout: float = 120.0) -> dict[str, Any]:
        """Re-load the model from its folder in the server (after its hooks changed)."""
        if not self.running:
            return {"ok": False, "message": self.status}
        r = self.client.post("/_drumnb/reload/", timeout=timeout)
        body = r.json()
        if r.status_code == 200 and body.get("ok"):
            self.load_error = None
        elif r.status_code == 200:
            self.load_error = body.get("message")
        return body

    # --- control -------------------------------------------------------------------------------
    def stop(self, timeout: float = 5.0) -> None:
        """Stop the child (SIGTERM, then SIGKILL after ``timeout``), by its PID; the port is free after."""
        self.stopped = True
        proc = self.process
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        _release(proc)
        self.client.close()
        with _LOCK:
            if _SERVERS.get(self.name) is self:
                del _SERVERS[self.name]
        try:
            os.remove(self.log_path)
        except OSError:
            pass

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
                raise errors.error("ConfigurationError", f"a server named {name!r} already runs at {old.url} "
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
    spec = {**spec, "parent_pid": os.getpid(), "log": log_path,
            "pdeathsig": threading.current_thread() is threading.main_thread()}
    env = {**child_environ(), **spec.get("env", {}), "PYTHONUNBUFFERED": "1"}
    env.pop("URL_PREFIX", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), _package_root()]))  # drumnb as here
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "drumnb.jupyter._child", json.dumps(spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file, env=env,
            cwd=os.getcwd(), start_new_session=True,  # a kernel interrupt (SIGINT to its group) must not stop it
        )
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()  # type: ignore[union-attr]
            break
        if process.poll() is not None:
            break
    message = _parse(line)
    if not message.get("ok"):
        tail = _tail(log_path, 12)
        _kill(process)
        _cleanup_log(log_path)
        if message.get("error"):
            raise errors.error("ServerError", f"the server for {name!r} did not start: {message['error']}",
                               "see the log above" if tail else None)
        what = ("did not answer within %.0fs" % timeout) if process.poll() is None else \
            f"exited with code {process.returncode}"
        raise errors.error("ServerError", f"the server for {name!r} {what}" + (f":\n{tail}" if tail else ""),
                           "run the same folder with `drumnb server --code-dir ...` in a terminal to see more")
    server = NotebookServer(name, spec, process, log_path, port=int(message["port"]), url=message["url"],
                            load_error=message.get("error"))
    with _LOCK:
        _SERVERS[name] = server
    return server


#: Variables that embedded R (rpy2) sets in the kernel's environment and a child must not inherit:
#: R's library path in LD_LIBRARY_PATH loads another libpython into the child's Python, and R
#: deletes its session folder when *that* R exits.
_PROCESS_LOCAL = ("LD_LIBRARY_PATH", "R_SESSION_TMPDIR", "PYTHON_SESSION_INITIALIZED")


def child_environ() -> dict[str, str]:
    """The kernel's environment for a server child, without what embedded runtimes put there."""
    from . import ENVIRON_AT_START

    env = dict(os.environ)
    for key in _PROCESS_LOCAL:
        if key in ENVIRON_AT_START:
            env[key] = ENVIRON_AT_START[key]
        else:
            env.pop(key, None)
    return env


def _display_path(path: str) -> str:
    from .workspace import display_path

    return display_path(path)


def _package_root() -> str:
    import drumnb

    return os.path.dirname(os.path.dirname(os.path.abspath(drumnb.__file__)))


def _parse(line: bytes) -> dict[str, Any]:
    try:
        data = json.loads(line.decode("utf-8", "replace"))
        return data if isinstance(data, dict) else {}
    except ValueError:
        return {}


def _tail(path: str, n: int) -> str:
    try:
        with open(path, errors="replace") as fh:
            return "\n".join(fh.read().strip().splitlines()[-n:])
    except OSError:
        return ""


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(5)
    _release(process)


def _release(process: subprocess.Popen) -> None:
    """After a server process ended: close our ends of its pipes and drop its registry entry."""
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass
    registry.remove(process.pid)


def _cleanup_log(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


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
        try:
            r = Client(entry["url"]).post("/_drumnb/reload/", timeout=timeout)
            answer = r.json() if r.headers.get("Content-Type", "").startswith("application/json") else \
                {"ok": False, "message": error_from(r).message}
        except Exception as exc:  # noqa: BLE001
            answer = {"ok": False, "message": f"{type(exc).__name__}: {exc}"}
        out.append((entry.get("name") or str(entry["pid"]), entry["url"], answer))
    return out


atexit.register(stop_all)
