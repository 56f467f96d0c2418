"""Hook functions written in notebook cells -> the source text of a ``custom.py`` (for ``drumnb export``).

:func:`hooks_source` takes hook functions, a namespace (``globals()``), a module or source text, and adds
what the hooks use from the notebook: a module -> ``import``, an importable function or class ->
``from ... import``, a literal -> an assignment, a function or class defined in the notebook -> its
source.  Any other object (a fitted scaler, a DataFrame) is an :class:`ExportError` naming it.
"""
from __future__ import annotations

import ast
import builtins
import inspect
import os
import sys
import textwrap
import types
from typing import Any, Iterable

from ..core.errors import ExportError
from ..core.hooks import ALL_HOOKS

def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _literal(value: Any) -> str | None:
    if isinstance(value, (bool, int, float, str, bytes, type(None), tuple, list, dict, set, frozenset)):
        text = repr(value)
        try:
            if ast.literal_eval(text) == value and len(text) < 20_000:
                return text
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
    return None


def _importable(value: Any) -> tuple[str, str] | None:
    """(module, name) when ``from module import name`` gives back ``value``."""
    module = getattr(value, "__module__", None)
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    if not module or not name or "." in name or "<" in name or module == "__main__":
        return None
    mod = sys.modules.get(module)
    if mod is None or getattr(mod, name, None) is not value:
        # numpy ufuncs and the like live in a submodule but are exported by the package
        top = module.split(".")[0]
        top_mod = sys.modules.get(top)
        if top_mod is not None and getattr(top_mod, name, None) is value:
            return top, name
        return None
    return module, name


class _SourceBuilder:
    """Collects hooks, the helpers they call and the imports they need, as one ``custom.py``."""

    def __init__(self, origin_modules: set[str]):
        self.imports: dict[str, str] = {}   # line -> line (ordered, unique)
        self.constants: dict[str, str] = {}
        self.defs: dict[str, str] = {}      # name -> source, in dependency order
        self.origin = origin_modules         # modules whose objects are "the notebook's"
        self._visiting: set[int] = set()

    def add_function(self, fn: Any, name: str | None = None) -> None:
        name = name or fn.__name__
        if name in self.defs or id(fn) in self._visiting:
            return
        self._visiting.add(id(fn))
        try:
            source = textwrap.dedent(inspect.getsource(fn))
        except (OSError, TypeError) as exc:
            source = _class_source(fn) if inspect.isclass(fn) else None
            if source is None:
                raise ExportError(f"cannot read the source of {name!r}: {exc}",
                                  hint="define it in a notebook cell or a .py file (not with exec), or pass the "
                                       "hooks as source text") from None
        if fn.__name__ != name and not source.lstrip().startswith(("def ", "class ", "async def ", "@")):
            raise ExportError(f"{name!r} is not defined by a def statement", hint="write it as a def")
        if fn.__name__ != name:
            source += f"\n{name} = {fn.__name__}\n"
        if isinstance(fn, type):
            scopes = [m for m in vars(fn).values() if inspect.isfunction(m)]
            globals_ = sys.modules[fn.__module__].__dict__ if fn.__module__ in sys.modules else {}
            needed: set[str] = set()
            for m in scopes:
                needed |= _code_names(m.__code__)
                globals_ = m.__globals__
            self._resolve(name, needed, globals_)
        else:
            if getattr(fn, "__closure__", None):
                raise ExportError(f"{name!r} uses variables of an enclosing function "
                                  f"({', '.join(fn.__code__.co_freevars)})",
                                  hint="define hooks at the top level of a cell")
            self._resolve(name, _code_names(fn.__code__), fn.__globals__)
        self.defs[name] = source.rstrip() + "\n"

    def _resolve(self, owner: str, names: Iterable[str], globals_: dict[str, Any]) -> None:
        for var in sorted(names):
            if var not in globals_ or var in self.defs or var == owner:
                continue
            if var.startswith("__") or (hasattr(builtins, var) and globals_[var] is getattr(builtins, var)):
                continue
            self.add_global(owner, var, globals_[var])

    def add_global(self, owner: str, var: str, value: Any) -> None:
        if isinstance(value, types.ModuleType):
            full = value.__name__
            if full == var:
                line = f"import {full}"
            elif "." in full and full.rsplit(".", 1)[1] == var:
                line = f"from {full.rsplit('.', 1)[0]} import {var}"
            else:
                line = f"import {full} as {var}"
            self.imports[line] = line
            return
        if (inspect.isfunction(value) or inspect.isclass(value)) and \
                (getattr(value, "__module__", None) in self.origin or
                 str(getattr(value, "__module__", "")).startswith("drumnb_custom_")):
            self.add_function(value, var)
            return
        where = _importable(value)
        if where is not None:
            module, name = where
            line = f"from {module} import {name}" + (f" as {var}" if var != name else "")
            self.imports[line] = line
            return
        text = _literal(value)
        if text is not None:
            self.constants[var] = f"{var} = {text}"
            return
        raise ExportError(f"hook {owner!r} uses the notebook variable {var!r} ({type(value).__name__}), which "
                          "cannot be written into custom.py",
                          hint=f"pass it as the artifact (model=...), or save it to a file in the folder and load "
                               f"it in load_model; or define {var!r} inside the hook")

    def source(self, header: str) -> str:
        parts = [header.rstrip() + "\n"]
        if self.imports:
            parts.append("\n".join(sorted(self.imports, key=lambda s: (s.startswith("from "), s))) + "\n")
        if self.constants:
            parts.append("\n".join(self.constants.values()) + "\n")
        parts += list(self.defs.values())
        return "\n\n".join(parts)


def _class_source(cls: type) -> str | None:
    """The source of a class defined in a notebook cell (``inspect`` cannot find those before Python 3.13).

    The cells are in ``linecache`` (IPython puts them there): the latest cell defining a top-level class of
    that name wins, preferring the files its methods were compiled from.
    """
    import linecache

    files = [m.__code__.co_filename for m in vars(cls).values() if inspect.isfunction(m)]
    cells = [k for k in list(linecache.cache) if "<ipython-input-" in k or "ipykernel_" in k or k.startswith("<cell")]
    for filename in list(dict.fromkeys(files)) + cells[::-1]:
        text = "".join(linecache.getlines(filename))
        if not text:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in tree.body[::-1]:
            if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                lines = text.splitlines(keepends=True)[start - 1:node.end_lineno]
                return textwrap.dedent("".join(lines))
    return None


def hooks_source(hooks: Any) -> str:
    """``custom.py`` text from hook functions, a namespace (``globals()``), a module, or source text / a path."""
    header = ('"""DRUM hooks exported by drumnb from a notebook (DRUM and drumnb call them by name)."""')
    if isinstance(hooks, (str, os.PathLike)):
        text = os.fspath(hooks)
        if "\n" not in text and os.path.isfile(text):
            with open(text, encoding="utf-8") as fh:
                text = fh.read()
        _compile(text)
        return text if text.endswith("\n") else text + "\n"
    if isinstance(hooks, types.ModuleType):
        hooks = vars(hooks)
    if isinstance(hooks, dict):
        functions = [(name, value) for name, value in hooks.items()
                     if name in ALL_HOOKS and callable(value) and not isinstance(value, type)]
        if not functions:
            raise ExportError("the namespace defines no hook functions",
                              hint=f"define some of: {', '.join(ALL_HOOKS)}")
    else:
        items = list(hooks) if isinstance(hooks, (list, tuple)) else [hooks]
        functions = []
        for fn in items:
            if not callable(fn) or not hasattr(fn, "__name__"):
                raise ExportError(f"not a function: {fn!r}", hint="pass the hook functions themselves")
            functions.append((fn.__name__, fn))
    origin = {getattr(fn, "__module__", None) for _, fn in functions} | {"__main__"}
    builder = _SourceBuilder({m for m in origin if m})
    order = {h: i for i, h in enumerate(ALL_HOOKS)}
    for name, fn in sorted(functions, key=lambda x: order.get(x[0], len(order))):
        builder.add_function(fn, name)
    text = builder.source(header)
    _compile(text)
    return text


def _compile(text: str) -> None:
    try:
        compile(text, "custom.py", "exec")
    except SyntaxError as exc:
        raise ExportError(f"the hooks are not valid Python (line {exc.lineno}): {exc.msg}") from None
