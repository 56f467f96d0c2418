"""``drumnb export``: a deployable DRUM folder (and ``custom_model.tar.gz``) from a folder or notebook objects.

    # a model written in notebook cells: hook functions + an artifact object
    report = export_model("deploy/my_model", hooks=globals(), model=estimator, data=df,
                          target_type="regression", tar=True)
    # an existing folder (e.g. one the notebook wrote), cleaned of drumnb's state
    report = export_model("deploy/my_model", code_dir="drum_models/my_model", data="data.csv")

What is written:

* ``custom.py``: the hook functions' source (``inspect.getsource``), with the
  imports, constants and helper functions they use from the notebook's
  namespace (a module -> ``import``, an importable function or class ->
  ``from ... import``, a literal -> an assignment, a function or class
  defined in the notebook -> its source).  Any other object a hook uses (a
  fitted scaler, a DataFrame) is an error naming it: pass it as the artifact,
  or load it in ``load_model``.  Hooks may also be given as source text.
* the artifact, in its framework's own format: scikit-learn / xgboost /
  any picklable estimator -> ``model.pkl``; torch -> TorchScript
  ``model.pth`` (a pickled module when scripting fails); Keras ->
  ``model.h5``; an ONNX ``ModelProto`` or its bytes -> ``model.onnx``.  A
  pickle that refers to classes defined in the notebook (``__main__``) is
  refused: a fresh process could not read it.
* ``model-metadata.yaml`` with the target type and labels (kept, and
  completed, when the folder had one); ``requirements.txt`` pinned to the
  versions installed here (modules the hooks and helper files import, and
  those the artifact's pickle needs).

Never copied: ``.drumnb/`` state folders, drumnb's monitoring stores (SQLite
files with its tables, and their ``-wal`` / ``-shm`` files), ``__pycache__``,
``.ipynb_checkpoints``, ``.git`` and the examples' stamp file.

Then, with ``data``: :func:`~drumnb.tools.validation.validate` runs on the
export, and ``drumnb score`` scores the archive (or the folder) in a fresh
process; its predictions must equal this process's.  Without ``data`` the
fresh process only loads the model.
"""
from __future__ import annotations

import ast
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from ..core.errors import ConfigurationError, DrumnbError
from .. import predictors
from . import _render
from .hooksource import hooks_source
from .savers import ExportError, mro_modules, pickle_modules, write_artifact

TAR_NAME = "custom_model.tar.gz"
SKIP_DIRS = {".drumnb", "__pycache__", ".ipynb_checkpoints", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
SKIP_FILES = {".drumnb-example", ".DS_Store"}
SKIP_SUFFIXES = (".pyc", ".pyo")
SQLITE_MAGIC = b"SQLite format 3\x00"
MONITOR_TABLES = {"predictions", "deployment_stats"}
#: Modules never pinned: the runner itself (the environment provides it) and drumnb.
NOT_PINNED = {"drumnb", "datarobot_drum", "__main__", "__future__"}


# --- report -------------------------------------------------------------------------------------

@dataclass
class ExportReport:
    """What :func:`export_model` wrote and found; ``.ok`` when validation and the fresh-process check passed."""

    folder: str
    target_type: str | None = None
    files: list[str] = field(default_factory=list)
    artifact: str | None = None
    requirements: list[str] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (relative path, why)
    metadata: dict[str, Any] = field(default_factory=dict)
    validation: Any = None            # ValidationReport, or None when no data was given
    tarball: str | None = None
    fresh_check: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        valid = self.validation is None or self.validation.passed
        return valid and bool(self.fresh_check.get("ok", True))

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "targetType": self.target_type, "ok": self.ok, "files": self.files,
                "artifact": self.artifact, "requirements": self.requirements,
                "leftOut": [{"path": p, "why": w} for p, w in self.left_out], "metadata": self.metadata,
                "tarball": self.tarball, "freshProcess": self.fresh_check, "notes": self.notes,
                "validation": self.validation.to_dict() if self.validation is not None else None,
                "seconds": round(self.seconds, 3)}

    def _lines(self) -> list[tuple[str, str]]:
        rows = [("folder", self.folder), ("target type", self.target_type or "-"),
                ("files", ", ".join(self.files)), ("artifact", self.artifact or "(none: hooks only)"),
                ("requirements.txt", ", ".join(self.requirements) or "(nothing to pin)")]
        if self.left_out:
            rows.append(("left out", ", ".join(f"{p} ({w})" for p, w in self.left_out)))
        if self.tarball:
            rows.append(("archive", self.tarball))
        if self.fresh_check:
            rows.append(("fresh process", ("OK: " if self.fresh_check.get("ok") else "FAILED: ")
                         + str(self.fresh_check.get("message", ""))))
        if self.validation is not None:
            failed = [c.title for c in self.validation.failed]
            rows.append(("validation", "PASSED" if self.validation.passed else f"FAILED: {', '.join(failed)}"))
        else:
            rows.append(("validation", "not run (no input data given)"))
        rows += [("note", n) for n in self.notes]
        return rows

    def to_text(self) -> str:
        head = f"drumnb export: {'OK' if self.ok else 'FAILED'} in {self.seconds:.1f}s"
        width = max(len(k) for k, _ in self._lines())
        out = [head] + [f"  {k.ljust(width)}  {v}" for k, v in self._lines()]
        if self.validation is not None and not self.validation.passed:
            out += ["", self.validation.to_text()]
        return "\n".join(out)

    __str__ = to_text

    def _repr_html_(self) -> str:
        verdict = _render.status_html("PASSED" if self.ok else "FAILED")
        table = _render.html_table(["", ""], [(k, v) for k, v in self._lines()])
        extra = self.validation._repr_html_() if self.validation is not None else ""
        return f"<div><b>drumnb export</b> {verdict}</div>{table}{extra}"

    def __repr__(self) -> str:
        return f"<ExportReport {self.folder!r} {'OK' if self.ok else 'FAILED'}>"


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
        from importlib.metadata import packages_distributions

        _DISTS = packages_distributions()
    return _DISTS


def pinned_requirements(modules: Iterable[str], *, local: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """``name==version`` lines for the installed distributions of ``modules``, and modules not found."""
    from importlib.metadata import PackageNotFoundError, version

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
    from importlib.metadata import PackageNotFoundError, version

    by_name: dict[str, str] = {}
    for line in pins:
        by_name[line.split("==")[0].lower().replace("_", "-")] = line
    for raw in (existing or "").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        import re

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

def _write_metadata(folder: str, config: Any, name: str | None) -> dict[str, Any]:
    import yaml

    path = os.path.join(folder, "model-metadata.yaml")
    raw: dict[str, Any] = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh) or {}
    wanted: dict[str, Any] = {"targetType": config.target_type}
    changed = raw.get("targetType") != config.target_type
    inference = raw.get("inferenceModel") if isinstance(raw.get("inferenceModel"), dict) else None
    if config.target_type == "binary":
        labels = {"positiveClassLabel": config.positive_class_label,
                  "negativeClassLabel": config.negative_class_label}
    elif config.target_type == "multiclass":
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


# --- archive and fresh-process check ------------------------------------------------------------

def write_tarball(folder: str, path: str) -> list[str]:
    """``path`` (.tar.gz) holding the folder's files at its top level (as ``tar -czf P -C folder .``)."""
    keep, _ = plan_copy(folder)
    with tarfile.open(path, "w:gz") as tar:
        for rel in keep:
            tar.add(os.path.join(folder, rel), arcname=rel, recursive=False)
    return keep


def _fresh_process(target: str, sample: Any, expected: Any, *, rtol: float, atol: float,
                   timeout: float = 300) -> dict[str, Any]:
    """Score ``sample`` with ``python -m drumnb score --code-dir target`` and compare with ``expected``."""
    import numpy as np
    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="drumnb-export-check-") as tmp:
        if sample is None:
            code = ("import drumnb, sys; m = drumnb.load_model(sys.argv[1]); "
                    "print(m.target_type, m.predictor.name if m.predictor else 'hooks')")
            cmd = [sys.executable, "-c", code, target]
            shown = f"python -c 'drumnb.load_model({os.path.basename(target)!r})'"
        else:
            data_path, out_path = os.path.join(tmp, "input.csv"), os.path.join(tmp, "predictions.csv")
            sample.to_csv(data_path, index=False)
            cmd = [sys.executable, "-m", "drumnb", "score", "--code-dir", target, "--input", data_path,
                   "--output", out_path]
            shown = f"drumnb score --code-dir {os.path.basename(target)}"
        env = {k: v for k, v in os.environ.items()
               if k not in ("TARGET_TYPE", "POSITIVE_CLASS_LABEL", "NEGATIVE_CLASS_LABEL", "CLASS_LABELS",
                            "CLASS_LABELS_FILE")}  # the export must carry its own settings
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp)
        except subprocess.TimeoutExpired:
            return {"ok": False, "command": shown, "message": f"{shown} did not finish within {timeout:.0f}s"}
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-6:])
            return {"ok": False, "command": shown, "message": f"{shown} exited {proc.returncode}: {tail}"}
        if sample is None:
            return {"ok": True, "command": shown, "message": f"{shown}: loads ({proc.stdout.strip()})"}
        got = pd.read_csv(out_path)
        want = expected.reset_index(drop=True)
        if list(map(str, got.columns)) != list(map(str, want.columns)) or got.shape != want.shape:
            return {"ok": False, "command": shown,
                    "message": f"{shown} gave columns {list(got.columns)} x {len(got)} rows; this process gave "
                               f"{list(want.columns)} x {len(want)}"}
        numeric = [c for c in want.columns if pd.api.types.is_numeric_dtype(want[c])]
        diff = 0.0
        if numeric:
            a = want[numeric].to_numpy(dtype="float64")
            b = got[[str(c) for c in numeric]].to_numpy(dtype="float64")
            if not np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
                bad = int(np.argmax(~np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True).all(axis=1)))
                return {"ok": False, "command": shown,
                        "message": f"{shown} gave other predictions: row {bad}: {b[bad].tolist()} vs "
                                   f"{a[bad].tolist()} here"}
            diff = float(np.nanmax(np.abs(a - b))) if a.size else 0.0
        return {"ok": True, "command": shown, "rows": len(want), "max_abs_diff": diff,
                "message": f"{shown} gives the same predictions ({len(want)} rows, max |diff| {diff:.3g})"}


# --- the export ---------------------------------------------------------------------------------

def _inside(path: str, parent: str) -> bool:
    path, parent = os.path.realpath(path), os.path.realpath(parent)
    return path == parent or path.startswith(parent.rstrip(os.sep) + os.sep)


def _prepare_output(output_dir: str, code_dir: str | None, force: bool) -> None:
    if code_dir and (_inside(output_dir, code_dir) or _inside(code_dir, output_dir)):
        raise ConfigurationError(f"the export folder {output_dir} and the model folder {code_dir} overlap",
                                 hint="export to a folder outside the model folder")
    if os.path.isdir(output_dir) and os.listdir(output_dir):
        if not force:
            raise ConfigurationError(f"{output_dir} exists and is not empty",
                                     hint="choose a new folder, or pass --force (force=True) to replace it")
        if os.path.realpath(output_dir) in ("/", os.path.realpath(os.path.expanduser("~")), os.getcwd()):
            raise ConfigurationError(f"refusing to replace {output_dir}", hint="export to a dedicated folder")
        shutil.rmtree(output_dir)
    elif os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise ConfigurationError(f"{output_dir} exists and is not a folder")
    os.makedirs(output_dir, exist_ok=True)


@dataclass
class ExportOptions:
    """What :func:`export_model` writes and checks (its keyword arguments).

    Sources, combinable: ``code_dir`` (a folder or ``.tar.gz`` to copy, without drumnb's state), ``model``
    (an artifact object, a file path, or bytes with ``artifact_name``), ``hooks`` (hook functions, a
    namespace such as ``globals()``, a module, or source text).  Labels and target type are written to
    ``model-metadata.yaml``.  ``data`` (DataFrame or path) enables validation (``validate``) and the
    fresh-process comparison (``fresh_process``) on its first ``rows`` rows, within ``rtol``/``atol``.
    ``tar``: True for ``<parent of output_dir>/custom_model.tar.gz``, or a path.  ``requirements``: extra
    requirements.txt lines.  ``force``: replace a non-empty output folder.
    """

    code_dir: "str | os.PathLike[str] | None" = None
    model: Any = None
    hooks: Any = None
    target_type: str | None = None
    positive_class_label: Any = None
    negative_class_label: Any = None
    class_labels: Sequence[Any] | None = None
    class_labels_file: str | None = None
    runtime_params_file: str | None = None
    name: str | None = None
    data: Any = None
    artifact_name: str | None = None
    tar: "bool | str | os.PathLike[str]" = False
    requirements: Sequence[str] = ()
    force: bool = False
    validate: bool = True
    fresh_process: bool = True
    rows: int = 100
    rtol: float = 1e-6
    atol: float = 1e-9
    progress: Callable[[str], None] | None = None

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)

    def load_kwargs(self) -> dict[str, Any]:
        return {"positive_class_label": self.positive_class_label, "negative_class_label": self.negative_class_label,
                "class_labels": self.class_labels, "class_labels_file": self.class_labels_file,
                "runtime_params_file": self.runtime_params_file}


def export_model(output_dir: "str | os.PathLike[str]", **options: Any) -> ExportReport:
    """Write a DRUM model folder to ``output_dir`` (and ``custom_model.tar.gz`` with ``tar``); check it.

    The keyword arguments are the fields of :class:`ExportOptions`.  Raises for objects that cannot be
    written; check ``report.ok`` for the checks.
    """
    opts = ExportOptions(**options)
    started = time.perf_counter()
    output_dir = os.path.abspath(os.fspath(output_dir))
    if opts.code_dir is None and opts.model is None and opts.hooks is None:
        raise ConfigurationError("nothing to export", hint="pass code_dir=, or model= and/or hooks=")
    src, unpacked = _source_folder(opts.code_dir)
    tar_path = _tar_path(opts.tar, output_dir)
    report = ExportReport(output_dir)
    try:
        _prepare_output(output_dir, src, opts.force)
        frame = _write_sources(report, output_dir, src, opts)
        expected, fresh = _load_and_check(report, output_dir, frame, opts)
        if tar_path:
            opts.say("writing the archive")
            os.makedirs(os.path.dirname(tar_path), exist_ok=True)
            write_tarball(output_dir, tar_path)
            report.tarball = tar_path
        if fresh:
            opts.say("scoring in a fresh process")
            compare = expected is not None and hasattr(expected, "columns")
            report.fresh_check = _fresh_process(tar_path or output_dir, frame if compare else None,
                                                expected if compare else None, rtol=opts.rtol, atol=opts.atol)
        report.files = sorted(plan_copy(output_dir)[0])
    finally:
        if unpacked is not None:
            unpacked.cleanup()
    report.seconds = time.perf_counter() - started
    return report


def _source_folder(code_dir: "str | os.PathLike[str] | None") -> tuple[str | None, Any]:
    """The folder to copy (an archive unpacked into a temporary folder, returned to clean up)."""
    src = os.fspath(code_dir) if code_dir is not None else None
    if src is not None and os.path.isfile(src) and src.endswith((".tar.gz", ".tgz", ".tar")):
        unpacked = tempfile.TemporaryDirectory(prefix="drumnb-export-src-")
        with tarfile.open(src) as archive:
            archive.extractall(unpacked.name, filter="data")
        return unpacked.name, unpacked
    if src is not None and not os.path.isdir(src):
        raise ConfigurationError(f"model folder not found: {src}", hint="pass the folder to export (--code-dir)")
    return src, None


def _tar_path(tar: "bool | str | os.PathLike[str]", output_dir: str) -> str | None:
    if not tar:
        return None
    path = os.path.abspath(os.fspath(tar)) if not isinstance(tar, bool) else \
        os.path.join(os.path.dirname(output_dir), TAR_NAME)
    if _inside(path, output_dir):
        raise ConfigurationError(f"the archive {path} would be inside the exported folder",
                                 hint="write it beside the folder (the default) or elsewhere")
    return path


def _write_sources(report: ExportReport, output_dir: str, src: str | None, opts: ExportOptions) -> Any:
    """Copy the folder, write the hooks and the artifact; returns the first rows of ``data`` (or None)."""
    if src is not None:
        keep, report.left_out = plan_copy(src)
        for rel in keep:
            dest = os.path.join(output_dir, rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(os.path.join(src, rel), dest)
    if opts.hooks is not None:
        text = hooks_source(opts.hooks)
        if os.path.isfile(os.path.join(output_dir, "custom.py")) and src is not None:
            report.notes.append("custom.py of the folder replaced by the hooks given")
        with open(os.path.join(output_dir, "custom.py"), "w", encoding="utf-8") as fh:
            fh.write(text)
    frame = None
    if opts.data is not None:
        from .validation import read_data

        frame = read_data(opts.data).iloc[:opts.rows].reset_index(drop=True)
    if opts.model is not None:
        report.artifact = write_artifact(opts.model, output_dir, opts.artifact_name, example=frame)
    return frame


def _load_and_check(report: ExportReport, output_dir: str, frame: Any, opts: ExportOptions) -> tuple[Any, bool]:
    """Load the export: metadata, requirements, validation; returns (this process's predictions, run fresh?)."""
    from ..model import load_model

    opts.say("loading the exported model")
    loaded = load_model(output_dir, opts.target_type, **opts.load_kwargs())
    fresh = opts.fresh_process
    expected = None
    try:
        report.target_type = loaded.target_type
        if report.artifact is None and loaded.artifact:
            report.artifact = os.path.basename(loaded.artifact)
        report.metadata = _write_metadata(output_dir, loaded.config, opts.name)
        report.notes += [n for n in loaded.config.notes if "assuming" in n]
        report.requirements = _requirements(output_dir, loaded, opts.model, opts.requirements, report)
        if frame is not None and loaded.target_type != "unstructured":
            from .validation import validate as run_validation

            if opts.validate:
                opts.say("validating")
                report.validation = run_validation(loaded, frame, rows=opts.rows)
            try:
                expected = loaded.predict(frame)
            except Exception as exc:  # noqa: BLE001 - validation names it; no comparison then
                report.notes.append(f"the input does not score here: {type(exc).__name__}: "
                                    f"{str(exc).splitlines()[0][:200]}")
                fresh = False
                report.fresh_check = {"ok": False, "message": "not run: the input does not score"}
    finally:
        loaded.close()
    return expected, fresh


def _requirements(folder: str, loaded: Any, model: Any, extra: Sequence[str], report: ExportReport) -> list[str]:
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
        report.notes.append(f"not installed here, so not pinned: {', '.join(sorted(missing))}")
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


__all__ = ["export_model", "ExportOptions", "ExportReport", "ExportError", "hooks_source", "write_artifact", "pinned_requirements",
           "plan_copy", "write_tarball"]
