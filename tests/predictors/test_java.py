"""Java models with a real JVM: H2O MOJO / POJO and DataRobot-interface jars.

H2O GBMs (regression, binary, multiclass; a categorical column and missing
values) are trained once per session on a local H2O cluster (one thread, small
heap, shut down afterwards), exported as MOJO and POJO, and drumnb's scores are
compared with H2O's own predictions.  The jar models implement stand-ins for
``com.datarobot.prediction``'s public interfaces, compiled with ``javac`` at
test time (Maven is out of reach).  Every scenario that starts a JVM runs in a
child process.
"""
from __future__ import annotations

import importlib.util
import io
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from h2o_support import start_training, stop_training, wait_trained

HAVE_JAVA = (shutil.which("java") is not None and shutil.which("javac") is not None
             and importlib.util.find_spec("jpype") is not None)
HAVE_H2O = importlib.util.find_spec("h2o") is not None
HAVE_R = shutil.which("Rscript") is not None and importlib.util.find_spec("rpy2") is not None
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not HAVE_JAVA, reason="needs a JDK (java, javac) and JPype1: "
                                                   "pip install 'drumnb[java]'")]
needs_h2o = pytest.mark.skipif(not HAVE_H2O, reason="needs h2o==3.46.0.11 (pip install 'drumnb[java]')")

ROOT = Path(__file__).resolve().parents[2]
MARK = "@@drumnb-result@@"
KINDS = {"reg": ("regression", {}),
         "bin": ("binary", {"positive_class_label": "yes", "negative_class_label": "no"}),
         "multi": ("multiclass", {"class_labels": ["low", "mid", "high"]})}


INTERFACES = {
    "com/datarobot/prediction/IPredictorInfo.java": """
        package com.datarobot.prediction;
        import java.util.Map;
        public interface IPredictorInfo {
            String getModelId();
            Map<String, Class<?>> getFeatures();
        }
    """,
    "com/datarobot/prediction/IRegressionPredictor.java": """
        package com.datarobot.prediction;
        import java.util.Map;
        public interface IRegressionPredictor extends IPredictorInfo {
            double score(Map<String, ?> row);
        }
    """,
    "com/datarobot/prediction/IClassificationPredictor.java": """
        package com.datarobot.prediction;
        import java.util.Map;
        public interface IClassificationPredictor extends IPredictorInfo {
            Map<String, Double> score(Map<String, ?> row);
            String[] getClassLabels();
        }
    """,
}

LINEAR = {"example/Linear.java": """
    package example;
    import com.datarobot.prediction.IRegressionPredictor;
    import java.util.LinkedHashMap;
    import java.util.Map;
    /** 2 * x, plus 10 for red and 100 when the colour is missing; a missing x counts as -1. */
    public class Linear implements IRegressionPredictor {
        public String getModelId() { return "linear-1"; }
        public Map<String, Class<?>> getFeatures() {
            Map<String, Class<?>> f = new LinkedHashMap<>();
            f.put("x", Double.class);
            f.put("color", String.class);
            return f;
        }
        public double score(Map<String, ?> row) {
            Object x = row.get("x");
            double v = x == null ? -1.0 : ((Number) x).doubleValue();
            Object c = row.get("color");
            return 2 * v + ("red".equals(c) ? 10.0 : (c == null ? 100.0 : 0.0));
        }
    }
"""}

LOGISTIC = {"example/Logistic.java": """
    package example;
    import com.datarobot.prediction.IClassificationPredictor;
    import java.util.HashMap;
    import java.util.LinkedHashMap;
    import java.util.Map;
    /** P(yes) = logistic(x); a missing x gives 0.5. */
    public class Logistic implements IClassificationPredictor {
        public String getModelId() { return "logistic-1"; }
        public Map<String, Class<?>> getFeatures() {
            Map<String, Class<?>> f = new LinkedHashMap<>();
            f.put("x", Double.class);
            return f;
        }
        public String[] getClassLabels() { return new String[] {"no", "yes"}; }
        public Map<String, Double> score(Map<String, ?> row) {
            Object x = row.get("x");
            double p = x == null ? 0.5 : 1.0 / (1.0 + Math.exp(-((Number) x).doubleValue()));
            Map<String, Double> out = new HashMap<>();
            out.put("yes", p);
            out.put("no", 1.0 - p);
            return out;
        }
    }
"""}

SCORING_CODE = {"com/datarobot/prediction/Predictors.java": """
    package com.datarobot.prediction;
    /** The entry point DataRobot Scoring Code jars have. */
    public final class Predictors {
        private Predictors() {}
        public static IPredictorInfo getPredictor(ClassLoader loader) {
            try {
                return (IPredictorInfo) Class.forName("example.Linear", true, loader).getDeclaredConstructor()
                    .newInstance();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }
    }
"""}

R_LM = r"""
suppressPackageStartupMessages(library(caret))
args <- commandArgs(trailingOnly = TRUE)
dir.create(file.path(args[1], "r_lm"), showWarnings = FALSE)
saveRDS(train(mpg ~ wt + hp, data = mtcars, method = "lm"), file.path(args[1], "r_lm", "model.rds"))
write.csv(mtcars[, c("wt", "hp")], file.path(args[1], "cars.csv"), row.names = FALSE)
cat("trained\n")
"""


def _env(extra: dict | None = None, cache: Path | None = None) -> dict:
    env = {**os.environ, "TZ": "UTC", "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if cache is not None:
        env["DRUMNB_CACHE_DIR"] = str(cache)
    env.update(extra or {})
    return env


def run_scenario(code: str, *, env: dict | None = None, timeout: int = 300):
    prelude = textwrap.dedent(f"""
        import json, sys
        def emit(obj):
            sys.stdout.write("{MARK}" + json.dumps(obj, default=str) + "\\n"); sys.stdout.flush()
    """)
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=str(ROOT))
    result = {}
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            result = json.loads(line[len(MARK):])
    return result, proc


def _build_jar(path: Path, sources: dict[str, str], work: Path) -> Path:
    src, classes = work / "src", work / "classes"
    for name, text in sources.items():
        f = src / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(textwrap.dedent(text).lstrip())
    classes.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["javac", "-d", str(classes), *[str(src / n) for n in sources]],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for f in sorted(classes.rglob("*.class")):
            zf.write(f, f.relative_to(classes).as_posix())
    return path


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def jcache(tmp_path_factory) -> Path:
    """drumnb's compile cache for this session (helpers and POJOs compile once, shared by the children)."""
    return tmp_path_factory.mktemp("drumnb_cache")


@pytest.fixture(scope="session")
def h2o_training(request, tmp_path_factory):
    """Start training the H2O models in the background (it takes ~30 s) when a collected test needs them.

    The jar tests, which come first, run meanwhile; ``h2o_models`` waits for the result.
    """
    if not HAVE_H2O or not any("h2o_models" in item.fixturenames for item in request.session.items):
        yield None
        return
    out = tmp_path_factory.mktemp("h2o_models")
    proc, log = start_training(out, _env())
    yield out, proc, log
    stop_training(proc, log, timeout=600)  # never leave the H2O cluster behind


@pytest.fixture(scope="session")
def h2o_models(h2o_training) -> Path:
    if h2o_training is None:
        pytest.skip("needs h2o")
    out, proc, log = h2o_training
    wait_trained(proc, log, timeout=600)
    # a renamed POJO, and a Driverless AI pipeline stand-in
    (out / "renamed").mkdir()
    shutil.copy(out / "pojo_reg" / "gbm_reg.java", out / "renamed" / "my_model.java")
    (out / "dai").mkdir()
    (out / "dai" / "pipeline.mojo").write_bytes(b"not really a pipeline")
    return out


@pytest.fixture(scope="session")
def jars(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("jars")
    _build_jar(out / "jar_reg" / "linear.jar", {**INTERFACES, **LINEAR}, out / "w1")
    _build_jar(out / "jar_cls" / "logistic.jar", {**INTERFACES, **LOGISTIC}, out / "w2")
    _build_jar(out / "jar_sc" / "scoring-code.jar", {**INTERFACES, **LINEAR, **SCORING_CODE}, out / "w3")
    _build_jar(out / "jar_none" / "interfaces.jar", dict(INTERFACES), out / "w4")
    pd.DataFrame({"x": [1.0, np.nan, -2.5, 0.0], "color": ["red", "blue", None, "red"],
                  "extra": [1, 2, 3, 4]}).to_csv(out / "jar_reg.csv", index=False)
    return out


ERR = """
import numpy as np, pandas as pd
import drumnb
from drumnb.core.errors import DrumnbError
out = {}

def err(fn):
    try:
        fn()
    except DrumnbError as e:
        return {"type": type(e).__name__, "message": e.message, "hint": e.hint, "status": e.status}
    return None
"""


@pytest.fixture(scope="session")
def jar_api(jars, jcache, h2o_training) -> dict:
    """One child process runs the jar scenarios (while the H2O models train)."""
    code = ERR + f"""
J = {str(jars)!r}
import sys
out["jvm_before"] = "jpype" in sys.modules
jr = drumnb.load_model(J + "/jar_reg", "regression")
out["jar_reg"] = jr.predict(J + "/jar_reg.csv")["Predictions"].tolist()
out["jvm_after"] = "jpype" in sys.modules
out["jar_reg_info"] = jr.info
sc = drumnb.load_model(J + "/jar_sc", "regression")
out["jar_sc"] = sc.predict(J + "/jar_reg.csv")["Predictions"].tolist()
jc = drumnb.load_model(J + "/jar_cls", "binary", positive_class_label="yes", negative_class_label="no")
p = jc.predict(pd.DataFrame({{"x": [0.0, 2.0, None]}}))
out["jar_cls"] = p.to_dict(orient="list")
out["jar_cls_columns"] = list(p.columns)
out["jar_none"] = err(lambda: drumnb.load_model(J + "/jar_none", "regression"))
out["jar_wrong_target"] = err(lambda: drumnb.load_model(J + "/jar_reg", "binary", positive_class_label="a",
                                                         negative_class_label="b").predict(J + "/jar_reg.csv"))
emit(out)
"""
    result, proc = run_scenario(code, env=_env(cache=jcache))
    assert proc.returncode == 0 and result, f"rc={proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return result


@pytest.fixture(scope="session")
def api(h2o_models, jcache) -> dict:
    """One child process runs every H2O scenario (the JVM starts once there)."""
    code = ERR + f"""
H = {str(h2o_models)!r}
KINDS = {KINDS!r}
for kind, (tt, kw) in KINDS.items():
    for fmt in ("mojo", "pojo"):
        m = drumnb.load_model(f"{{H}}/{{fmt}}_{{kind}}", tt, **kw)
        p = m.predict(H + "/test.csv")
        out[f"{{fmt}}_{{kind}}"] = p.to_dict(orient="list")
        out[f"{{fmt}}_{{kind}}_info"] = m.info
        out[f"{{fmt}}_{{kind}}_df"] = m.predict(pd.read_csv(H + "/test.csv")).to_dict(orient="list")
out["wrong_target"] = err(lambda: drumnb.load_model(H + "/mojo_reg", "binary", positive_class_label="yes",
                                                     negative_class_label="no").predict(H + "/test.csv"))
out["renamed"] = err(lambda: drumnb.load_model(H + "/renamed", "regression"))
out["dai"] = err(lambda: drumnb.load_model(H + "/dai", "regression"))
emit(out)
"""
    result, proc = run_scenario(code, env=_env(cache=jcache))
    assert proc.returncode == 0 and result, f"rc={proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return result


# --- jars ---------------------------------------------------------------------------------------

def _linear(x, color):
    v = -1.0 if x is None or (isinstance(x, float) and math.isnan(x)) else x
    missing = color is None or (isinstance(color, float) and math.isnan(color))
    return 2 * v + (10.0 if color == "red" else (100.0 if missing else 0.0))


def test_jar_regression_predictor(jar_api, jars):
    rows = pd.read_csv(jars / "jar_reg.csv")
    expected = [_linear(x, c) for x, c in zip(rows["x"], rows["color"])]
    assert jar_api["jar_reg"] == expected  # missing values arrive as absent keys
    assert jar_api["jar_sc"] == expected   # the Scoring Code entry point (Predictors.getPredictor)
    assert jar_api["jar_reg_info"]["language"] == "Java"


def test_jar_classification_predictor(jar_api):
    assert jar_api["jar_cls_columns"] == ["no", "yes"]
    yes = jar_api["jar_cls"]["yes"]
    np.testing.assert_allclose(yes, [0.5, 1 / (1 + math.exp(-2.0)), 0.5])
    np.testing.assert_allclose(np.array(jar_api["jar_cls"]["no"]) + yes, 1.0)


def test_jar_errors(jar_api):
    none = jar_api["jar_none"]
    assert none["type"] == "ArtifactError" and "no concrete class" in none["message"]
    wrong = jar_api["jar_wrong_target"]
    assert wrong["type"] == "ArtifactError" and "regression predictor" in wrong["message"]


# --- DRUM_JAVA_XMX, R and the JVM -------------------------------------------------------------

def test_drum_java_xmx_sets_the_heap(jars, jcache):
    code = f"""
        import drumnb
        from drumnb.predictors import java
        drumnb.load_model({str(jars / "jar_reg")!r}, "regression")
        emit({{"max": java.jvm_max_heap_bytes()}})
    """
    result, proc = run_scenario(code, env=_env({"DRUM_JAVA_XMX": "200m"}, cache=jcache))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 150 * 2 ** 20 < result["max"] <= 200 * 2 ** 20


@pytest.mark.skipif(not HAVE_R, reason="needs R and rpy2")
def test_r_then_the_jvm_in_one_process(jars, jcache, tmp_path):
    """R (with caret) first, then the JVM: both score; an R model after the JVM is refused, not a crash."""
    (tmp_path / "lm.R").write_text(R_LM)
    proc = subprocess.run(["Rscript", str(tmp_path / "lm.R"), str(tmp_path)], capture_output=True, text=True,
                          env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    code = f"""
        import drumnb
        from drumnb.core.errors import DrumnbError
        r = drumnb.load_model({str(tmp_path / "r_lm")!r}, "regression")
        before = r.predict({str(tmp_path / "cars.csv")!r})["Predictions"].tolist()
        j = drumnb.load_model({str(jars / "jar_reg")!r}, "regression")
        jp = j.predict({str(jars / "jar_reg.csv")!r})["Predictions"].tolist()
        after = r.predict({str(tmp_path / "cars.csv")!r})["Predictions"].tolist()
        try:
            drumnb.load_model({str(tmp_path / "r_lm")!r}, "regression")
            again = None
        except DrumnbError as e:
            again = type(e).__name__ + ": " + e.message
        emit({{"same": before == after, "n": len(before), "java": jp, "again": again}})
    """
    result, proc = run_scenario(code, env=_env(cache=jcache))
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stderr[-3000:]}"
    assert result["same"] and result["n"] == 32 and len(result["java"]) == 4
    assert result["again"].startswith("RRuntimeUnavailable") and "Java virtual machine" in result["again"]


# --- H2O ----------------------------------------------------------------------------------------

def _h2o(h2o_models: Path, kind: str) -> pd.DataFrame:
    return pd.read_csv(h2o_models / f"{kind}_h2o.csv")


@needs_h2o
@pytest.mark.parametrize("fmt", ["mojo", "pojo"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_h2o_scores_match_h2o(api, h2o_models, kind, fmt):
    ours = pd.DataFrame(api[f"{fmt}_{kind}"])
    ref = _h2o(h2o_models, kind)
    assert len(ours) == len(ref) == 40
    if kind == "reg":
        np.testing.assert_allclose(ours["Predictions"], ref["predict"], atol=1e-6)
    else:
        labels = KINDS[kind][1].get("class_labels") or ["no", "yes"]
        assert sorted(ours.columns) == sorted(labels)  # the order is the contract's (tests/core/test_contract.py)
        np.testing.assert_allclose(ours[labels], ref[labels], atol=1e-6)
    assert pd.DataFrame(api[f"{fmt}_{kind}_df"]).equals(ours)  # a DataFrame scores the same as the file
    info = api[f"{fmt}_{kind}_info"]
    assert info["language"] == "Java" and info["predictor"] == "java"


def test_jvm_starts_only_for_a_java_model(jar_api):
    assert jar_api["jvm_before"] is False and jar_api["jvm_after"] is True


@needs_h2o
def test_h2o_target_and_artifact_errors(api):
    wrong = api["wrong_target"]
    assert wrong["type"] == "ArtifactError" and "Regression" in wrong["message"] and "regression" in wrong["hint"]
    renamed = api["renamed"]
    assert renamed["type"] == "ArtifactError" and "my_model" in renamed["message"] and "name" in renamed["hint"]
    dai = api["dai"]
    assert dai["type"] == "ArtifactError" and "Driverless AI" in dai["message"] and "licen" in dai["message"]


@needs_h2o
def test_cli_scores_java_models(h2o_models, jars, jcache):
    jobs = {
        "mojo_bin": ["-cd", str(h2o_models / "mojo_bin"), "--input", str(h2o_models / "test.csv"),
                     "--target-type", "binary", "--positive-class-label", "yes", "--negative-class-label", "no"],
        "pojo_multi": ["-cd", str(h2o_models / "pojo_multi"), "--input", str(h2o_models / "test.csv"),
                       "--target-type", "multiclass", "--class-labels", "low", "mid", "high"],
        "mojo_reg": ["-cd", str(h2o_models / "mojo_reg"), "--input", str(h2o_models / "test.csv"),
                     "--target-type", "regression"],
        "jar_reg": ["-cd", str(jars / "jar_reg"), "--input", str(jars / "jar_reg.csv"), "--target-type", "regression"],
        "dai": ["-cd", str(h2o_models / "dai"), "--input", str(h2o_models / "test.csv"), "--target-type", "regression"],
    }

    def run(args):
        return subprocess.run([sys.executable, "-m", "drumnb", "score", *args], capture_output=True,
                              env=_env(cache=jcache), timeout=300, cwd=str(ROOT))

    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = dict(zip(jobs, pool.map(run, jobs.values())))
    for name in ("mojo_bin", "pojo_multi", "mojo_reg", "jar_reg"):
        assert procs[name].returncode == 0, f"{name}: {procs[name].stderr.decode()[-3000:]}"
    out = pd.read_csv(io.BytesIO(procs["mojo_bin"].stdout))
    np.testing.assert_allclose(out[["no", "yes"]], _h2o(h2o_models, "bin")[["no", "yes"]], atol=1e-6)
    out = pd.read_csv(io.BytesIO(procs["pojo_multi"].stdout))
    assert sorted(out.columns) == ["high", "low", "mid"]
    np.testing.assert_allclose(out[["low", "mid", "high"]], _h2o(h2o_models, "multi")[["low", "mid", "high"]],
                               atol=1e-6)
    out = pd.read_csv(io.BytesIO(procs["mojo_reg"].stdout))
    np.testing.assert_allclose(out["Predictions"], _h2o(h2o_models, "reg")["predict"], atol=1e-6)
    out = pd.read_csv(io.BytesIO(procs["jar_reg"].stdout))
    rows = pd.read_csv(jars / "jar_reg.csv")
    assert out["Predictions"].tolist() == [_linear(x, c) for x, c in zip(rows["x"], rows["color"])]
    dai = procs["dai"]
    assert dai.returncode == 1 and b"Driverless AI" in dai.stderr and b"Traceback" not in dai.stderr
