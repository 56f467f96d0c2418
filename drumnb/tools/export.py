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

This module drives the export and its checks; what goes into the folder (the
files copied, requirements, metadata, the archive) is in
:mod:`drumnb.tools.export_folder`.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..core.errors import ConfigurationError, ExportError
from ..core.targets import TargetType
from ..model import load_model
from . import _render
from .export_folder import pinned_requirements, plan_copy, write_metadata, write_requirements, write_tarball
from .hooksource import hooks_source
from .savers import write_artifact
from .validation import read_data, validate as run_validation

TAR_NAME = "custom_model.tar.gz"


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


# --- the fresh-process check ----------------------------------------------------------------------

def _fresh_process(target: str, sample: Any, expected: Any, *, rtol: float, atol: float,
                   timeout: float = 300) -> dict[str, Any]:
    """Score ``sample`` with ``python -m drumnb score --code-dir target`` and compare with ``expected``."""
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
        frame = read_data(opts.data).iloc[:opts.rows].reset_index(drop=True)
    if opts.model is not None:
        report.artifact = write_artifact(opts.model, output_dir, opts.artifact_name, example=frame)
    return frame


def _load_and_check(report: ExportReport, output_dir: str, frame: Any, opts: ExportOptions) -> tuple[Any, bool]:
    """Load the export: metadata, requirements, validation; returns (this process's predictions, run fresh?)."""
    opts.say("loading the exported model")
    loaded = load_model(output_dir, opts.target_type, **opts.load_kwargs())
    fresh = opts.fresh_process
    expected = None
    try:
        report.target_type = loaded.target_type
        if report.artifact is None and loaded.artifact:
            report.artifact = os.path.basename(loaded.artifact)
        report.metadata = write_metadata(output_dir, loaded.config, opts.name)
        report.notes += [n for n in loaded.config.notes if "assuming" in n]
        report.requirements = write_requirements(output_dir, loaded, opts.requirements, report.notes)
        if frame is not None and loaded.target_type != TargetType.UNSTRUCTURED:
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


__all__ = ["export_model", "ExportOptions", "ExportReport", "ExportError", "hooks_source", "write_artifact",
           "pinned_requirements", "plan_copy", "write_tarball"]
