"""Watch a model folder and call back when its files change: the engine of save-and-see reloads.

One :class:`FolderWatcher` a folder: a daemon thread driven by the maintained ``watchfiles`` library (inotify
on Linux, FSEvents / ReadDirectoryChangesW elsewhere; no hand-written polling).  Changes are debounced
(an editor's write-rename-chmod is one call), hidden files, ``__pycache__``, backups and temporary files are
ignored, and :meth:`FolderWatcher.stop` ends the thread within about ``step`` milliseconds.  The callback gets
the set of changed file names; whatever it raises is logged, and watching goes on.

Standard library and watchfiles only: no Jupyter, no Flask (the kernel, ``%drum_serve`` servers and
``drumnb server --reload`` workers all use it).

    watcher = FolderWatcher("my_model/", lambda names: model.hot_reload()).start()
    ...
    watcher.stop()
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("drumnb.watch")

#: Milliseconds without a new change before a batch of changes is handed over.
STEP_MS = 50
#: Most milliseconds changes are grouped over (a file rewritten continuously still reloads this often).
DEBOUNCE_MS = 1600
#: Milliseconds after which an idle watch answers "no change" (the first such answer tells start() it watches).
READY_MS = 250
_IGNORED_SUFFIXES = (".tmp", ".swp", ".swx", "~", ".pyc")


def available() -> bool:
    """Whether ``watchfiles`` is installed (it comes with ``drumnb[server]``)."""
    try:
        import watchfiles  # noqa: F401
    except ImportError:
        return False
    return True


def interesting(path: str) -> bool:
    """Whether a change to ``path`` may matter to a model (not a hidden, temporary or backup file)."""
    name = os.path.basename(path)
    return not (name.startswith(".") or name == "__pycache__" or "/__pycache__/" in path
                or ".bak-" in name or name.endswith(_IGNORED_SUFFIXES))


def _names(batch: set[tuple[Any, str]]) -> set[str]:
    """The file names a batch of changes touched, without an editor's temporary files (made and removed
    within the batch, and gone now)."""
    kinds: dict[str, set[str]] = {}
    for change, path in batch:
        kinds.setdefault(path, set()).add(getattr(change, "name", str(change)))
    return {os.path.basename(path) for path, seen in kinds.items()
            if not ({"added", "deleted"} <= seen and not os.path.exists(path))}


class FolderWatcher:
    """Calls ``callback(names)`` from its thread after files of ``folder`` changed (top level only)."""

    def __init__(self, folder: str, callback: Callable[[set[str]], Any], *, step_ms: int = STEP_MS,
                 debounce_ms: int = DEBOUNCE_MS, name: str = "drumnb-watch"):
        self.folder = os.path.abspath(folder)
        self.callback = callback
        self.step_ms = step_ms
        self.debounce_ms = debounce_ms
        self.name = name
        self.batches = 0  # callbacks made (tests and panels read it)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, wait: float = 0.0) -> "FolderWatcher":
        """Start watching; with ``wait``, return once the watch is in place (at most ``wait`` seconds, about
        :data:`READY_MS`): changes made after that are seen."""
        if not available():
            from .core.errors import ConfigurationError

            raise ConfigurationError("watching a model folder needs the package 'watchfiles'",
                                     hint="pip install 'drumnb[server]' (or watchfiles)")
        if self.running:
            return self
        self._stop.clear()
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        if wait:
            self._ready.wait(wait)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching; waits for the thread (and a callback in progress) at most ``timeout`` seconds."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        from watchfiles import watch

        try:
            changes = watch(self.folder, watch_filter=lambda _change, path: interesting(path),
                            debounce=self.debounce_ms, step=self.step_ms, stop_event=self._stop,
                            rust_timeout=READY_MS, yield_on_timeout=True, recursive=False, raise_interrupt=False)
            for batch in changes:
                self._ready.set()  # the first answer (empty after READY_MS) comes from a watch in place
                if self._stop.is_set():
                    break
                if not batch:
                    continue
                names = _names(batch)
                if not names:
                    continue
                self.batches += 1
                try:
                    self.callback(names)
                except Exception:  # noqa: BLE001 - a failing callback must not end the watch
                    log.exception("reacting to changes of %s failed", self.folder)
        except Exception as exc:  # noqa: BLE001 - the folder vanished, or the watch could not be set up
            log.warning("stopped watching %s: %s: %s", self.folder, type(exc).__name__, exc)
        finally:
            self._ready.set()

    def __enter__(self) -> "FolderWatcher":
        return self.start(wait=5.0)

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<FolderWatcher {self.folder!r} {'running' if self.running else 'stopped'}>"
