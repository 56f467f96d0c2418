"""Start a prediction server from Python, in the background, BentoML style.

    with serve("my_model/", target_type="regression") as server:
        server.client().predict(df)          # a DataFrame of predictions
        requests.get(server.url + "/info/")

``serve`` listens on 127.0.0.1 and a free port.  By default it serves a
thread of this process (the model object is shared, nothing is copied); with
``process=True`` or ``workers=N`` it runs ``drumnb server`` as a child process
(gunicorn when ``workers`` is given) under :mod:`drumnb.supervisor`: the child
dies with this process (even by ``kill -9``), is stopped by PID on ``stop()``,
and is listed in the server registry (:mod:`drumnb.server_registry`), so the
JupyterLab sidebar shows it.  Behind JupyterHub / Binder with
jupyter-server-proxy, ``browser_url`` is the URL a browser reaches it at.
"""
from __future__ import annotations

import os
import socket
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any

from .. import supervisor
from ..core.errors import ModelLoadError
from .. import server_registry as registry
from .client import Client
from .options import DEFAULT_MAX_REQUEST_SIZE, normalize_prefix

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Server:
    """A running background server: ``.url``, ``.status``, ``.client()``, ``.stop()``; a context manager."""

    def __init__(self, url: str, *, thread: threading.Thread | None = None, wsgi: Any = None,
                 child: supervisor.Child | None = None, app: Any = None, proxy_url: str | None = None):
        self.url = url
        self.app = app
        self.proxy_url = proxy_url
        self._thread, self._wsgi, self.child = thread, wsgi, child
        self._stopped = False
        self._clients: list[Client] = []
        self._finalizer = weakref.finalize(self, _stop, wsgi, child)

    @property
    def process(self) -> Any:
        """The child process (``subprocess.Popen``), None for a thread server."""
        return self.child.process if self.child else None

    @property
    def log_path(self) -> str | None:
        return self.child.log_path if self.child else None

    @property
    def pid(self) -> int:
        """PID of the serving process (this one for a thread server)."""
        return self.child.pid if self.child else os.getpid()

    @property
    def running(self) -> bool:
        if self.child is not None:
            return self.child.is_alive()
        return self._thread is not None and self._thread.is_alive()

    @property
    def status(self) -> str:
        """Its state now: "running", "stopped", or (ended otherwise) "exited (code N)" / "killed (SIGNAME)"."""
        if self.child is not None:
            return self.child.status
        return "running" if self.running else "stopped"

    @property
    def browser_url(self) -> str:
        """The URL that works from a browser (through jupyter-server-proxy on JupyterHub / Binder)."""
        return self.proxy_url or self.url

    def client(self) -> Client:
        """A :class:`~drumnb.server.client.Client` of this server: predict, predict_unstructured, chat, openai()."""
        client = Client(self.url)
        self._clients.append(client)
        return client

    def logs(self, lines: int | None = None) -> str:
        """What a child-process server wrote so far (its last ``lines`` lines)."""
        return self.child.logs(lines) if self.child else ""

    def stop(self, timeout: float = 15.0) -> None:
        """Stop serving (SIGTERM to a child process, then SIGKILL after ``timeout``)."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        if self._thread is not None:
            from .runner import stop_gracefully

            if self._thread.is_alive():
                stop_gracefully(self._wsgi, timeout)
                self._thread.join(timeout)
            self.app.extensions["drumnb"].call.close()
        self._finalizer.detach()
        _stop(None, self.child, timeout)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        kind = f"process {self.pid}" if self.child else "thread"
        browser = f" (browser: {self.proxy_url})" if self.proxy_url else ""
        return f"<drumnb.Server {self.url}{browser} ({kind}, {self.status})>"


def _stop(wsgi: Any, child: supervisor.Child | None, timeout: float = 5.0) -> None:
    if wsgi is not None:
        from .runner import stop_gracefully

        stop_gracefully(wsgi, timeout)
    if child is not None:
        pid = child.pid
        child.stop(timeout)
        registry.remove(pid)


def _serve_thread(model: Any, *, host: str, port: int, url_prefix: str, with_error_server: bool,
                  max_request_size: int | None) -> Server:
    from .app import create_app
    from .runner import make_wsgi_server

    app = create_app(model, url_prefix=url_prefix, with_error_server=with_error_server,
                     max_request_size=max_request_size)
    wsgi = make_wsgi_server(app, host, port)
    thread = threading.Thread(target=wsgi.serve_forever, kwargs={"poll_interval": 0.2},
                              name=f"drumnb-server-{wsgi.server_port}", daemon=True)
    thread.start()
    return Server(f"http://{host}:{wsgi.server_port}{url_prefix}", thread=thread, wsgi=wsgi, app=app)


def _server_args(code_dir: str, *, target_type: str | None, workers: int | None, with_error_server: bool,
                 max_request_size: int | None, labels: dict[str, Any]) -> list[str]:
    args = ["server", "--code-dir", code_dir]
    if target_type:
        args += ["--target-type", target_type]
    for flag, key in (("--positive-class-label", "positive_class_label"),
                      ("--negative-class-label", "negative_class_label"),
                      ("--class-labels-file", "class_labels_file"),
                      ("--runtime-params-file", "runtime_params_file")):
        if labels.get(key) is not None:
            args += [flag, str(labels[key])]
    if labels.get("class_labels"):
        args += ["--class-labels", *[str(x) for x in labels["class_labels"]]]
    monitor = labels.get("monitor")  # drumnb.monitoring.MonitorSettings, as the CLI's flags make it
    if monitor is not None:
        args += ["--monitor"] if monitor.record_predictions else []
        args += ["--monitor-embedded"] if monitor.embedded else []
        for flag, value in (("--monitor-db", monitor.db), ("--deployment-id", monitor.deployment_id),
                            ("--model-id", monitor.model_id)):
            args += [flag, str(value)] if value else []
    if workers:
        args += ["--max-workers", str(workers)]
    if with_error_server:
        args.append("--with-error-server")
    if max_request_size:
        args += ["--max-request-size", str(max_request_size)]
    return args


def _serve_process(args: Sequence[str], *, host: str, port: int, url_prefix: str, env: dict[str, str] | None,
                   timeout: float, with_error_server: bool, code_dir: str, target_type: str | None) -> Server:
    import requests

    def ready(url: str) -> bool:
        try:
            status = requests.get(url + "/health/", timeout=2).status_code
        except requests.RequestException:
            return False
        return status == 200 or (status == 513 and with_error_server)

    failure: supervisor.NotReady | None = None
    for _attempt in range(1 if port else 3):  # a free port may be taken between the check and the bind
        chosen = port or free_port(host)
        full_env = {**os.environ, **(env or {}), "URL_PREFIX": url_prefix}
        child = supervisor.spawn(supervisor.lifeline_argv("drumnb", *args, "--address", f"{host}:{chosen}"),
                                 env=full_env, ready_line=False)
        url = f"http://{host}:{chosen}{url_prefix}"
        try:
            child.wait_ready(timeout, probe=lambda: ready(url))
        except supervisor.NotReady as exc:
            failure = exc
            if "cannot listen on" in exc.tail:
                continue
            break
        template = registry.proxy_url_template()
        server = Server(url, child=child, proxy_url=template.replace("{port}", str(chosen)) if template else None)
        _register(server, host=host, port=chosen, code_dir=code_dir, target_type=target_type)
        return server
    assert failure is not None
    raise ModelLoadError(f"the server {failure}:\n{failure.tail}",
                         hint="run the same 'drumnb server' command in a terminal to see the whole log")


def _register(server: Server, *, host: str, port: int, code_dir: str, target_type: str | None) -> None:
    """List the child in the server registry (it is removed on stop, or by the next reader once the child is gone)."""
    registry.write({
        "name": os.path.basename(code_dir.rstrip(os.sep)), "pid": server.pid, "port": port, "host": host,
        "url": server.url, "proxy_url": server.proxy_url, "model": os.path.basename(code_dir.rstrip(os.sep)),
        "code_dir": code_dir, "target_type": target_type, "kernel_id": registry.kernel_id(), "kernel_pid": os.getpid(),
        "started": time.time(), "log": server.log_path, "create_time": registry.process_create_time(server.pid),
        "reload": False,
    })


def serve(model_or_code_dir: Any, target_type: str | None = None, *, host: str = HOST, port: int = 0,
          url_prefix: str = "", process: bool = False, workers: int | None = None,
          with_error_server: bool = True, max_request_size: int | None = DEFAULT_MAX_REQUEST_SIZE,
          env: dict[str, str] | None = None, timeout: float = 120.0, **load_kwargs: Any) -> Server:
    """Serve a model in the background; returns a :class:`Server` (use it in a ``with`` block).

    ``model_or_code_dir``: a loaded :class:`~drumnb.model.Model` or a model
    folder (``load_kwargs`` are :func:`drumnb.load_model`'s label arguments).
    ``process=True`` / ``workers=N`` run a child process (gunicorn with
    ``workers``), ``env`` adds to its environment.  ``with_error_server``
    (default on, as in notebooks): a model that fails to load gives a server
    answering 513 rather than an exception.
    """
    prefix = normalize_prefix(url_prefix)
    if host not in ("127.0.0.1", "localhost", "::1"):
        import warnings

        warnings.warn(f"serving on {host}: the server is reachable from other machines", stacklevel=2)
    is_model = hasattr(model_or_code_dir, "predict") and hasattr(model_or_code_dir, "config")
    if process or workers:
        if is_model:
            model = model_or_code_dir
            code_dir = model.archive or model.code_dir
            target_type = target_type or model.target_type
            cfg = model.config
            load_kwargs = {"positive_class_label": cfg.positive_class_label,
                           "negative_class_label": cfg.negative_class_label,
                           "class_labels": cfg.class_labels, "monitor": getattr(model, "monitor", None),
                           **load_kwargs}
        else:
            code_dir = os.fspath(model_or_code_dir)
        code_dir = os.path.abspath(code_dir)
        args = _server_args(code_dir, target_type=target_type, workers=workers,
                            with_error_server=with_error_server, max_request_size=max_request_size,
                            labels=load_kwargs)
        return _serve_process(args, host=host, port=port, url_prefix=prefix, env=env, timeout=timeout,
                              with_error_server=with_error_server, code_dir=code_dir, target_type=target_type)
    if is_model:
        model: Any = model_or_code_dir
    else:
        from .options import ModelLoader

        model = ModelLoader(os.fspath(model_or_code_dir), target_type, load_kwargs)
    return _serve_thread(model, host=host, port=port, url_prefix=prefix, with_error_server=with_error_server,
                         max_request_size=max_request_size)
