"""Find the DRUM model folders under a directory and describe each without running it.

A model folder holds ``model-metadata.yaml``, a hook file (``custom.py``,
``custom.R``, ``custom.jl``) or an artifact a predictor reads.  Nothing is
imported or executed: metadata is parsed by :mod:`drumnb.core.metadata` and
the target type resolved by :func:`drumnb.core.contract.resolve_config` (as
``drumnb score`` would, without the environment); Python hooks are read with
:mod:`ast` (:func:`drumnb.jupyter.hookcheck.check_source`), so a folder whose
framework is not installed is still listed.
"""
from __future__ import annotations

import os
import re
import warnings
from typing import Any

from ..core.targets import TargetType

SKIP_DIRS = {"node_modules", "__pycache__", ".ipynb_checkpoints", "site-packages", ".git", "venv", ".venv",
             "logs"}
HOOK_FILES = {"custom.py": "python", "custom.R": "r", "custom.r": "r", "custom.jl": "julia"}
MAX_DEPTH = 3
MAX_FOLDERS = 200
_R_HOOK = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:<-|=)\s*function\b", re.M)
_JL_HOOK = re.compile(r"^\s*function\s+([A-Za-z_][A-Za-z0-9_!]*)\s*\(", re.M)


def _problem(level: str, message: str) -> dict[str, str]:
    return {"level": level, "message": message}


def is_model_folder(path: str) -> bool:
    from ..core.metadata import FILENAME
    from ..predictors import find_artifacts

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


def _hooks(folder: str, problems: list[dict[str, str]]) -> tuple[str | None, str | None, list[str]]:
    """(hook file, language, hooks found)."""
    for filename, language in HOOK_FILES.items():
        path = os.path.join(folder, filename)
        if not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError as exc:
            problems.append(_problem("error", f"{filename}: {exc.strerror}"))
            return filename, language, []
        if language == "python":
            from ..jupyter.hookcheck import check_source

            report = check_source(text, first_line=1)
            for finding in report.errors:
                problems.append(_problem("error", f"{filename} line {finding.line}: {finding.message}"))
            for finding in report.warnings:
                problems.append(_problem("warning", f"{filename} line {finding.line}: {finding.message}"))
            return filename, language, list(report.hooks)
        from ..core.hooks import ALL_HOOKS

        pattern = _R_HOOK if language == "r" else _JL_HOOK
        found = [h for h in ALL_HOOKS if h in set(pattern.findall(text))]
        return filename, language, found
    return None, None, []


def describe(folder: str, root: str) -> dict[str, Any]:
    """One model folder: name, paths, target type, artifacts, hooks and problems (errors and warnings)."""
    from ..core.contract import resolve_config
    from ..core.errors import DrumnbError
    from ..core.metadata import FILENAME, ModelMetadata, read_metadata
    from ..predictors import find_artifacts, for_artifact

    problems: list[dict[str, str]] = []
    rel = os.path.relpath(folder, root)
    out: dict[str, Any] = {"name": os.path.basename(os.path.abspath(folder)), "path": "" if rel == "." else
                           rel.replace(os.sep, "/"), "abs_path": os.path.abspath(folder), "metadata": None,
                           "target_type": None, "target_type_source": None, "artifacts": [], "predictor": None,
                           "language": None, "hook_file": None, "hooks": [], "problems": problems}
    metadata = ModelMetadata()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            metadata = read_metadata(folder)
        except DrumnbError as exc:
            problems.append(_problem("error", exc.render()))
    for w in caught:
        problems.append(_problem("warning", str(w.message)))
    if metadata.path:
        out["metadata"] = FILENAME
        out["model_name"] = metadata.name
    else:
        problems.append(_problem("warning", f"no {FILENAME}"))
    try:
        config = resolve_config(folder, metadata, env={})
        out["target_type"] = config.target_type
        out["target_type_source"] = "metadata" if metadata.target_type else "assumed"
        for note in config.notes:
            problems.append(_problem("warning", note))
    except DrumnbError as exc:
        out["target_type"] = metadata.target_type
        out["target_type_source"] = "metadata" if metadata.target_type else None
        problems.append(_problem("error", exc.render()))
    try:
        artifacts = find_artifacts(folder)
    except OSError:
        artifacts = []
    out["artifacts"] = [os.path.basename(a) for a in artifacts]
    if artifacts:
        spec = for_artifact(artifacts[0])
        out["predictor"] = spec.name
        out["language"] = spec.language
    if len(artifacts) > 1:
        problems.append(_problem("warning", f"{len(artifacts)} artifacts ({', '.join(out['artifacts'])}); "
                                            "DRUM wants one, or a load_model hook that picks"))
    hook_file, language, hooks = _hooks(folder, problems)
    out["hook_file"], out["hooks"] = hook_file, hooks
    if out["target_type_source"] == "assumed" and "score_unstructured" in hooks:
        # a %%drum_hooks folder with score_unstructured and no metadata: an unstructured model
        out["target_type"] = TargetType.UNSTRUCTURED.value
        problems[:] = [p for p in problems if not p["message"].startswith("no target type given")]
        problems.append(_problem("warning", "no targetType in model-metadata.yaml; unstructured assumed "
                                            "(score_unstructured is defined): pass --target-type unstructured"))
    if language:
        out["language"] = language
    scores = set(hooks) & {"score", "score_unstructured", "chat", "transform"}
    if not artifacts and not ({"load_model"} & set(hooks) or scores):
        problems.append(_problem("error", "no artifact and no load_model/score hook: nothing to score"))
    if out["target_type"] == TargetType.UNSTRUCTURED and hooks and "score_unstructured" not in hooks:
        problems.append(_problem("error", "an unstructured model needs a score_unstructured hook"))
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
