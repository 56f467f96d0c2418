"""``drumnb new model``: a model folder to start from, in Python, R, Java or Julia.

    result = new_model("my_model", language="python", framework="sklearn")
    print(result)          # the files written and the commands to try next

Every folder holds a hooks file whose hooks are each documented (for Java,
the predictor class whose methods are the contract), a ``model-metadata.yaml``
(target type and a type schema that is checked on every call), a
``README.md``, an ``example_input.csv`` and a training script that wrote the
artifact.  The model is the same everywhere: a regression on four numeric
features ``x1..x4`` (missing values are imputed in ``transform``, so the
folder passes ``drumnb validation``).

Which languages and frameworks exist, and where each template's files are, is
the predictor registry's knowledge (``template``, ``artifact``,
``template_needs`` of each entry in drumnb/predictors/__init__.py); the
texts are files under drumnb/tools/model_templates/.  A Python framework's
template folder holds ``load_model.py.tmpl``, ``score.py.tmpl`` (the bodies
of those hooks), ``train.py.tmpl`` (after the shared training prelude) and
optionally ``imports.py.tmpl``.

* Python (``--framework sklearn | xgboost | torch | keras | onnx``):
  ``train.py`` runs at once (in a child process) and writes the artifact, so
  the folder scores out of the box.
* R: ``custom.R`` + ``train.R`` (an ``lm`` saved as ``model.rds``; run with
  ``Rscript`` when it is installed).
* Java: ``src/`` holds the predictor class and DataRobot's predictor
  interfaces; it is compiled with ``javac`` into ``model.jar`` (``build.sh``
  does the same by hand).
* Julia: ``custom.jl`` + ``train.jl`` (MLJ, saved as ``model.jlso``); they
  need Julia, which loads with a clear error where it is missing.
"""
from __future__ import annotations

import importlib.util
from importlib import resources
from importlib.resources.abc import Traversable
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from typing import Any

from .. import predictors
from ..core.errors import ConfigurationError
from . import _render

FEATURES = ("x1", "x2", "x3", "x4")


@dataclass
class TemplateResult:
    """What :func:`new_model` wrote; prints the files and the next commands."""

    folder: str
    language: str
    framework: str | None
    files: list[str] = field(default_factory=list)
    artifact: str | None = None
    built: bool = False
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def next_steps(self) -> list[str]:
        d = self.folder
        data = os.path.join(d, "example_input.csv")
        return [f"drumnb score --code-dir {d} --input {data}",
                f"drumnb validation --code-dir {d} --input {data}",
                f"drumnb perf-test --code-dir {d} --input {data}",
                f"drumnb server --code-dir {d} --address 127.0.0.1:8080"]

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "language": self.language, "framework": self.framework, "files": self.files,
                "artifact": self.artifact, "built": self.built, "notes": self.notes, "next": self.next_steps}

    def to_text(self) -> str:
        what = self.language + (f" / {self.framework}" if self.framework else "")
        out = [f"drumnb new model: {what} template in {self.folder} ({self.seconds:.1f}s)"]
        out += [f"  {f}" for f in self.files]
        out += [f"note: {n}" for n in self.notes]
        out += ["next:"] + [f"  {s}" for s in self.next_steps]
        return "\n".join(out)

    __str__ = to_text

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{_render.esc(n)}</li>" for n in self.notes)
        steps = "".join(f"<li><code>{_render.esc(s)}</code></li>" for s in self.next_steps)
        files = ", ".join(f"<code>{_render.esc(f)}</code>" for f in self.files)
        return (f"<div><b>drumnb new model</b>: {_render.esc(self.language)} "
                f"{_render.esc(self.framework or '')} template in <code>{_render.esc(self.folder)}</code></div>"
                f"<div>{files}</div>" + (f"<ul>{notes}</ul>" if notes else "") + f"<div>next:</div><ul>{steps}</ul>")


# --- template files (drumnb/tools/model_templates/, or the folder a registry entry names) ---------

COMMON = "drumnb.tools:model_templates/common"
PYTHON = "drumnb.tools:model_templates/python"


def _folder(location: str) -> Traversable:
    """``"package:relative/folder"`` -> the folder, read with importlib.resources (works from a wheel or zip)."""
    package, _, rel = location.partition(":")
    folder = resources.files(package)
    for part in rel.split("/"):
        if part:
            folder = folder / part
    return folder


def _text(location: str, rel: str, default: str | None = None) -> str:
    entry = _folder(location)
    for part in rel.split("/"):
        entry = entry / part
    if default is not None and not entry.is_file():
        return default
    return entry.read_text(encoding="utf-8")


def _files(location: str, prefix: str = "") -> dict[str, str]:
    """Every file under the folder, as relative path -> text (sorted)."""
    out: dict[str, str] = {}
    folder = _folder(location)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        rel = prefix + entry.name
        if entry.is_dir():
            out.update(_files(location.rstrip("/") + "/" + entry.name, rel + "/"))
        elif entry.is_file():
            out[rel] = entry.read_text(encoding="utf-8")
    return out


def _example_csv() -> str:
    """The 20 rows of example_input.csv (what train.py writes for Python templates)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(500, 4)), columns=list(FEATURES))
    example = X.head(20).round(4)
    example.iloc[3, 2] = np.nan
    return example.to_csv(index=False)


# --- the command --------------------------------------------------------------------------------

def _write(folder: str, rel: str, text: str, files: list[str], mode: int | None = None) -> None:
    path = os.path.join(folder, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    if mode is not None:
        os.chmod(path, mode)
    files.append(rel)


def _run(cmd: list[str], cwd: str, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def new_model(code_dir: "str | os.PathLike[str]", language: str = "python", framework: str | None = None, *,
              name: str | None = None, force: bool = False, build: bool = True, in_process: bool = False,
              timeout: float = 600.0) -> TemplateResult:
    """Write a template model folder to ``code_dir``; returns a :class:`TemplateResult`.

    ``language``: python, r, java or julia; ``framework`` (Python only):
    sklearn (default), xgboost, torch, keras or onnx.  ``build``: run the
    training script (Python, R) or the compiler (Java) now, so the folder
    scores at once; ``in_process``: run a Python ``train.py`` in this process
    rather than a child (faster when the framework is imported here anyway).
    An existing non-empty folder needs ``force`` (files of the template are
    replaced, others kept).
    """
    started = time.perf_counter()
    language = (language or "python").strip().lower()
    languages = predictors.template_languages()
    if language not in languages:
        import difflib

        near = difflib.get_close_matches(language, languages, n=1)
        raise ConfigurationError(f"unknown language {language!r}",
                                 hint=(f"did you mean {near[0]!r}? " if near else "") +
                                 f"languages: {', '.join(languages)}")
    if framework is not None and language != "python":
        raise ConfigurationError(f"--framework is for Python templates, not {language}",
                                 hint="drop --framework, or use --language python")
    if language == "python":
        framework = (framework or "sklearn").strip().lower()
        frameworks = predictors.templates("python")
        if framework not in frameworks:
            raise ConfigurationError(f"unknown framework {framework!r}", hint=f"frameworks: {', '.join(frameworks)}")
        spec = frameworks[framework]
        absent = [m for m in spec.template_needs if importlib.util.find_spec(m) is None]
        if absent and build:
            install = f"pip install 'drumnb[{spec.extra}]'" if spec.extra else f"install {', '.join(absent)}"
            raise ConfigurationError(f"the {framework} template needs {', '.join(absent)}, which is not installed",
                                     hint=f"{install}, or pass --no-build to write the files only")
    folder = os.path.abspath(os.fspath(code_dir))
    if os.path.isdir(folder) and os.listdir(folder) and not force:
        raise ConfigurationError(f"{folder} exists and is not empty",
                                 hint="choose a new folder, or pass --force to write the template's files into it")
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ConfigurationError(f"{folder} exists and is not a folder")
    os.makedirs(folder, exist_ok=True)
    name = name or os.path.basename(folder.rstrip(os.sep)) or "model"
    result = TemplateResult(folder, language, framework)
    builder = {"python": _python, "r": _r, "java": _java, "julia": _julia}[language]
    if language == "python":
        _python(result, name, build, timeout, in_process)
    else:
        builder(result, name, build, timeout)
    result.seconds = time.perf_counter() - started
    return result


def _common(result: TemplateResult, name: str, table: str, what: str, train: str) -> None:
    _write(result.folder, "model-metadata.yaml", _text(COMMON, "model-metadata.yaml").format(name=name),
           result.files)
    readme = _text(COMMON, "README.md").format(name=name, table=table, what=what, train=train)
    _write(result.folder, "README.md", readme, result.files)


def _python(result: TemplateResult, name: str, build: bool, timeout: float, in_process: bool = False) -> None:
    fw = result.framework or "sklearn"
    spec = predictors.templates("python")[fw]
    result.artifact = spec.artifact or "model.pkl"
    where = spec.template or ""
    hooks = _text(PYTHON, "custom.py.tmpl").format(
        framework=fw, imports=_text(where, "imports.py.tmpl", ""), artifact=result.artifact,
        load_body=_text(where, "load_model.py.tmpl").rstrip("\n"), score_body=_text(where, "score.py.tmpl").rstrip("\n"))
    _write(result.folder, "custom.py", hooks, result.files)
    _write(result.folder, "train.py", _text(PYTHON, "train.py.tmpl") + _text(where, "train.py.tmpl"), result.files)
    table = ("| `custom.py` | the hooks, each documented |\n"
             f"| `train.py` | trains the example model and writes `{result.artifact}` and `example_input.csv` |\n"
             f"| `{result.artifact}` | the artifact ({fw}) |")
    _common(result, name, table, f"Python, {fw}",
            f"Replace the data and the model in `train.py` with yours and run `python train.py` (it writes "
            f"`{result.artifact}`), or save your own artifact under that name.")
    if not build:
        _write(result.folder, "example_input.csv", _example_csv(), result.files)
        result.notes.append(f"not built: run 'python train.py' in the folder to write {result.artifact}")
        return
    if in_process:
        import contextlib
        import io
        import runpy

        try:
            with contextlib.redirect_stdout(io.StringIO()):
                runpy.run_path(os.path.join(result.folder, "train.py"), run_name="__main__")
        except Exception as exc:  # noqa: BLE001 - the author's script: one message
            raise ConfigurationError(f"train.py of the {fw} template failed: {type(exc).__name__}: {exc}",
                                     hint=f"run 'python train.py' in {result.folder} to see the whole error") from exc
    else:
        proc = _run([sys.executable, "train.py"], result.folder, timeout)
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
            raise ConfigurationError(f"train.py of the {fw} template failed (exit {proc.returncode}):\n{tail}",
                                     hint=f"run 'python train.py' in {result.folder} to see the whole error")
    result.files += [result.artifact, "example_input.csv"]
    result.built = True


def _r(result: TemplateResult, name: str, build: bool, timeout: float) -> None:
    result.artifact = "model.rds"
    for rel, text in _files(_location("r")).items():
        _write(result.folder, rel, text, result.files)
    _write(result.folder, "example_input.csv", _example_csv(), result.files)
    table = ("| `custom.R` | the hooks, each documented |\n"
             "| `train.R` | trains the example model (`lm`) and writes `model.rds` |\n"
             "| `model.rds` | the artifact |")
    _common(result, name, table, "R",
            "Replace the data and the model in `train.R` with yours and run `Rscript train.R` (it writes "
            "`model.rds`); the R packages your model needs must be installed where it runs.")
    rscript = shutil.which("Rscript")
    if not build:
        result.notes.append("not built: run 'Rscript train.R' in the folder to write model.rds")
        return
    if rscript is None:
        result.notes.append("Rscript not found, so model.rds was not written: install R (r-base-core) and run "
                            "'Rscript train.R' in the folder; scoring also needs rpy2 (pip install 'drumnb[r]')")
        return
    proc = _run([rscript, "train.R"], result.folder, timeout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise ConfigurationError(f"train.R failed (exit {proc.returncode}):\n{tail}",
                                 hint=f"run 'Rscript train.R' in {result.folder} to see the whole error")
    result.files.append("model.rds")
    result.built = True
    if importlib.util.find_spec("rpy2") is None:
        result.notes.append("scoring R models needs rpy2: pip install 'drumnb[r]'")


def _java(result: TemplateResult, name: str, build: bool, timeout: float) -> None:
    result.artifact = "model.jar"
    texts = _files(_location("java"))
    sources = [rel for rel in texts if rel.startswith("src/")]
    for rel, text in texts.items():
        _write(result.folder, rel, text, result.files, mode=0o755 if rel.endswith(".sh") else None)
    _write(result.folder, "example_input.csv", _example_csv(), result.files)
    table = ("| `src/template/LinearModel.java` | the predictor class: its methods are the contract (Java models "
             "have no hooks file) |\n"
             "| `src/com/datarobot/prediction/` | DataRobot's predictor interfaces (stand-ins of the "
             "`datarobot-prediction` artifact) |\n"
             "| `build.sh` | compiles `src/` into `model.jar` |\n"
             "| `model.jar` | the artifact |")
    _common(result, name, table, "Java",
            "Put your scoring code in `LinearModel.java` (or another class implementing one of the interfaces) "
            "and run `./build.sh`.  A model exported from H2O can replace the jar: a MOJO `.zip` or a POJO "
            "`.java` file at the top of the folder.")
    if not build:
        result.notes.append("not built: run ./build.sh to write model.jar")
        return
    javac = shutil.which("javac")
    if javac is None:
        result.notes.append("javac not found, so model.jar was not built: install a JDK (openjdk-17-jdk-headless) "
                            "and run ./build.sh")
        return
    with tempfile.TemporaryDirectory(prefix="drumnb-java-template-") as tmp:
        files = [os.path.join(result.folder, rel) for rel in sources]
        proc = _run([javac, "--release", "11", "-d", tmp, *files], result.folder, timeout)
        if proc.returncode != 0:
            raise ConfigurationError(f"javac failed on the Java template:\n{proc.stderr.strip()[-1500:]}",
                                     hint=f"run ./build.sh in {result.folder} to see the whole error")
        with zipfile.ZipFile(os.path.join(result.folder, "model.jar"), "w", zipfile.ZIP_DEFLATED) as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nCreated-By: drumnb\n\n")
            for root, _, names in os.walk(tmp):
                for n in sorted(names):
                    full = os.path.join(root, n)
                    jar.write(full, os.path.relpath(full, tmp))
    result.files.append("model.jar")
    result.built = True


def _julia(result: TemplateResult, name: str, build: bool, timeout: float) -> None:
    result.artifact = "model.jlso"
    for rel, text in _files(_location("julia")).items():
        _write(result.folder, rel, text, result.files)
    _write(result.folder, "example_input.csv", _example_csv(), result.files)
    table = ("| `custom.jl` | the hooks, each documented |\n"
             "| `train.jl` | trains the example model (MLJ) and writes `model.jlso` |\n"
             "| `model.jlso` | the artifact (written by `julia train.jl`) |")
    _common(result, name, table, "Julia, MLJ",
            "Replace the data and the model in `train.jl` with yours and run `julia train.jl`.")
    julia = shutil.which("julia")
    if build and julia is not None:
        proc = _run([julia, "train.jl"], result.folder, timeout)
        if proc.returncode == 0:
            result.files.append("model.jlso")
            result.built = True
            return
        result.notes.append(f"julia train.jl failed: {proc.stderr.strip().splitlines()[-1:] or ''}")
        return
    result.notes.append("Julia is not installed here: model.jlso was not written, and loading this folder fails "
                        "with a JuliaUnavailableError until Julia, its packages (MLJ, JLSO, DataFrames, CSV, "
                        "MLJLinearModels) and 'pip install juliacall' are installed; then run 'julia train.jl'")


def _location(name: str) -> str:
    return predictors.templates(None)[name].template or ""


def __getattr__(name: str) -> Any:
    """``LANGUAGES`` and ``FRAMEWORKS``: read from the registry when asked (entry points included)."""
    if name == "LANGUAGES":
        return tuple(predictors.template_languages())
    if name == "FRAMEWORKS":
        return tuple(predictors.templates("python"))
    raise AttributeError(name)


__all__ = ["new_model", "TemplateResult", "LANGUAGES", "FRAMEWORKS"]
