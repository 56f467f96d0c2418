"""The registry of running notebook servers: one JSON file per server.

Files live in ``<jupyter runtime dir>/drumnb-servers/`` (``JUPYTER_RUNTIME_DIR``
moves it), named ``server-<pid>.json``, so that anything on the machine -- the
JupyterLab extension, another kernel, a terminal -- can list what runs::

    from drumnb import server_registry as registry
    for entry in registry.entries():          # stale ones are removed on the way
        print(entry["name"], entry["url"], entry["pid"])

An entry holds: ``name, pid, port, host, url, proxy_url, model, code_dir,
target_type, kernel_id, kernel_pid, started, create_time, log, reload, version``
(``reload``: whether it has ``%drum_serve``'s reload route; False for ``drumnb.serve(process=True)``).
The server process writes its own entry once it listens and removes it when
it exits cleanly; an entry whose process is gone (or whose PID now belongs to
another program) is *stale* and is deleted by :func:`entries`.

Standard library only (and ``jupyter_core`` when present; :mod:`drumnb.supervisor`
is standard library too), so that a Jupyter server extension can import it cheaply.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
import time
from typing import Any, Iterator
from urllib.parse import urlsplit

from .supervisor import pid_alive  # noqa: F401 - part of this module's interface (the sidebar uses it)

VERSION = 1
SUBDIR = "drumnb-servers"
PREFIX = "server-"


def runtime_dir() -> str:
    """Jupyter's runtime directory (``JUPYTER_RUNTIME_DIR`` or the platform default)."""
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        return jupyter_runtime_dir()
    except ImportError:  # pragma: no cover - jupyter_core comes with every Jupyter install
        base = os.environ.get("JUPYTER_RUNTIME_DIR")
        if base:
            return base
        return os.path.join(os.environ.get("XDG_RUNTIME_DIR") or os.path.expanduser("~/.local/share"),
                            "jupyter", "runtime")


def kernel_id() -> str:
    """This kernel's id (from its connection file ``kernel-<id>.json``), else ``pid-<pid>``."""
    if "ipykernel" in sys.modules:  # never imported here: outside a kernel it is not needed
        try:
            from ipykernel.connect import get_connection_file

            stem = os.path.basename(get_connection_file()).removesuffix(".json")
            return stem.removeprefix("kernel-")
        except Exception:  # noqa: BLE001 - ipykernel imported, but this is not a kernel (testing shell)
            pass
    return f"pid-{os.getpid()}"


def proxy_url_template(env: dict[str, str] | None = None) -> str | None:
    """``<hub prefix>proxy/{port}/`` on JupyterHub / Binder (with jupyter-server-proxy), else None.

    The URL of a server on this machine as a browser reaches it through the Jupyter server
    (``JUPYTERHUB_PUBLIC_URL`` makes it absolute); every server handle and registry entry shows it.
    """
    env = os.environ if env is None else env
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX")
    if not prefix:
        return None
    if importlib.util.find_spec("jupyter_server_proxy") is None:
        return None
    path = "/" + prefix.strip("/") + "/proxy/{port}/"
    public = (env.get("JUPYTERHUB_PUBLIC_URL") or "").rstrip("/")
    if public:
        parts = urlsplit(public)
        return f"{parts.scheme}://{parts.netloc}{path}" if parts.scheme else path
    return path


def registry_dir(create: bool = True) -> str:
    """``<runtime dir>/drumnb-servers`` (created, mode 0700, when ``create``)."""
    path = os.path.join(runtime_dir(), SUBDIR)
    if create:
        os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def entry_path(pid: int) -> str:
    return os.path.join(registry_dir(), f"{PREFIX}{pid}.json")


def process_create_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch, from /proc), or None if it does not exist."""
    try:
        import psutil

        return psutil.Process(pid).create_time()
    except ImportError:  # pragma: no cover - psutil comes with drumnb[server]
        return time.time() if pid_alive(pid) else None
    except Exception:  # noqa: BLE001 - NoSuchProcess, AccessDenied, ZombieProcess
        return None


def is_alive(entry: dict[str, Any]) -> bool:
    """Whether the entry's server process still runs (same PID *and* same start time)."""
    pid = int(entry.get("pid") or 0)
    if not pid_alive(pid):
        return False
    created = entry.get("create_time")
    if created is None:
        return True
    now = process_create_time(pid)
    return now is not None and abs(now - float(created)) < 2.0


def write(entry: dict[str, Any]) -> str:
    """Write (atomically) the entry of server ``entry["pid"]``; returns the file's path."""
    entry = {"version": VERSION, **entry}
    path = entry_path(int(entry["pid"]))
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(entry, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)
    return path


def remove(pid: int) -> bool:
    """Delete server ``pid``'s entry; True if there was one."""
    try:
        os.remove(os.path.join(registry_dir(create=False), f"{PREFIX}{pid}.json"))
        return True
    except FileNotFoundError:
        return False


def read(path: str) -> dict[str, Any] | None:
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "pid" in data else None


def _files() -> Iterator[str]:
    folder = registry_dir(create=False)
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return
    for name in names:
        if name.startswith(PREFIX) and name.endswith(".json"):
            yield os.path.join(folder, name)


def entries(*, clean: bool = True, kernel_id: str | None = None) -> list[dict[str, Any]]:
    """Every live server (oldest first); stale entries are deleted when ``clean``.

    ``kernel_id`` keeps only the servers that kernel started.
    """
    out = []
    for path in _files():
        entry = read(path)
        if entry is None:
            # a half-written or foreign file: remove it only when it is old (not being written now)
            if clean and time.time() - _mtime(path) > 60:
                _unlink(path)
            continue
        if not is_alive(entry):
            if clean:
                _unlink(path)
            continue
        if kernel_id is not None and entry.get("kernel_id") != kernel_id:
            continue
        out.append(entry)
    out.sort(key=lambda e: (e.get("started") or 0, e.get("pid") or 0))
    return out


def find(name_or_pid: str | int, *, kernel_id: str | None = None) -> dict[str, Any] | None:
    """The live entry with this name (the newest) or PID."""
    matches = [e for e in entries(kernel_id=kernel_id)
               if str(e.get("pid")) == str(name_or_pid) or e.get("name") == name_or_pid]
    return matches[-1] if matches else None


def clean() -> int:
    """Remove stale entries; returns how many were removed."""
    before = len(list(_files()))
    entries(clean=True)
    return before - len(list(_files()))


def _mtime(path: str) -> float:
    try:
        return os.path.getmtime(path)
    except OSError:
        return 0.0


def _unlink(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
