"""Start a prediction server from Python, in the background, BentoML style.

    with serve("my_model/", target_type="regression") as server:
        server.client().predict(df)          # a DataFrame of predictions
        requests.get(server.url + "/info/")

``serve`` listens on 127.0.0.1 and a free port.  By default it serves a
thread of this process (the model object is shared, nothing is copied); with
``process=True`` or ``workers=N`` it runs ``drumnb server`` as a child process
(gunicorn when ``workers`` is given) and stops it, by PID, on ``stop()``.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any

from ..core.errors import ModelLoadError
from .client import Client
from .options import DEFAULT_MAX_REQUEST_SIZE, normalize_prefix

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Server:
    """A running background server: ``.url``, ``.client()``, ``.stop()``; a context manager."""

    def __init__(self, url: str, *, thread: threading.Thread | None = None, wsgi: Any = None,
                 process: subprocess.Popen | None = None, log_path: str | None = None, app: Any = None):
        self.url = url
        self.app = app
        self._thread, self._wsgi, self.process, self.log_path = thread, wsgi, process, log_path
        self._clients: list[Client] = []
        self._finalizer = weakref.finalize(self, _stop, wsgi, process, log_path)

    @property
    def pid(self) -> int:
        """PID of the serving process (this one for a thread server)."""
        return self.process.pid if self.process else os.getpid()

    @property
    def running(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return self._thread is not None and self._thread.is_alive()

    def client(self) -> Client:
        """A :class:`~drumnb.server.client.Client` of this server: predict, predict_unstructured, chat, openai()."""
        client = Client(self.url)
        self._clients.append(client)
        return client

    def logs(self) -> str:
        """What a child-process server wrote to stderr so far."""
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as fh:
            return fh.read()

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
        _stop(None, self.process, self.log_path, timeout)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        kind = f"process {self.process.pid}" if self.process else "thread"
        return f"<drumnb.Server {self.url} ({kind}{'' if self.running else ', stopped'})>"


def _stop(wsgi: Any, process: subprocess.Popen | None, log_path: str | None, timeout: float = 5.0) -> None:
    if wsgi is not None:
        from .runner import stop_gracefully

        stop_gracefully(wsgi, timeout)
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    if log_path and os.path.exists(log_path):
        os.remove(log_path)


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
                   timeout: float, with_error_server: bool) -> Server:
    import requests

    last_error = ""
    for _attempt in range(1 if port else 3):  # a free port may be taken between the check and the bind
        chosen = port or free_port(host)
        fd, log_path = tempfile.mkstemp(prefix="drumnb-server-", suffix=".log")
        full_env = {**os.environ, **(env or {}), "URL_PREFIX": url_prefix}
        with os.fdopen(fd, "wb") as log_file:
            process = subprocess.Popen([sys.executable, "-m", "drumnb", *args, "--address", f"{host}:{chosen}"],
                                       stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=full_env)
        url = f"http://{host}:{chosen}{url_prefix}"
        server = Server(url, process=process, log_path=log_path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = requests.get(url + "/health/", timeout=2).status_code
            except requests.RequestException:
                status = None
            if status == 200 or (status == 513 and with_error_server):
                return server
            time.sleep(0.1)
        last_error = server.logs()
        server.stop()
        if "cannot listen on" not in last_error:
            break
    tail = "\n".join(last_error.strip().splitlines()[-15:])
    raise ModelLoadError(f"the server did not become ready within {timeout:.0f}s:\n{tail}",
                         hint="run the same 'drumnb server' command in a terminal to see the whole log")


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
        args = _server_args(os.path.abspath(code_dir), target_type=target_type, workers=workers,
                            with_error_server=with_error_server, max_request_size=max_request_size,
                            labels=load_kwargs)
        return _serve_process(args, host=host, port=port, url_prefix=prefix, env=env, timeout=timeout,
                              with_error_server=with_error_server)
    if is_model:
        model: Any = model_or_code_dir
    else:
        from .options import ModelLoader

        model = ModelLoader(os.fspath(model_or_code_dir), target_type, load_kwargs)
    return _serve_thread(model, host=host, port=port, url_prefix=prefix, with_error_server=with_error_server,
                         max_request_size=max_request_size)
