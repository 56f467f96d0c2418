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
    workers: int | None = None  # None: one process, threaded; N: gunicorn with N pre-forked workers
    threads: int = 1  # per gunicorn worker
    logging_level: str = "warning"
    timeout: int = 120  # gunicorn worker timeout (seconds without a heartbeat)
    graceful_timeout: int = 30
    target_type: str | None = None
    #: the other keyword arguments of :func:`drumnb.core.model.load_model` (labels, runtime parameters, monitor)
    load_kwargs: dict = field(default_factory=dict)

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

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
        from ..core.model import load_model

        return load_model(self.code_dir, self.target_type, **self.kwargs)
