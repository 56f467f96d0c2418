"""A real ``jupyter lab`` on 127.0.0.1 and headless Chromium (Python Playwright) for tests/labext/test_ui.py.

The server gets its own runtime, config, settings and workspaces folders (so
the registry of drumnb servers, JupyterLab's settings and layouts are the
test's alone), a root folder with example models, and no token.  Everything
started here is stopped by PID: kernels through the server's REST API, drumnb
servers left in the test's registry by SIGTERM, the server by SIGTERM (then
SIGKILL).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("DRUMNB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "build" / "ui-screenshots"
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def notebook(path: Path, cells: list[str]) -> Path:
    """Write a notebook of code cells (no outputs)."""
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
                     "source": src} for i, src in enumerate(cells)],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                       "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb, indent=1))
    return path


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped by its parent, counts as gone)."""
    from drumnb.server_registry import pid_alive as alive

    return alive(pid)


class Lab:
    """``jupyter lab`` in a subprocess; ``url``, ``root``, ``runtime``; :meth:`stop` ends it and its kernels."""

    def __init__(self, base: Path, root: Path):
        self.base, self.root = base, root
        self.runtime = base / "runtime"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = base / "jupyter-lab.log"

    def env(self) -> dict[str, str]:
        settings = self.base / "settings"
        (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True, exist_ok=True)
        (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        for sub in ("runtime", "config", "workspaces"):
            (self.base / sub).mkdir(exist_ok=True)
        env = dict(os.environ)
        env.update({"JUPYTER_RUNTIME_DIR": str(self.runtime), "JUPYTER_CONFIG_DIR": str(self.base / "config"),
                    "JUPYTERLAB_SETTINGS_DIR": str(settings),
                    "JUPYTERLAB_WORKSPACES_DIR": str(self.base / "workspaces"),
                    "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", "PYTHONUNBUFFERED": "1",
                    "MPLBACKEND": "Agg"})
        return env

    def start(self, timeout: float = 60.0) -> "Lab":
        cmd = [sys.executable, "-m", "jupyterlab", "--allow-root", "--no-browser", "--ip", "127.0.0.1",
               "--port", str(self.port), "--port-retries=0", f"--ServerApp.root_dir={self.root}",
               "--IdentityProvider.token=", "--ServerApp.password=", "--LabApp.news_url=None",
               "--LabApp.extension_manager=readonly",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=self.env(),
                                     cwd=str(self.root))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({self.proc.returncode}):\n{self.log_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer in {timeout:.0f} s:\n{self.log_text()}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def xsrf(self) -> str:
        """The ``_xsrf`` cookie the server sets on a page: sent back as a header, it allows POST and DELETE."""
        if not getattr(self, "_xsrf", None):
            with urllib.request.urlopen(f"{self.url}/lab", timeout=30) as r:
                for header in r.headers.get_all("Set-Cookie") or []:
                    name, _, rest = header.partition("=")
                    if name.strip() == "_xsrf":
                        self._xsrf = rest.split(";", 1)[0]
        return getattr(self, "_xsrf", "") or ""

    def api(self, path: str, method: str = "GET", body: Any = None, timeout: float = 30) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if method != "GET":
            token = self.xsrf()
            headers.update({"X-XSRFToken": token, "Cookie": f"_xsrf={token}"})
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read()
        return json.loads(text) if text else None

    def registry_entries(self) -> list[dict[str, Any]]:
        folder = self.runtime / "drumnb-servers"
        out = []
        for f in sorted(folder.glob("server-*.json")) if folder.is_dir() else []:
            try:
                out.append(json.loads(f.read_text()))
            except (OSError, ValueError):
                pass
        return out

    def shutdown_kernels(self) -> None:
        try:
            for k in self.api("/api/kernels"):
                try:
                    self.api(f"/api/kernels/{k['id']}", method="DELETE")
                except OSError:
                    pass
        except OSError:
            pass

    def stop_servers(self) -> None:
        """SIGTERM (then SIGKILL) the drumnb servers still in this test's registry: all were started by its kernels."""
        pids = [int(e["pid"]) for e in self.registry_entries() if e.get("pid")]
        for pid in pids:
            if pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 5
        for pid in pids:
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.shutdown_kernels()
            self.stop_servers()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.stop_servers()
        self.log.close()
        self.proc = None


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
        return f"Chromium is not installed ({CHROMIUM}); `make deb` installs Debian's chromium"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (pip install -e '.[test]')"
    return None


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
