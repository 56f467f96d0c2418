"""Find the DRUM model folders under a directory and describe each without running it.

A model folder holds ``model-metadata.yaml``, a hook file (``custom.py``,
``custom.R``, ``custom.jl``) or an artifact a predictor reads.  What a folder
tells (target type, labels, artifact kind, hooks) comes from
:func:`drumnb.tools.describe.describe_folder`, which loads no model and runs
no hook; a Python ``custom.py`` is also checked with
:func:`drumnb.jupyter.hookcheck.check_source` (names and signatures, by line).
"""
from __future__ import annotations

import os
from typing import Any

from ..core.metadata import FILENAME
from ..jupyter.hookcheck import check_source
from ..predictors import find_artifacts
from ..tools.describe import HOOK_FILES, describe_folder

SKIP_DIRS = {"node_modules", "__pycache__", ".ipynb_checkpoints", "site-packages", ".git", "venv", ".venv",
             "logs"}
MAX_DEPTH = 3
MAX_FOLDERS = 200


def _problem(level: str, message: str) -> dict[str, str]:
    return {"level": level, "message": message}


def is_model_folder(path: str) -> bool:
    try:
        names = set(os.listdir(path))
    except OSError:
        return False
    if FILENAME in names or names & set(HOOK_FILES):
        return True
    try:
        return bool(find_artifacts(path))
    except OSError:
        return False


def find_model_folders(root: str, *, max_depth: int = MAX_DEPTH, limit: int = MAX_FOLDERS) -> list[str]:
    """Model folders under ``root`` (``root`` itself included), breadth first, hidden folders skipped."""
    found: list[str] = []
    level = [root]
    for depth in range(max_depth + 1):
        nxt: list[str] = []
        for folder in level:
            if is_model_folder(folder):
                found.append(folder)
                if len(found) >= limit:
                    return found
                continue  # models do not nest
            if depth == max_depth:
                continue
            try:
                children = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            for child in children:
                if child.name.startswith(".") or child.name in SKIP_DIRS:
                    continue
                try:
                    if child.is_dir(follow_symlinks=False):
                        nxt.append(child.path)
                except OSError:
                    continue
        level = nxt
    return found


def _hook_findings(folder: str, out: dict[str, Any]) -> None:
    """The hook check's errors and warnings on a Python ``custom.py`` (names, signatures), by cell line."""
    if out["language"] != "python" or out["hook_file"] != "custom.py":
        return
    try:
        with open(os.path.join(folder, "custom.py"), encoding="utf-8", errors="replace") as fh:
            report = check_source(fh.read(), first_line=1)
    except OSError as exc:
        out["problems"].append(_problem("error", f"custom.py: {exc.strerror}"))
        return
    for level, findings in (("error", report.errors), ("warning", report.warnings)):
        for finding in findings:
            out["problems"].append(_problem(level, f"custom.py line {finding.line}: {finding.message}"))


def describe(folder: str, root: str) -> dict[str, Any]:
    """One model folder as :func:`drumnb.tools.describe.describe_folder` sees it, with its path under
    ``root``, the hook check's findings and ``load_kwargs`` (what the Score panel passes)."""
    found = describe_folder(folder)
    out = found.to_dict()
    rel = os.path.relpath(folder, root)
    out.update(path="" if rel == "." else rel.replace(os.sep, "/"), abs_path=out.pop("folder"),
               load_kwargs=found.load_kwargs())
    _hook_findings(folder, out)
    return out


def list_models(root: str, subdir: str = "") -> list[dict[str, Any]]:
    """Every model folder under ``root/subdir``, described."""
    base = resolve_inside(root, subdir)
    return [describe(folder, root) for folder in find_model_folders(base)]


def resolve_inside(root: str, relative: str) -> str:
    """``root/relative`` as an absolute path; ValueError when it leaves ``root``."""
    root_real = os.path.realpath(root)
    path = os.path.realpath(os.path.join(root_real, (relative or "").lstrip("/")))
    if path != root_real and not path.startswith(root_real + os.sep):
        raise ValueError(f"{relative!r} is outside the server's root directory")
    return path
