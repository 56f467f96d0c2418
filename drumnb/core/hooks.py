"""Load ``custom.py`` hooks by path, each folder under its own module name.

* Two model folders in one process never share module state: each load makes
  a fresh module named ``drumnb_custom_<n>``.  Re-loading re-executes the file,
  so edits are picked up.
* Helper modules beside ``custom.py`` import: the folder is put first on
  ``sys.path`` while the file runs (and while the model loads), and modules
  imported from the folder are dropped from ``sys.modules`` afterwards, so the
  next folder, or the next load of this one, imports its own copies.
* ``from datarobot_drum import RuntimeParameters`` (``CustomHTTPError``, the
  custom task interfaces, ...) works even when DRUM is not installed: once a
  hooks file loads, drumnb's stand-in package :mod:`drumnb.compat.datarobot_drum`
  (marked ``__drumnb_shim__``) answers those imports, at load time and inside hooks.
* A ``custom.py`` defining ``class CustomTask(<custom task interface>)`` is a
  custom task folder: as in DRUM, the class replaces the hook functions;
  :func:`drumnb.compat.tasks.task_hooks` turns it into ``load_model`` /
  ``transform`` / ``score``.
* A hook raising ``CustomHTTPError(message, status_code)`` while scoring
  reaches the front ends as that error (the server answers ``status_code``);
  raised while loading, it is a load failure.
* Hooks-only reloads: :func:`load_fingerprint` is the source of what loading
  runs (``init``, ``load_model``, a ``CustomTask`` class, and the module-level
  functions, classes, assignments and imports they use); when an edit leaves
  it unchanged, the runtime swaps in the new hooks and keeps the loaded model
  (:func:`carry_globals` hands over the globals ``load_model``/``init`` set).
"""
from __future__ import annotations

import ast
import contextlib
import difflib
import importlib.util
import inspect
import itertools
import os
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from .errors import HookError, HookLoadError, locate

STRUCTURED_HOOKS = ("init", "load_model", "read_input_data", "transform", "score", "post_process")
OTHER_HOOKS = ("score_unstructured", "chat", "fit", "get_supported_llm_models")
ALL_HOOKS = STRUCTURED_HOOKS + OTHER_HOOKS
HOOK_FILE = "custom.py"
#: each custom.py is executed as a fresh module named MODULE_PREFIX + a number
MODULE_PREFIX = "drumnb_custom_"

_counter = itertools.count(1)


@dataclass
class Hooks:
    """The hooks a folder defines (``None`` where absent) and where they came from."""

    path: str | None = None
    language: str = "python"
    module: types.ModuleType | None = None
    functions: dict[str, Callable[..., Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    task: type | None = None  # the CustomTask class of a custom task folder

    def get(self, name: str) -> Callable[..., Any] | None:
        return self.functions.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.functions

    @property
    def names(self) -> list[str]:
        return [h for h in ALL_HOOKS if h in self.functions]


def accepted_kwargs(fn: Callable[..., Any], offered: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``offered`` keyword arguments that ``fn``'s signature takes."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return dict(offered)
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return dict(offered)
    names = {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    return {k: v for k, v in offered.items() if k in names}


def near_miss(name: str) -> str | None:
    """A hook name that ``name`` looks like a typo of (``scroe`` -> ``score``)."""
    if name in ALL_HOOKS or name.startswith("_"):
        return None
    match = difflib.get_close_matches(name, ALL_HOOKS, n=1, cutoff=0.8)
    return match[0] if match else None


@contextlib.contextmanager
def folder_imports(code_dir: str, dropped: dict[str, types.ModuleType] | None = None) -> Iterator[None]:
    """Let code in ``code_dir`` import its neighbours, then forget them (into ``dropped``, if given)."""
    root = os.path.realpath(code_dir)
    before = set(sys.modules)
    sys.path.insert(0, code_dir)
    _install_drum_shim()
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(code_dir)
        for name in set(sys.modules) - before:
            path = getattr(sys.modules.get(name), "__file__", None)
            if path and os.path.realpath(path).startswith(root + os.sep) and not name.startswith(MODULE_PREFIX):
                module = sys.modules.pop(name)
                if dropped is not None:
                    dropped[name] = module


#: Hook files of other languages: file name -> "module:function" returning Hooks for a folder.
#: (``custom.py`` is read here; e.g. the R predictor registers ``custom.R``.)
HOOK_LOADERS: dict[str, str] = {}


def register_hook_loader(filename: str, target: str) -> None:
    """Let another language's hooks file (``custom.R``) be loaded by ``target(code_dir) -> Hooks``."""
    HOOK_LOADERS[filename] = target


def load_hooks(code_dir: str) -> Hooks:
    """The hooks of a folder: ``custom.py``, else a registered other-language file, else none."""
    if os.path.isfile(os.path.join(code_dir, HOOK_FILE)):
        return load_python_hooks(code_dir)
    for filename, target in HOOK_LOADERS.items():
        if os.path.isfile(os.path.join(code_dir, filename)):
            module, _, attr = target.partition(":")
            return getattr(importlib.import_module(module), attr)(code_dir)
    return Hooks()


def load_python_hooks(code_dir: str, filename: str = HOOK_FILE) -> Hooks:
    """Execute ``code_dir/custom.py`` as a fresh module and collect its hooks."""
    path = os.path.join(code_dir, filename)
    if not os.path.isfile(path):
        return Hooks()
    name = f"{MODULE_PREFIX}{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    helpers: dict[str, types.ModuleType] = {}
    module.__drumnb_helpers__ = helpers  # type: ignore[attr-defined]  # the neighbours it imported (for pickling)
    try:
        with folder_imports(code_dir, helpers):
            spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - any failure of user code becomes a typed error
        sys.modules.pop(name, None)
        if isinstance(exc, (KeyboardInterrupt,)):
            raise
        if isinstance(exc, SyntaxError):
            raise HookLoadError("import", f"{exc.msg}", file=exc.filename or path, line=exc.lineno,
                                cause_type="SyntaxError", hint=f"fix the syntax of {filename}") from None
        file, line = locate(exc, [code_dir])
        raise HookLoadError("import", str(exc) or type(exc).__name__, file=file or path, line=line,
                            cause_type=type(exc).__name__, root=code_dir,
                            hint=_import_hint(exc)) from exc
    hooks = Hooks(path=path, module=module)
    from ..compat import tasks

    task = tasks.task_class(module)
    if task is not None:
        return _task_hooks(hooks, task, filename)
    for attr, value in vars(module).items():
        if attr in ALL_HOOKS and callable(value):
            hooks.functions[attr] = value
        elif inspect.isfunction(value) and value.__module__ == name:
            miss = near_miss(attr)
            if miss and miss not in vars(module):
                hooks.warnings.append(f"{filename} defines {attr!r}, which is not a hook; did you mean {miss!r}?")
    return hooks


def _task_hooks(hooks: Hooks, task: type, filename: str) -> Hooks:
    from ..compat import tasks

    try:
        hooks.functions = tasks.task_hooks(task)
    except TypeError as exc:
        line = inspect.getsourcelines(task)[1] if hooks.path else None
        raise HookLoadError("import", str(exc), file=hooks.path, line=line, cause_type="TypeError",
                            hint="e.g. class CustomTask(RegressionEstimatorInterface), imported from "
                                 "datarobot_drum.custom_task_interfaces") from None
    hooks.task = task
    ignored = [a for a, v in vars(hooks.module).items() if a in ALL_HOOKS and callable(v)]
    if ignored:
        hooks.warnings.append(f"{filename} defines class {tasks.CLASS_NAME}, so (as in DRUM) its hook "
                              f"functions {ignored} are not used")
    return hooks


def _import_hint(exc: BaseException) -> str | None:
    if isinstance(exc, ModuleNotFoundError):
        return f"install the package that provides {exc.name!r} in this environment (pip install ...)"
    return None


def call_hook(hooks: Hooks, name: str, *args: Any, required_result: bool = True,
              loading: bool = False, **kwargs: Any) -> Any:
    """Call hook ``name``; failures and a missing result become a HookError naming file and line."""
    fn = hooks.functions[name]
    error = HookLoadError if loading else HookError
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001
        from .errors import DrumnbError

        user_error = _user_http_error(exc)
        if user_error is not None and not loading:  # CustomHTTPError: the client gets its status and message
            raise user_error from (None if user_error is exc else exc)
        roots = [os.path.dirname(hooks.path)] if hooks.path else []
        if isinstance(exc, DrumnbError) and user_error is None:  # e.g. RuntimeParameters errors: already typed
            raise
        file, line = locate(exc, roots)
        raise error(name, str(exc) or type(exc).__name__, file=file or hooks.path, line=line,
                    cause_type=type(exc).__name__, root=roots[0] if roots else None) from exc
    if required_result and result is None:
        line = getattr(getattr(fn, "__code__", None), "co_firstlineno", None)
        raise error(name, "returned None; this hook must return a value", file=hooks.path, line=line,
                    hint=f"make '{name}' return its result")
    return result


# --- hooks-only reloads ---------------------------------------------------------------------------

#: What loading runs: a change to these (or to what they use) needs the model loaded again.
LOAD_HOOKS = ("init", "load_model")
_TASK_CLASS = "CustomTask"


def _top_level(tree: ast.Module) -> dict[str, list[ast.AST]]:
    """Module-level name -> the statements that bind it (defs, classes, assignments, imports)."""
    names: dict[str, list[ast.AST]] = {}
    for node in tree.body:
        bound: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound = [(a.asname or a.name).split(".")[0] for a in node.names]
        for name in bound:
            names.setdefault(name, []).append(node)
    return names


def load_fingerprint(path: str) -> dict[str, str] | None:
    """What loading ``path`` runs, position-free, per root: ``init``, ``load_model`` and a ``CustomTask``
    class, each with every module-level name it uses (followed to the end).  Two versions of a ``custom.py``
    with equal fingerprints load the same model.  None when the file does not parse."""
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None
    names = _top_level(tree)
    out = {}
    for root in (*LOAD_HOOKS, _TASK_CLASS):
        if root not in names:
            continue
        todo, seen, parts = [root], set(), set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            for node in names[name]:
                parts.add(ast.dump(node, include_attributes=False))
                todo += [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in names]
        out[root] = "\n".join(sorted(parts))
    return out


#: Files of a model folder that are neither hooks nor artifacts (a change to them reloads nothing).
_NOTES = (".md", ".rst", ".ipynb", ".log", ".tmp", ".swp", "~")


def folder_state(code_dir: str) -> tuple[tuple, tuple]:
    """``(python files, other files)`` of ``code_dir``'s top level as ``(name, mtime_ns, size)``: what a
    hooks reload re-reads, and what (artifacts, metadata) needs the model loaded again when it changes.
    Hidden files, ``__pycache__``, backups (``custom.py.bak-*``) and notes are left out."""
    code, other = [], []
    try:
        entries = sorted(os.scandir(code_dir), key=lambda e: e.name)
    except OSError:
        return (), ()
    for entry in entries:
        name = entry.name
        if name.startswith((".", "__pycache__")) or ".bak-" in name or name.endswith(_NOTES):
            continue
        try:
            st = entry.stat()
        except OSError:
            continue
        (code if name.endswith(".py") else other).append((name, st.st_mtime_ns, st.st_size))
    return tuple(code), tuple(other)


@dataclass(frozen=True)
class ReloadResult:
    """What :meth:`Model.hot_reload` did: ``kind`` is ``"hooks"`` (new hooks, the loaded model kept),
    ``"full"`` (the model loaded again; ``reason`` says why) or ``"none"`` (nothing changed)."""

    kind: str
    seconds: float
    reason: str = ""
    hooks: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        ms = f"{self.seconds * 1000:.0f} ms"
        if self.kind == "hooks":
            return f"hooks reloaded in {ms}"
        if self.kind == "full":
            return f"model reloaded ({self.reason}) in {ms}"
        return "nothing changed"



def reload_reason(code_dir: str, state: tuple[tuple, tuple], fingerprint: dict[str, str] | None) -> str | None:
    """Why ``code_dir`` must load again since ``state`` / ``fingerprint`` were taken (``"model.pkl changed"``,
    ``"load_model changed"``), or None when new hooks are enough (also when custom.py does not parse: loading
    its hooks then says where)."""
    changed = sorted({f[0] for f in set(folder_state(code_dir)[1]) ^ set(state[1])})
    if changed:
        return f"{', '.join(changed)} changed"
    new = load_fingerprint(os.path.join(code_dir, HOOK_FILE))
    if new is None:
        return None
    old = fingerprint or {}
    changed = sorted(k for k in set(new) | set(old) if new.get(k) != old.get(k))
    return f"{'/'.join(changed)} changed" if changed else None


def declared_globals(path: str) -> set[str]:
    """Names that ``init`` / ``load_model`` in ``path`` declare ``global``: the module state loading makes."""
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return set()
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in LOAD_HOOKS:
            out.update(n for g in ast.walk(node) if isinstance(g, ast.Global) for n in g.names)
    return out


def carry_globals(old: Hooks, new: Hooks) -> list[str]:
    """Copy the module state the old hooks' loading made (the names ``init`` / ``load_model`` declare
    ``global``) into the new hooks' module, which did not run them; returns the names copied."""
    if old.module is None or new.module is None or new.path is None:
        return []
    carried = []
    for name in sorted(declared_globals(new.path)):
        if name in vars(old.module):
            setattr(new.module, name, vars(old.module)[name])
            carried.append(name)
    return carried


# --- the datarobot_drum package, as hooks see it ----------------------------------------------

def _install_drum_shim() -> bool:
    """Make ``import datarobot_drum`` work for hooks, if DRUM is absent (drumnb.compat's stand-in)."""
    if "datarobot_drum" in sys.modules:
        return False
    from ..compat import install_datarobot_drum

    return install_datarobot_drum()


def _user_http_error(exc: BaseException) -> Any:
    """``exc`` as drumnb's CustomHTTPError if a hook raised one on purpose (the stand-in's, or DRUM's own)."""
    from ..compat.datarobot_drum.drum.exceptions import BaseCustomUserError, CustomHTTPError

    if isinstance(exc, BaseCustomUserError):
        return exc
    if any(k.__name__ == "BaseCustomUserError" for k in type(exc).__mro__):  # the real DRUM is installed
        status = getattr(exc, "status_code", 400)
        return CustomHTTPError(str(exc), status if isinstance(status, int) and 100 <= status <= 599 else 400)
    return None
