"""What an exported folder holds: the files copied (without drumnb's state), ``requirements.txt`` pinned to
the versions installed here, ``model-metadata.yaml`` completed, and the ``.tar.gz`` archive of it all.

:func:`drumnb.tools.export.export_model` drives these; each is usable alone.
"""
from __future__ import annotations

import ast
import os
import pickle
import re
import sqlite3
import sys
import tarfile
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from typing import Any, Iterable, Sequence

import yaml

from .. import predictors
from ..core.errors import DrumnbError
from ..core.targets import TargetType
from ..predictors.saving import mro_modules, pickle_modules

SKIP_DIRS = {".drumnb", "__pycache__", ".ipynb_checkpoints", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
SKIP_FILES = {".drumnb-example", ".DS_Store"}
SKIP_SUFFIXES = (".pyc", ".pyo")
SQLITE_MAGIC = b"SQLite format 3\x00"
MONITOR_TABLES = {"predictions", "deployment_stats"}
#: Modules never pinned: the runner itself (the environment provides it) and drumnb.
NOT_PINNED = {"drumnb", "datarobot_drum", "__main__", "__future__"}


# --- copying a folder ---------------------------------------------------------------------------

def _is_monitor_store(path: str) -> bool:
    """A drumnb monitoring store: SQLite with its tables, or a store still in WAL mode (content in ``-wal``)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    if head != SQLITE_MAGIC:
        # a live WAL-mode database may not have reached its main file yet
        return len(head) == 0 and os.path.isfile(path + "-wal")
    names = _tables(path, immutable=True)  # immutable: no lock files, nothing written beside it
    wal = path + "-wal"
    if names is not None and not MONITOR_TABLES <= names and os.path.isfile(wal) and os.path.getsize(wal):
        names = _tables(path, immutable=False)  # a live store: its tables are still in the WAL
    return names is None or MONITOR_TABLES <= names  # an unreadable SQLite file in a model folder: state


def _tables(path: str, *, immutable: bool) -> set[str] | None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro" + ("&immutable=1" if immutable else ""), uri=True)
        try:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def plan_copy(code_dir: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Relative paths of ``code_dir`` to export, and those left out with the reason."""
    keep: list[str] = []
    skipped: list[tuple[str, str]] = []
    stores: set[str] = set()
    for root, dirs, files in os.walk(code_dir):
        rel_root = os.path.relpath(root, code_dir)
        for d in sorted(dirs):
            if d in SKIP_DIRS:
                skipped.append((os.path.normpath(os.path.join(rel_root, d)) + "/",
                                "drumnb state" if d == ".drumnb" else "cache / tool state"))
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for f in sorted(files):
            rel = os.path.normpath(os.path.join(rel_root, f))
            full = os.path.join(root, f)
            if f in SKIP_FILES or f.endswith(SKIP_SUFFIXES):
                skipped.append((rel, "tool state"))
            elif _is_monitor_store(full):
                stores.add(full)
                skipped.append((rel, "monitoring store"))
            else:
                keep.append(rel)
    sidecars = [(rel, full) for rel in keep
                for full in [os.path.join(code_dir, rel)]
                for store in stores
                if full in (store + "-wal", store + "-shm", store + "-journal")]
    for rel, _ in sidecars:
        keep.remove(rel)
        skipped.append((rel, "monitoring store"))
    return keep, skipped


# --- requirements -------------------------------------------------------------------------------

def _imports_of(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module.split(".")[0])
    return out


_DISTS: dict[str, list[str]] | None = None


def _distributions() -> dict[str, list[str]]:
    global _DISTS
    if _DISTS is None:
        _DISTS = packages_distributions()
    return _DISTS


def pinned_requirements(modules: Iterable[str], *, local: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """``name==version`` lines for the installed distributions of ``modules``, and modules not found."""
    stdlib = set(getattr(sys, "stdlib_module_names", ()))
    skip = NOT_PINNED | stdlib | set(local)
    pins: dict[str, str] = {}
    missing = []
    for mod in sorted(set(modules)):
        if not mod or mod in skip or mod.startswith("_"):
            continue
        dists = _distributions().get(mod)
        if not dists:
            missing.append(mod)
            continue
        for dist in sorted(set(dists)):
            if dist.lower().replace("_", "-") in ("drumnb", "datarobot-drum"):
                continue
            try:
                pins[dist.lower()] = f"{dist}=={version(dist)}"
            except PackageNotFoundError:
                missing.append(mod)
    return [pins[k] for k in sorted(pins)], missing


def _merge_requirements(existing: str | None, pins: list[str]) -> list[str]:
    """Keep the author's pinned lines; pin their unpinned ones; add the detected ones."""
    by_name: dict[str, str] = {}
    for line in pins:
        by_name[line.split("==")[0].lower().replace("_", "-")] = line
    for raw in (existing or "").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", line)
        if not m:
            continue
        name, extras, spec = m.group(1), m.group(2) or "", m.group(3).strip()
        key = name.lower().replace("_", "-")
        if spec:
            by_name[key] = line
        else:
            try:
                by_name[key] = f"{name}{extras}=={version(name)}"
            except PackageNotFoundError:
                by_name[key] = line
    return [by_name[k] for k in sorted(by_name)]


# --- metadata -----------------------------------------------------------------------------------

def write_metadata(folder: str, config: Any, name: str | None) -> dict[str, Any]:
    """``model-metadata.yaml`` of ``folder`` with ``config``'s target type and labels (the author's other keys
    kept; written only when something changed); returns its content."""
    path = os.path.join(folder, "model-metadata.yaml")
    raw: dict[str, Any] = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh) or {}
    wanted: dict[str, Any] = {"targetType": config.target_type}
    changed = raw.get("targetType") != config.target_type
    inference = raw.get("inferenceModel") if isinstance(raw.get("inferenceModel"), dict) else None
    if config.target_type == TargetType.BINARY:
        labels = {"positiveClassLabel": config.positive_class_label,
                  "negativeClassLabel": config.negative_class_label}
    elif config.target_type == TargetType.MULTICLASS:
        labels = {"classLabels": list(config.class_labels or [])}
    else:
        labels = {}
    for key, value in labels.items():
        current = (inference or {}).get(key, raw.get(key))
        if current is None or (key == "classLabels" and [str(x) for x in current] != value) or \
                (key != "classLabels" and str(current) != str(value)):
            changed = True
            if inference is not None:
                inference[key] = value
            else:
                raw.setdefault("inferenceModel", {})[key] = value
    if "name" not in raw:
        raw["name"] = name or os.path.basename(os.path.normpath(folder))
        changed = True
    if "type" not in raw:
        raw["type"] = "inference"
        changed = True
    raw.update(wanted)
    if changed or not os.path.isfile(path):
        ordered = {k: raw[k] for k in ("name", "type", "targetType") if k in raw}
        ordered.update({k: v for k, v in raw.items() if k not in ordered})
        with open(path, "w", encoding="utf-8") as fh:
            yaml.safe_dump(ordered, fh, sort_keys=False, allow_unicode=True)
        raw = ordered
    return raw


# --- archive ----------------------------------------------------------------------------------------

def write_tarball(folder: str, path: str) -> list[str]:
    """``path`` (.tar.gz) holding the folder's files at its top level (as ``tar -czf P -C folder .``)."""
    keep, _ = plan_copy(folder)
    with tarfile.open(path, "w:gz") as tar:
        for rel in keep:
            tar.add(os.path.join(folder, rel), arcname=rel, recursive=False)
    return keep


def write_requirements(folder: str, loaded: Any, extra: Sequence[str], notes: list[str]) -> list[str]:
    """``requirements.txt`` of ``folder``: what its Python files, the artifact's framework and the loaded model's
    pickle import, pinned, merged with the author's lines and ``extra``; returns its lines (``notes`` gets what
    could not be pinned)."""
    modules: set[str] = set()
    local = set()
    for entry in os.listdir(folder):
        stem, ext = os.path.splitext(entry)
        if ext == ".py" or os.path.isdir(os.path.join(folder, entry)):
            local.add(stem)
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for f in files:
            if f.endswith(".py"):
                with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
                    modules |= _imports_of(fh.read())
    artifact = getattr(loaded, "artifact", None)
    if artifact:
        try:
            modules |= predictors.for_artifact(artifact).required_modules(artifact)  # what scoring it imports
        except DrumnbError:
            pass
    obj = getattr(loaded, "model", None)
    if obj is not None and (artifact is None or artifact.endswith((".joblib",))):
        try:
            modules |= pickle_modules(pickle.dumps(obj))
        except Exception:  # noqa: BLE001 - not picklable: its classes' modules
            modules |= mro_modules(obj)
    pins, missing = pinned_requirements(modules, local=local)
    if missing:
        notes.append(f"not installed here, so not pinned: {', '.join(sorted(missing))}")
    path = os.path.join(folder, "requirements.txt")
    existing = None
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            existing = fh.read()
    lines = _merge_requirements(existing, pins + list(extra))
    if lines:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("# pinned by drumnb export to the versions installed where the model was exported\n")
            fh.write("\n".join(lines) + "\n")
    return lines
