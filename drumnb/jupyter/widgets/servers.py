"""The server panel: every running server with status, health, memory, latency, recent log lines,
and stop / restart buttons (for the servers this kernel started).

Servers of other kernels (read from the registry) are shown read-only.
*Refresh* re-reads everything; *auto* refreshes every few seconds from a
background thread until unticked or :meth:`ServerPanel.close`.
"""
from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as W

from ..workspace import display_path
from .static import StaticFallback


def _row_stats(url: str, server: Any = None) -> dict[str, Any]:
    """Health (status, latency) and /stats/ (memory, predictions) of the server at ``url``."""
    import time

    from ...server.client import Client

    out: dict[str, Any] = {"health": None, "latency_ms": None, "memory_mb": None, "predictions": None,
                           "message": ""}
    if server is not None and not server.running:
        out["message"] = server.status
        return out
    client = Client(url, timeout=3)
    try:
        started = time.perf_counter()
        r = client.get("/health/", timeout=3)
        out["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        out["health"] = r.status_code
        if r.status_code != 200:
            try:
                out["message"] = str(r.json().get("message", ""))[:200]
            except ValueError:
                out["message"] = r.text[:200]
        s = client.get("/stats/", timeout=3)
        if s.status_code == 200:
            stats = s.json()
            out["memory_mb"] = (stats.get("mem_info") or {}).get("drum_rss")
            out["predictions"] = stats.get("predictions")
            out["steps"] = {step: v["avg_ms"] for step, v in (stats.get("steps") or {}).items()}
        status = client.get("/_drumnb/status", timeout=3)  # a %drum_serve server: what its last reload did
        if status.status_code == 200 and "application/json" in status.headers.get("Content-Type", ""):
            out["last_reload"] = status.json().get("last_reload")
    except Exception as exc:  # noqa: BLE001 - a dead or busy server is a row, not an error
        out["message"] = f"{type(exc).__name__}"
    finally:
        client.close()
    return out


def collect() -> list[dict[str, Any]]:
    """One dict per server: this kernel's (with handles), then other kernels' from the registry."""
    from ... import server_registry as registry
    from .. import launcher

    rows, seen = [], set()
    for server in launcher.servers().values():
        seen.add(server.pid)
        rows.append({"name": server.name, "url": server.url, "browser_url": server.browser_url, "pid": server.pid,
                     "status": server.status, "model": display_path(server.code_dir), "own": True,
                     "server": server, **_row_stats(server.url, server)})
    for entry in registry.entries():
        if entry["pid"] in seen:
            continue
        rows.append({"name": entry.get("name"), "url": entry["url"],
                     "browser_url": entry.get("proxy_url") or entry["url"], "pid": entry["pid"], "status": "running",
                     "model": display_path(entry.get("code_dir") or ""), "own": False, "server": None,
                     "log": entry.get("log"), **_row_stats(entry["url"])})
    return rows


def _tail(path: str | None, n: int) -> str:
    if not path:
        return ""
    try:
        with open(path, errors="replace") as fh:
            return "\n".join(fh.read().rstrip("\n").splitlines()[-n:])
    except OSError:
        return ""


class ServerPanel(StaticFallback, W.VBox):
    """A live table of servers with per-server stop / restart buttons."""

    def __init__(self, *, log_lines: int = 6, auto: bool = False, interval: float = 3.0):
        self.log_lines = log_lines
        self.interval = interval
        self.rows: list[dict[str, Any]] = []
        self.open_requests: set[int] = set()   # pids whose last requests are shown (kept across refreshes)
        self.refresh_button = W.Button(description="Refresh", icon="refresh")
        self.auto = W.Checkbox(value=False, description=f"auto ({interval:g} s)", indent=False)
        self.message = W.HTML("")
        self.body = W.VBox([])
        self.refresh_button.on_click(lambda _: self.refresh())
        self.auto.observe(self._on_auto, names="value")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        super().__init__([W.HBox([self.refresh_button, self.auto, self.message]), self.body])
        self.refresh()
        if auto:
            self.auto.value = True

    # --- data --------------------------------------------------------------------------------------
    def refresh(self) -> list[dict[str, Any]]:
        self.rows = collect()
        self.body.children = [self._row_widget(r) for r in self.rows] or [W.HTML("<i>no server is running</i>")]
        return self.rows

    def table(self) -> Any:
        """The rows as a DataFrame (what the panel shows, without the buttons)."""
        import pandas as pd

        cols = ["name", "url", "pid", "status", "health", "latency_ms", "memory_mb", "predictions", "model", "own"]
        return pd.DataFrame([{k: r.get(k) for k in cols} for r in self.rows], columns=cols)

    def _row_widget(self, row: dict[str, Any]) -> W.Widget:
        ok = row["health"] == 200
        colour = "#1a7f37" if ok else "#cf222e"
        url = html.escape(row["browser_url"])
        facts = [f"<b>{html.escape(str(row['name']))}</b>", f"<a href='{url}' target='_blank'>{url}</a>",
                 f"pid {row['pid']}", f"<span style='color:{colour}'>{html.escape(row['status'])}</span>",
                 f"health {row['health'] if row['health'] is not None else '—'}"]
        if row["latency_ms"] is not None:
            facts.append(f"{row['latency_ms']:.1f} ms")
        if row["memory_mb"] is not None:
            facts.append(f"{row['memory_mb']:.0f} MB")
        if row["predictions"] is not None:
            facts.append(f"{row['predictions']} predictions")
        if not row["own"]:
            facts.append("<i>another kernel</i>")
        if row["message"]:
            facts.append(f"<span style='color:#cf222e'>{html.escape(row['message'])}</span>")
        reload_line = (f"<br><span style='color:#555'>{html.escape(row['last_reload'])}</span>"
                       if row.get("last_reload") else "")  # what the server's last reload did
        head = W.HTML(" · ".join(facts) + reload_line, layout=W.Layout(flex="1 1 auto"))
        server = row.get("server")
        log_text = server.logs(self.log_lines) if server is not None else _tail(row.get("log"), self.log_lines)
        log = W.HTML("<pre style='margin:0;font-size:85%;max-height:9em;overflow:auto'>"
                     f"{html.escape(log_text.strip())}</pre>")
        buttons: list[W.Widget] = []
        if server is not None:
            stop = W.Button(description="Stop", icon="stop", button_style="danger",
                            layout=W.Layout(width="7em", flex="none"))
            restart = W.Button(description="Restart", icon="repeat", layout=W.Layout(width="8em", flex="none"))
            stop.on_click(lambda _b, s=server: self._act(s, "stop"))
            restart.on_click(lambda _b, s=server: self._act(s, "restart"))
            buttons = [stop, restart]
        requests = W.ToggleButton(value=row["pid"] in self.open_requests, description="Requests", icon="list",
                                  tooltip="the last requests: timings, input, output, replay",
                                  layout=W.Layout(width="8.5em", flex="none"), disabled=row["health"] != 200)
        from .timing import waterfall_html

        average = W.HTML(waterfall_html(row.get("steps"), title="an average prediction:"))
        inside = W.VBox([])
        requests.observe(lambda change, r=row, box=inside: self._requests(r, box, change["new"]), names="value")
        self._requests(row, inside, requests.value)
        return W.VBox([W.HBox([head, *buttons, requests]), log, average, inside],
                      layout=W.Layout(border="1px solid #ddd", padding="4px", margin="2px 0"))

    def _requests(self, row: dict[str, Any], box: W.VBox, show: bool) -> None:
        """Show (or hide) a server's last requests with their waterfalls and Replay buttons."""
        from .timing import RequestsView

        (self.open_requests.add if show else self.open_requests.discard)(row["pid"])
        box.children = [RequestsView(row["url"])] if show and row["health"] == 200 else []

    def _act(self, server: Any, action: str) -> None:
        try:
            if action == "stop":
                server.stop()
                self.message.value = f"stopped {html.escape(server.name)}"
            else:
                new = server.restart()
                self.message.value = f"restarted {html.escape(new.name)} at {html.escape(new.url)}"
        except Exception as exc:  # noqa: BLE001 - shown in the panel
            self.message.value = f"<span style='color:#cf222e'>{html.escape(str(exc))}</span>"
        self.refresh()

    # --- auto refresh ------------------------------------------------------------------------------
    def _on_auto(self, change: Any) -> None:
        if change["new"]:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="drumnb-server-panel", daemon=True)
            self._thread.start()
        else:
            self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - keep refreshing
                pass

    def close(self) -> None:
        self._stop.set()
        super().close()

    def __repr__(self) -> str:
        return f"ServerPanel(servers={[r['name'] for r in self.rows]!r})"
