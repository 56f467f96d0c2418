"""Server settings shared by the CLI verb, the runners and the background server.

Standard library only: ``drumnb.server.commands`` imports this at CLI start-up.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

#: Default cap on a request body: admits a 50 MB CSV and 100,000-row requests with room to spare.
DEFAULT_MAX_REQUEST_SIZE = 256 * 1024 * 1024
#: Default cap on the columns of a payload (CSV header, Matrix Market size line, Arrow / Parquet schema).
DEFAULT_MAX_COLUMNS = 100_000
DEFAULT_ADDRESS = "127.0.0.1:8080"
#: HTTP servers a worker can run: granian's (compiled; the default), gunicorn's threaded or one-request
#: ("sync") worker, or, without gunicorn, werkzeug's threaded server in this one process.
WORKER_CLASSES = ("granian", "gthread", "sync", "werkzeug")
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "kib": 2**10, "mib": 2**20, "gib": 2**30}
_TRUE = {"1", "true", "yes", "on", "y", "t"}


def parse_size(text: str | int) -> int:
    """``"50MB"``, ``"1GiB"``, ``"1048576"`` -> bytes.  Raises ValueError."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size: {text!r} (examples: 1048576, 50MB, 1GiB)")
    size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if size <= 0:
        raise ValueError(f"the size must be positive, got {text!r}")
    return size


def parse_address(text: str) -> tuple[str, int]:
    """``host:port``, ``:port``, ``port``, ``[::1]:port`` or ``http://host:port`` -> (host, port)."""
    value = text.strip()
    for scheme in ("http://", "https://"):
        value = value.removeprefix(scheme)
    value = value.rstrip("/")
    if value.isdigit():
        host, port = "127.0.0.1", value
    elif value.startswith("["):
        host, _, port = value[1:].partition("]:")
    else:
        host, _, port = value.rpartition(":")
    host = host or "0.0.0.0"
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"not an address: {text!r} (expected HOST:PORT, e.g. 127.0.0.1:8080)")
    return host, int(port)


def check_address(host: str, port: int) -> None:
    """Fail early, with a clear message, when ``host:port`` cannot be listened on."""
    import socket

    from ..core.errors import ConfigurationError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                                     hint="another server may hold the port: choose another --address "
                                          "(or ADDRESS), e.g. 127.0.0.1:8081") from None


@dataclass(frozen=True)
class RuntimeSetting:
    """A serving knob: its flag, DRUM's name for it (read from the environment), its type and default."""

    field: str
    flag: str
    env: str
    kind: type
    default: object
    low: float = 0
    help: str = ""


#: The knobs DRUM 1.18.1 reads from the environment (as plain variables or ``MLOPS_RUNTIME_PARAM_<NAME>``
#: runtime parameters), under DRUM's names; a flag wins over the variable.
RUNTIME_SETTINGS = (
    RuntimeSetting("request_timeout", "--request-timeout", "DRUM_CLIENT_REQUEST_TIMEOUT", float, 600.0,
                   help="seconds a model call may take; past it the request answers 504 and the worker is "
                        "replaced (0: no limit; default: 600)"),
    RuntimeSetting("max_requests", "--max-requests", "DRUM_GUNICORN_MAX_REQUESTS", int, 0,
                   help="replace a worker after it has served this many requests, e.g. to bound a leak "
                        "(0: never; default: 0)"),
    RuntimeSetting("max_requests_jitter", "--max-requests-jitter", "DRUM_GUNICORN_MAX_REQUESTS_JITTER", int, 0,
                   help="add 0..N at random to --max-requests per worker, so that workers are not all "
                        "replaced at once (default: 0)"),
    RuntimeSetting("graceful_timeout", "--graceful-timeout", "DRUM_GUNICORN_GRACEFUL_TIMEOUT", int, 30, 1,
                   help="seconds a stopping or replaced worker gets to finish its requests (default: 30)"),
    RuntimeSetting("keep_alive", "--keep-alive", "DRUM_GUNICORN_KEEP_ALIVE", int, 5,
                   help="seconds an idle keep-alive connection is kept open (granian: at least 10; 0: close "
                        "after each answer; default: 5)"),
    RuntimeSetting("worker_class", "--worker-class", "DRUM_GUNICORN_WORKER_CLASS", str, "granian",
                   help="each worker's HTTP server: granian (compiled, asynchronous connections; default), "
                        "gthread or sync (gunicorn's), or werkzeug (one process, no gunicorn; for debugging)"),
    RuntimeSetting("worker_connections", "--worker-connections", "DRUM_WORKER_CONNECTIONS", int, 1000, 1,
                   help="most connections (granian: requests in progress) a worker holds at once "
                        "(default: 1000)"),
    RuntimeSetting("backlog", "--backlog", "DRUM_WEBSERVER_BACKLOG", int, 2048, 1,
                   help="connections waiting to be accepted (default: 2048)"),
)


def runtime_setting(setting: RuntimeSetting, env: Mapping[str, str] | None = None) -> object:
    """``setting``'s value from the environment (``NAME``, else the runtime parameter ``MLOPS_RUNTIME_PARAM_NAME``),
    else its default.  Raises ValueError naming the variable when the value does not parse."""
    import json

    env = os.environ if env is None else env
    raw: object = env.get(setting.env)
    source = setting.env
    if raw is None or not str(raw).strip():
        param = env.get("MLOPS_RUNTIME_PARAM_" + setting.env)
        if param is None or not param.strip():
            return setting.default
        source = "MLOPS_RUNTIME_PARAM_" + setting.env
        try:
            value = json.loads(param)
            raw = value.get("payload") if isinstance(value, dict) else value
        except ValueError:
            raw = param
    return parse_setting(setting, raw, source)


def parse_setting(setting: RuntimeSetting, raw: object, source: str) -> object:
    """``raw`` as ``setting``'s type, checked; ValueError naming ``source`` (a flag or a variable) if not."""
    if setting.kind is str:
        value = str(raw).strip().lower()
        if setting.field == "worker_class":
            value = {"gevent": "granian", "eventlet": "granian", "tornado": "granian",
                     "uvicorn": "granian"}.get(value, value)  # asynchronous connection handling: granian's
            if value not in WORKER_CLASSES:
                raise ValueError(f"{source}: unknown worker class {raw!r} (choose one of {', '.join(WORKER_CLASSES)})")
        return value
    try:
        number = setting.kind(float(str(raw).strip()))
    except (TypeError, ValueError):
        raise ValueError(f"{source}: expected a number, got {raw!r}") from None
    if number < setting.low:
        raise ValueError(f"{source}: expected a number >= {setting.low:g}, got {raw!r}")
    return number


def env_flag(name: str, env: Mapping[str, str] | None = None) -> bool:
    """An environment variable read as a boolean (1/true/yes/on)."""
    return (env if env is not None else os.environ).get(name, "").strip().lower() in _TRUE


def normalize_prefix(prefix: str | None) -> str:
    """``URL_PREFIX`` as ``/a/b`` (no trailing slash), or ``""``."""
    parts = [p for p in (prefix or "").split("/") if p]
    return "/" + "/".join(parts) if parts else ""


@dataclass
class ServerOptions:
    """How to serve one model folder (the CLI verb builds this; the runners read it)."""

    code_dir: str
    host: str = "127.0.0.1"
    port: int = 8080
    url_prefix: str = ""
    with_error_server: bool = False
    max_request_size: int = DEFAULT_MAX_REQUEST_SIZE
    max_columns: int | None = DEFAULT_MAX_COLUMNS  # columns a payload may have (more: 413)
    max_cells: int | None = None  # rows x columns a payload may declare; None: max_request_size
    workers: int | None = None  # worker processes under the gunicorn master (None: 1)
    threads: int = 4  # requests each worker runs at once
    logging_level: str = "warning"
    timeout: int = 120  # a worker silent (no heartbeat) this long is killed and replaced
    graceful_timeout: int = 30
    request_timeout: float | None = 600.0  # seconds a model call may take (None or 0: unbounded)
    max_requests: int = 0  # replace a worker after this many requests (0: never)
    max_requests_jitter: int = 0
    keep_alive: int = 5  # seconds an idle keep-alive connection stays open (0: none)
    worker_class: str = "granian"  # see WORKER_CLASSES
    worker_connections: int = 1000
    backlog: int = 2048
    target_type: str | None = None
    reload: bool = False  # watch the folder; reload the hooks on edits (the artifact only when loading changed)
    keep_requests: int | None = None  # prediction requests kept for replay (None: 50 with reload, else 0)
    #: the other keyword arguments of :func:`drumnb.model.load_model` (labels, runtime parameters, monitor)
    load_kwargs: dict = field(default_factory=dict)

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def app_kwargs(self) -> dict:
        """The keyword arguments of :func:`drumnb.server.app.create_app` these options set (every runner)."""
        return {"url_prefix": self.url_prefix, "with_error_server": self.with_error_server,
                "max_request_size": self.max_request_size, "max_columns": self.max_columns,
                "max_cells": self.max_cells, "request_timeout": self.request_timeout or None,
                "threads": self.threads, "reload": self.reload, "keep_requests": self.keep_requests}

    def loader(self) -> "ModelLoader":
        """A callable that loads the model (called in each worker under gunicorn)."""
        return ModelLoader(self.code_dir, self.target_type, self.load_kwargs)


@dataclass
class ModelLoader:
    """``load_model(code_dir, target_type, **kwargs)`` as a named, picklable callable."""

    code_dir: str
    target_type: str | None
    kwargs: dict

    def __call__(self):
        from ..model import load_model

        return load_model(self.code_dir, self.target_type, **self.kwargs)
