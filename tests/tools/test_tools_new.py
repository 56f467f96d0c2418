"""`drumnb new model`: every template scores (Python) or loads (R, Java) out of the box; Julia says what is missing."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from drumnb.core.errors import ConfigurationError
from drumnb.tools import new_model
from drumnb import predictors

SPECS = predictors.templates("python")  # the registry's Python templates: sklearn, xgboost, torch, keras, onnx
FRAMEWORKS = tuple(SPECS)
ARTIFACTS = {fw: spec.artifact for fw, spec in SPECS.items()}
FRAMEWORK_MODULES = {fw: spec.template_needs for fw, spec in SPECS.items()}

ROOT = Path(__file__).resolve().parents[2]
HOOK_DOCS = ("init", "load_model", "read_input_data", "transform", "score", "post_process")


def _available(fw: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in FRAMEWORK_MODULES[fw])


@pytest.fixture(scope="module")
def templates_root(tmp_path_factory):
    return tmp_path_factory.mktemp("templates")


def _template(root: Path, framework: str):
    """The template, trained in this process (the test imports the framework to score it anyway)."""
    if not _available(framework):
        pytest.skip(f"{framework} is not installed")
    if not (root / framework / ARTIFACTS[framework]).exists():
        return new_model(root / framework, framework=framework, in_process=True, force=True)
    from drumnb.tools.templates import TemplateResult

    return TemplateResult(str(root / framework), "python", framework, artifact=ARTIFACTS[framework], built=True)


@pytest.mark.parametrize("framework", [pytest.param(fw, marks=pytest.mark.slow) if fw in ("torch", "keras") else fw
                                       for fw in FRAMEWORKS])
def test_python_template_scores_out_of_the_box(templates_root, framework):
    import drumnb

    result = _template(templates_root, framework)
    folder = Path(result.folder)
    assert result.built and result.artifact == ARTIFACTS[framework]
    for name in ("custom.py", "train.py", "model-metadata.yaml", "README.md", "example_input.csv", result.artifact):
        assert (folder / name).is_file(), name
    hooks = (folder / "custom.py").read_text()
    for hook in HOOK_DOCS:  # every hook is there, with its documentation
        assert f"def {hook}(" in hooks
    assert "score_unstructured" in hooks and "chat" in hooks
    model = drumnb.load_model(str(folder))
    assert model.target_type == "regression" and model.metadata.type_schema  # from model-metadata.yaml
    data = pd.read_csv(folder / "example_input.csv")
    assert data.isna().sum().sum() == 1  # one missing value, imputed by transform
    pred = model.predict(str(folder / "example_input.csv"))
    assert len(pred) == 20 and pred["Predictions"].notna().all()
    # a decent fit of y = 3 x1 - 2 x2 + x3 x4 on rows without missing values
    full = data.dropna().index
    truth = 3 * data.x1 - 2 * data.x2 + data.x3 * data.x4
    assert (pred["Predictions"][full] - truth[full]).abs().mean() < 1.0


def test_python_template_passes_validation(templates_root):
    from drumnb.tools import validate

    result = _template(templates_root, "sklearn")
    report = validate(result.folder, os.path.join(result.folder, "example_input.csv"))
    assert report.passed, report.to_text()


def test_cli_new_model_then_score(tmp_path, cli):
    folder = tmp_path / "cli_model"
    proc = cli("new", "model", "--language", "python", "--framework", "sklearn", "--code-dir", str(folder))
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert "custom.py" in out and "model.pkl" in out and "drumnb score --code-dir" in out
    scored = cli("score", "--code-dir", str(folder), "--input", str(folder / "example_input.csv"))
    assert scored.returncode == 0, scored.stderr.decode()
    assert scored.stdout.decode().splitlines()[0] == "Predictions" and len(scored.stdout.decode().splitlines()) == 21
    again = cli("new", "model", "--code-dir", str(folder))
    assert again.returncode == 1 and "not empty" in again.stderr.decode() and "--force" in again.stderr.decode()
    usage = cli("new", "model", "--language", "r", "--framework", "torch", "--code-dir", str(tmp_path / "x"))
    assert usage.returncode == 2 and "--framework is for Python templates" in usage.stderr.decode()


def test_no_build_and_errors(tmp_path):
    result = new_model(tmp_path / "files_only", framework="onnx", build=False)
    assert not result.built and "model.onnx" not in os.listdir(result.folder)
    assert any("python train.py" in n for n in result.notes)
    with pytest.raises(ConfigurationError, match="unknown language 'pyhton'") as info:
        new_model(tmp_path / "x", language="pyhton")
    assert "did you mean 'python'" in info.value.hint
    with pytest.raises(ConfigurationError, match="unknown framework"):
        new_model(tmp_path / "y", framework="lightgbm")


# --- other languages: each loads in a fresh process (R and the JVM must not share one) ----------

def _load_in_child(folder: Path, *, predict: bool = True) -> subprocess.CompletedProcess:
    code = textwrap.dedent(f"""
        import drumnb
        m = drumnb.load_model({str(folder)!r})
        print("LANGUAGE", m.info["language"], "PREDICTOR", m.info["predictor"])
        if {predict!r}:
            p = m.predict({str(folder / "example_input.csv")!r})
            print("ROWS", len(p), "FIRST", round(float(p["Predictions"].iloc[0]), 3))
    """)
    env = {**os.environ, "TZ": "UTC", "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Rscript") is None or importlib.util.find_spec("rpy2") is None,
                    reason="needs R (Rscript) and rpy2")
def test_r_template_loads_and_scores(tmp_path):
    result = new_model(tmp_path / "r_model", language="r")
    assert result.built and (Path(result.folder) / "model.rds").is_file()
    hooks = (Path(result.folder) / "custom.R").read_text()
    for hook in HOOK_DOCS:
        assert f"{hook} <- function(" in hooks
    proc = _load_in_child(Path(result.folder))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "LANGUAGE R" in proc.stdout and "ROWS 20" in proc.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("javac") is None or importlib.util.find_spec("jpype") is None,
                    reason="needs a JDK (javac) and JPype1")
def test_java_template_loads_and_scores(tmp_path):
    result = new_model(tmp_path / "java_model", language="java")
    folder = Path(result.folder)
    assert result.built and (folder / "model.jar").is_file() and os.access(folder / "build.sh", os.X_OK)
    assert "public double score(Map<String, ?> row)" in (folder / "src/template/LinearModel.java").read_text()
    proc = _load_in_child(folder)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "LANGUAGE Java PREDICTOR java" in proc.stdout and "ROWS 20" in proc.stdout
    data = pd.read_csv(folder / "example_input.csv")
    first = 3 * data.x1[0] - 2 * data.x2[0] + data.x3[0] * data.x4[0]
    assert f"FIRST {round(first, 3)}" in proc.stdout


def test_julia_template_gives_the_missing_julia_error(tmp_path):
    if shutil.which("julia") and importlib.util.find_spec("juliacall"):
        pytest.skip("Julia is installed here")
    result = new_model(tmp_path / "jl_model", language="julia")
    folder = Path(result.folder)
    assert not result.built and any("Julia is not installed" in n for n in result.notes)
    hooks = (folder / "custom.jl").read_text()
    for hook in HOOK_DOCS:
        assert f"function {hook}(" in hooks
    import drumnb
    from drumnb.predictors.julia import JuliaUnavailableError

    with pytest.raises(JuliaUnavailableError) as info:
        drumnb.load_model(str(folder))
    assert "Julia runtime not available" in info.value.message and "juliacall" in info.value.hint
