"""The map of ARCHITECTURE.md, checked: which way drumnb's imports point, and how long a module may grow.

Every import of a drumnb module is read with ``ast`` (module level and inside functions alike), and so is
every string that names one as an import target (``"drumnb.x.y:attr"``, as registries and hook loaders
use them), since those are imports too, only later.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "drumnb"
#: Folders of non-Python sources or built files, not modules of drumnb.
NOT_MODULES = {"labextension", "model_templates", "node_modules", "__pycache__"}
#: The front ends (ARCHITECTURE.md, "Layers"): they translate argv, HTTP, cells and clusters into core calls.
FRONT_ENDS = ("drumnb", "drumnb.__main__", "drumnb.cli", "drumnb.server", "drumnb.jupyter", "drumnb.labext",
              "drumnb.dask", "drumnb.tools")
MAX_LINES = 650
#: Modules allowed over MAX_LINES, each with the reason (none today).
LONG_MODULES: dict[str, str] = {}
#: A string naming an import target: ``drumnb.x.y``, ``drumnb.x.y:attr`` or the prefix ``drumnb.x.y:``.
_TARGET = re.compile(r"drumnb(\.[A-Za-z_]\w*)+(:([A-Za-z_]\w*)?)?")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent)
        if NOT_MODULES & set(rel.parts):
            continue
        name = ".".join(rel.with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[tuple[str, int]]:
    """(drumnb module imported, line) of every import and import-target string in the module ``name``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {(alias.name, node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:  # `from . import predictors`: the submodule itself
                sub = f"{base}.{alias.name}"
                out.add((sub if sub in MODULES else base, node.lineno))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _TARGET.fullmatch(node.value):
            out.add((node.value.partition(":")[0], node.lineno))
    return {(target, line) for target, line in out if target == "drumnb" or target.startswith("drumnb.")}


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _within(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _violations(importers: tuple[str, ...], allowed=None, forbidden=None) -> list[str]:
    out = []
    for name, targets in IMPORTS.items():
        if not importers or not _within(name, *importers):
            continue
        for target, line in sorted(targets):
            if (allowed is not None and not _within(target, *allowed)) or \
                    (forbidden is not None and _within(target, *forbidden)):
                out.append(f"{MODULES[name].relative_to(PACKAGE.parent)}:{line} imports {target}")
    return out


def test_the_walk_sees_drumnb_and_its_imports():
    assert {"drumnb.core.errors", "drumnb.model", "drumnb.dask.scoring", "drumnb.cli"} <= set(MODULES)
    assert any(t == "drumnb.core.errors" for t, _ in IMPORTS["drumnb.model"])
    assert any(t == "drumnb.predictors" for t, _ in IMPORTS["drumnb.model"])  # `from . import predictors`
    assert any(t == "drumnb.model" for t, _ in IMPORTS["drumnb.cli"])  # inside a function
    assert any(t == "drumnb.predictors.r" for t, _ in IMPORTS["drumnb.predictors"])  # "drumnb.predictors.r:RPredictor"


def test_core_and_compat_import_only_core_compat_and_the_version():
    assert _violations(("drumnb.core", "drumnb.compat"),
                       allowed=("drumnb.core", "drumnb.compat", "drumnb._version")) == []


def test_predictors_import_no_front_end():
    assert _violations(("drumnb.predictors",), forbidden=FRONT_ENDS[1:]) == []


def test_nothing_below_the_front_ends_imports_one():
    below = tuple(name for name in MODULES if not _within(name, *FRONT_ENDS[1:]) and name != "drumnb")
    assert below and "drumnb.model" in below and "drumnb.flags" in below
    assert _violations(below, forbidden=FRONT_ENDS[1:]) == []


def test_no_module_over_the_line_budget():
    long = {str(path.relative_to(PACKAGE.parent)): n for path in MODULES.values()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert {k: v for k, v in long.items() if k not in LONG_MODULES} == {}
    assert set(LONG_MODULES) <= set(long), "an exception no longer needed: remove it from LONG_MODULES"
