"""Tornado handlers of ``/drumnb/api/``: thin translations to folders, the registry and ``drumnb new``.

Blocking work (reading folders, health requests, training a template's model)
runs in a thread so that the Jupyter server stays responsive.
"""
from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from .. import predictors, supervisor
from . import folders

_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="drumnb-labext")
HEALTH_TIMEOUT = 2.0
STOP_TIMEOUT = 5.0


async def _in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(_POOL, lambda: fn(*args, **kwargs))


# --- servers ---------------------------------------------------------------------------------------

def health(url: str, timeout: float = HEALTH_TIMEOUT) -> dict[str, Any]:
    """GET ``url/health/``: ``{"ok", "status", "latency_ms", "message"}``."""
    started = time.perf_counter()
    out: dict[str, Any] = {"ok": False, "status": None, "latency_ms": None, "message": ""}
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health/", timeout=timeout) as resp:
            out["status"] = resp.status
            body = resp.read(2000)
    except urllib.error.HTTPError as exc:
        out["status"] = exc.code
        body = exc.read(2000) if exc.fp else b""
    except Exception as exc:  # noqa: BLE001 - a dead or busy server is a row, not an error
        out["message"] = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"[:200]
        return out
    out["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    out["ok"] = out["status"] == 200
    if not out["ok"]:
        try:
            out["message"] = str(json.loads(body).get("message", ""))[:200]
        except (ValueError, AttributeError):
            out["message"] = body.decode("utf-8", "replace")[:200]
    return out


def memory_mb(pid: int) -> float | None:
    """Resident memory of the server's process tree, in MB."""
    try:
        from ..server.stats import memory_stats

        return memory_stats(pid)["mem_info"].get("drum_rss")
    except Exception:  # noqa: BLE001 - psutil absent, process gone
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
    return None


def list_servers() -> list[dict[str, Any]]:
    """Every live registry entry with its health and memory (checked in parallel)."""
    from .. import server_registry as registry

    entries = registry.entries()

    def row(entry: dict[str, Any]) -> dict[str, Any]:
        keep = ("name", "pid", "port", "host", "url", "proxy_url", "model", "code_dir", "target_type", "kernel_id",
                "started", "log")
        out = {k: entry.get(k) for k in keep}
        out["health"] = health(entry["url"])
        out["memory_mb"] = memory_mb(int(entry["pid"]))
        return out

    if not entries:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(entries))) as pool:
        return list(pool.map(row, entries))


def stop_server(pid: int, timeout: float = STOP_TIMEOUT) -> dict[str, Any]:
    """SIGTERM (then SIGKILL after ``timeout``) the server ``pid``, which must be in the registry."""
    from .. import server_registry as registry

    entry = next((e for e in registry.entries() if int(e["pid"]) == pid), None)
    if entry is None:
        raise KeyError(pid)
    used = supervisor.stop_pid(pid, timeout)  # a gunicorn master's workers go too
    registry.remove(pid)
    return {"stopped": not registry.pid_alive(pid), "pid": pid, "name": entry.get("name"), "signal": used}


# --- handlers --------------------------------------------------------------------------------------

class _Base(APIHandler):
    @property
    def root_dir(self) -> str:
        return self.settings["drumnb_root_dir"]

    def fail(self, status: int, message: str, hint: str | None = None) -> None:
        self.set_status(status)
        self.finish(json.dumps({"message": message, **({"hint": hint} if hint else {})}))


class InfoHandler(_Base):
    @tornado.web.authenticated
    def get(self) -> None:
        from .._version import __version__
        from . import LABEXTENSION

        self.finish(json.dumps({"version": __version__, "root_dir": self.root_dir,
                                "labextension_built": os.path.isfile(os.path.join(LABEXTENSION, "package.json"))}))


class ModelsHandler(_Base):
    @tornado.web.authenticated
    async def get(self) -> None:
        subdir = self.get_query_argument("path", "")
        try:
            models = await _in_thread(folders.list_models, self.root_dir, subdir)
        except ValueError as exc:
            return self.fail(400, str(exc))
        self.finish(json.dumps({"root_dir": self.root_dir, "path": subdir, "models": models}))

    @tornado.web.authenticated
    async def post(self) -> None:
        """``drumnb new model``: ``{"path", "language", "framework", "name", "build", "force"}``."""
        from ..core.errors import DrumnbError
        from ..tools import new_model

        try:
            body = self.get_json_body() or {}
        except Exception:  # noqa: BLE001 - tornado raises a 400-ish HTTPError on bad JSON
            return self.fail(400, "the body must be JSON")
        path = str(body.get("path") or "").strip()
        if not path:
            return self.fail(400, "a folder name is needed", "e.g. {\"path\": \"my_model\"}")
        try:
            folder = folders.resolve_inside(self.root_dir, path)
        except ValueError as exc:
            return self.fail(400, str(exc))
        language = str(body.get("language") or "python")
        framework = body.get("framework") or None
        if language != "python":
            framework = None
        try:
            result = await _in_thread(new_model, folder, language, framework, name=body.get("name") or None,
                                      force=bool(body.get("force")), build=bool(body.get("build", True)))
        except DrumnbError as exc:
            return self.fail(409 if "exists" in exc.message else 400, exc.message, exc.hint)
        out = result.to_dict()
        out["path"] = os.path.relpath(result.folder, self.root_dir).replace(os.sep, "/")
        out["model"] = await _in_thread(folders.describe, result.folder, self.root_dir)
        self.set_status(201)
        self.finish(json.dumps(out, default=str))


def frameworks() -> dict[str, Any]:
    """The choices of "New DRUM model": languages and Python frameworks with a template, from the registry."""
    return {"languages": predictors.template_languages(), "frameworks": list(predictors.templates("python"))}


class FrameworksHandler(_Base):
    @tornado.web.authenticated
    def get(self) -> None:
        self.finish(json.dumps(frameworks()))


class ServersHandler(_Base):
    @tornado.web.authenticated
    async def get(self) -> None:
        servers = await _in_thread(list_servers)
        self.finish(json.dumps({"servers": servers}, default=str))


class StopHandler(_Base):
    @tornado.web.authenticated
    async def post(self, pid: str) -> None:
        try:
            result = await _in_thread(stop_server, int(pid))
        except KeyError:
            return self.fail(404, f"no drumnb server with PID {pid} in the registry",
                             "only servers listed by GET /drumnb/api/servers can be stopped")
        self.finish(json.dumps(result))


def _warm_up() -> None:
    """Import what the first model listing needs (pandas, yaml, the predictors) before anyone asks."""
    try:
        from ..core import contract, metadata  # noqa: F401
        from .. import server_registry  # noqa: F401
        from ..jupyter import hookcheck  # noqa: F401
        from ..tools import describe  # noqa: F401
    except Exception:  # noqa: BLE001 - the request will report it
        pass


def setup_handlers(web_app: Any, root_dir: str) -> None:
    _POOL.submit(_warm_up)
    web_app.settings["drumnb_root_dir"] = os.path.abspath(os.path.expanduser(root_dir))
    base = url_path_join(web_app.settings["base_url"], "drumnb", "api")
    web_app.add_handlers(".*$", [
        (url_path_join(base, "info"), InfoHandler),
        (url_path_join(base, "models"), ModelsHandler),
        (url_path_join(base, "frameworks"), FrameworksHandler),
        (url_path_join(base, "servers"), ServersHandler),
        (url_path_join(base, "servers", r"(\d+)", "stop"), StopHandler),
    ])
