"""Models of a notebook: names, folders, ``custom.py`` written from cells, and loaded models.

* ``NAME`` lives in ``drum_models/NAME/`` under the notebook's folder (the
  kernel's working directory; ``DRUMNB_MODELS_DIR`` moves it) unless a
  ``--code-dir`` was given; the name is then remembered for this kernel.
* A cell's text becomes ``custom.py`` as it is, after one first line, the
  drumnb marker, so that line N of the file is line N of the cell.  The marker
  holds a hash of the text: a file without a marker, or edited since drumnb
  wrote it, is someone's work and is never replaced without ``--force``
  (and then it is backed up first).
* Loaded models are cached per folder and label arguments.  A file watcher
  (:mod:`drumnb.watch`) per cached folder reloads them when files change (by a
  cell or any editor): new hooks with the loaded model kept, unless loading
  changed (:meth:`drumnb.model.Model.hot_reload`).  Every widget and magic that
  asks the workspace for a model gets the current hooks, and
  :meth:`Workspace.reload_note` the one line saying what happened ("hooks
  reloaded in 4 ms"; a failing edit keeps the previous hooks and says why).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .. import watch
from ..core.errors import ConfigurationError
from ..core.hooks import folder_state
from . import errors
from .hookcheck import Report, check_source

MARKER = "drumnb-marker"
HOOK_FILE = "custom.py"
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def marker_line(name: str, body: str) -> str:
    return (f"# {MARKER}: written from a notebook cell by %%drum_hooks {name} "
            f"(sha256:{_digest(body)}); edit the cell, not this file\n")


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


def file_state(text: str) -> str:
    """``"drumnb"`` (ours, unedited), ``"edited"`` (ours, changed by hand since) or ``"foreign"``."""
    first, _, rest = text.partition("\n")
    match = re.search(MARKER + r":.*\(sha256:([0-9a-f]{16})\)", first)
    if not match:
        return "foreign"
    return "drumnb" if _digest(rest) == match.group(1) else "edited"


@dataclass
class HooksWritten:
    name: str
    code_dir: str
    path: str
    created: bool
    backup: str | None
    report: Report
    hooks: list[str]
    messages: list[str] = field(default_factory=list)


@dataclass
class _Cached:
    model: Any
    signature: tuple
    loaded: float


def _norm_body(cell: str) -> str:
    body = cell if cell.endswith("\n") else cell + "\n"
    return body


def display_path(path: str) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute."""
    path = os.path.abspath(path)
    cwd = os.getcwd()
    if path == cwd:
        return "."
    if path.startswith(cwd.rstrip(os.sep) + os.sep):
        return os.path.relpath(path, cwd)
    return path


class Workspace:
    """The kernel's model names, their folders and loaded models."""

    def __init__(self, models_dir: str | None = None):
        self._models_dir = models_dir
        self.folders: dict[str, str] = {}          # name -> code dir (absolute)
        self._cache: dict[tuple, _Cached] = {}
        self._lock = threading.RLock()
        self._watchers: dict[str, watch.FolderWatcher] = {}
        self._notes: dict[str, str] = {}   # folder -> what its last reload did (one line), until read

    # --- names and folders ----------------------------------------------------------------------
    @property
    def models_dir(self) -> str:
        return os.path.abspath(self._models_dir or os.environ.get("DRUMNB_MODELS_DIR") or "drum_models")

    def check_name(self, name: str) -> str:
        if not _NAME_RE.match(name or ""):
            raise errors.usage(f"{name!r} is not a model name", "use letters, digits, '_', '-' or '.', e.g. my_model")
        return name

    def resolve(self, name: str | None = None, code_dir: str | None = None, *,
                must_exist: bool = True) -> tuple[str, str]:
        """``(name, absolute code dir)`` from a NAME, a --code-dir, or a NAME that is a folder path."""
        if code_dir:
            folder = os.path.abspath(os.path.expanduser(code_dir))
            if must_exist and not os.path.exists(folder):
                raise errors.error(ConfigurationError, f"model folder not found: {code_dir}",
                                   "pass the folder holding the artifact and custom.py")
            label = name or os.path.basename(os.path.normpath(folder)).removesuffix(".tar.gz") or "model"
            if name:
                self.check_name(name)
            self.folders[label] = folder
            return label, folder
        if not name:
            raise errors.usage("name the model: NAME (a %%drum_hooks model or a folder) or --code-dir DIR")
        if name in self.folders:
            return name, self.folders[name]
        default = os.path.join(self.models_dir, name)
        if _NAME_RE.match(name) and os.path.isdir(default):
            self.folders[name] = default
            return name, default
        if os.path.exists(os.path.expanduser(name)) and ("/" in name or os.sep in name or os.path.isdir(name)
                                                         or name.endswith((".tar.gz", ".tgz"))):
            folder = os.path.abspath(os.path.expanduser(name))
            label = os.path.basename(os.path.normpath(folder)).removesuffix(".tar.gz")
            self.folders.setdefault(label, folder)
            return label, folder
        if not must_exist:
            self.check_name(name)
            return name, default
        known = sorted(self.folders)
        import difflib

        close = difflib.get_close_matches(name, known, n=1)
        hint = (f"did you mean {close[0]!r}? " if close else "") + \
            "write its hooks with %%drum_hooks NAME, or pass --code-dir DIR"
        raise errors.error(ConfigurationError, f"no model named {name!r}"
                           + (f" (known: {', '.join(known)})" if known else ""), hint)

    # --- hooks from cells -----------------------------------------------------------------------
    def write_hooks(self, name: str | None, cell: str, *, code_dir: str | None = None,
                    force: bool = False) -> HooksWritten:
        """Check the cell, then write it as ``custom.py`` (never over someone's work without --force)."""
        if code_dir is None:
            if not name:
                raise errors.usage("name the model: %%drum_hooks NAME [--code-dir DIR]")
            self.check_name(name)
            name, folder = self.resolve(name, must_exist=False)
        else:
            name, folder = self.resolve(name, code_dir, must_exist=False)
        label = f"%%drum_hooks {name}"
        body = _norm_body(cell)
        report = check_source(body, first_line=2)
        if report.errors:
            first = report.errors[0]
            more = "".join(f"\n  {f}" for f in report.errors[1:])
            kind = SyntaxError if first.message.startswith("SyntaxError") else errors.HookSignatureError
            raise errors.error(kind, f"{label}: {first}{more}",
                               f"{HOOK_FILE} was not changed; fix the cell and run it again")
        created = not os.path.isdir(folder)
        path = os.path.join(folder, HOOK_FILE)
        backup = None
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as fh:
                state = file_state(fh.read())
            if state != "drumnb":
                why = ("was not written by drumnb" if state == "foreign"
                       else "was edited by hand since drumnb wrote it")
                if not force:
                    raise errors.error(FileExistsError, f"{display_path(path)} {why}; it was left as it is",
                                       "run the cell with --force to back it up and replace it, or choose another "
                                       "NAME / --code-dir")
                backup = self._backup(path)
        os.makedirs(folder, exist_ok=True)
        text = marker_line(name, body) + body
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".custom-", suffix=".py.tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
        self.folders[name] = folder
        out = HooksWritten(name, folder, path, created, backup, report, list(report.hooks))
        return out

    @staticmethod
    def _backup(path: str) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = f"{path}.bak-{stamp}"
        n = 1
        while os.path.exists(target):
            n += 1
            target = f"{path}.bak-{stamp}-{n}"
        shutil.copy2(path, target)
        return target

    def cell_map(self, name: str, folder: str) -> errors.CellMap:
        return errors.CellMap(os.path.join(folder, HOOK_FILE), 2, f"%%drum_hooks {name}")

    def cell_maps_for(self, folder: str) -> list[errors.CellMap]:
        """The cell map of ``folder/custom.py`` if a cell wrote it."""
        path = os.path.join(folder, HOOK_FILE)
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                first = fh.readline()
        except OSError:
            return []
        match = re.search(MARKER + r": .*%%drum_hooks (\S+)", first)
        return [errors.CellMap(path, 2, f"%%drum_hooks {match.group(1)}")] if match else []

    # --- loaded models --------------------------------------------------------------------------
    @staticmethod
    def _signature(folder: str) -> tuple:
        """What, when it changes, means the model must be re-read: the folder's files (name, mtime, size)."""
        return folder_state(folder)

    def model(self, folder: str, target_type: str | None = None, **load_kwargs: Any) -> Any:
        """The loaded model for ``folder`` (cached; its hooks reloaded when its files changed)."""
        from ..model import load_model

        key = (folder, target_type, _freeze(load_kwargs))
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._refresh(folder, cached)
                return cached.model
            sig = self._signature(folder)
            model = load_model(folder, target_type, **load_kwargs)
            self._cache[key] = _Cached(model, sig, time.time())
        self._watch(folder)
        return model

    def _refresh(self, folder: str, cached: _Cached) -> str | None:
        """Reload ``cached`` if its folder changed; a failure keeps the previous hooks (and returns why)."""
        sig = self._signature(folder)
        if cached.signature == sig:
            return None
        cached.signature = sig  # a failing edit is reported once, not at every call
        try:
            result = cached.model.hot_reload()
        except Exception as exc:  # noqa: BLE001 - the previous hooks keep serving; said in one line
            problem = errors.from_exception(exc, self.cell_maps_for(folder)).message
            self._notes[folder] = f"{HOOK_FILE} did not reload, the previous hooks are used: {problem.splitlines()[0]}"
            return problem
        cached.loaded = time.time()
        if result.kind != "none":
            self._notes[folder] = result.message
        return None

    def _watch(self, folder: str) -> None:
        """Reload ``folder``'s cached models from a watcher thread when its files change."""
        if folder in self._watchers or not os.path.isdir(folder) or not watch.available():
            return
        self._watchers[folder] = watch.FolderWatcher(folder, lambda _names: self._changed(folder),
                                                     name="drumnb-kernel-watch").start()

    def _changed(self, folder: str) -> None:
        with self._lock:
            for key, cached in list(self._cache.items()):
                if key[0] == folder:
                    self._refresh(folder, cached)

    def reload_note(self, folder: str) -> str | None:
        """What the last reload of ``folder`` did ("hooks reloaded in 4 ms"), once; None if nothing new."""
        with self._lock:
            return self._notes.pop(folder, None)

    def cached_models(self, folder: str | None = None) -> list[Any]:
        return [c.model for k, c in self._cache.items() if folder is None or k[0] == folder]

    def reload(self, folder: str) -> list[str]:
        """Reload every cached model of ``folder`` now; returns problems (one line each; the previous hooks
        are kept).  :meth:`reload_note` then says what was done."""
        problems = []
        with self._lock:
            for key, cached in list(self._cache.items()):
                if key[0] == folder:
                    problem = self._refresh(folder, cached)
                    if problem:
                        problems.append(problem)
                        self._notes.pop(folder, None)
        return problems

    def forget(self, folder: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._cache if folder is None or k[0] == folder]:
                del self._cache[key]
            for path in [f for f in self._watchers if folder is None or f == folder]:
                self._watchers.pop(path).stop()


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return (type(value).__name__, _freeze(vars(value)))
    return value


#: The kernel's workspace (the magics and widgets share it).
WORKSPACE = Workspace()
