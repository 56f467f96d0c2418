"""H2O models as DRUM 1.18.1 runs them: XGBoost MOJOs load, and an absent input column is scored as NA.

H2O GBMs (MOJO and POJO) and H2O XGBoost models (MOJO) are trained once per session on a local H2O
cluster (``h2o_support``: one thread, small heap, shut down afterwards).  H2O's own predictions on the
same rows, with a column dropped and with it set to NA, are what drumnb must give.

* ``h2o.jar`` of the h2o wheel carries genmodel's XGBoost extension: XGBoost MOJOs load from it.
* Without the extension (a genmodel jar stripped of it, as Maven's plain ``h2o-genmodel`` is) loading an
  XGBoost MOJO is an ``ArtifactError`` (513 from ``--with-error-server``) naming the extension and
  ``DRUMNB_JAVA_CLASSPATH``; the extension jar given there makes it load.

Every JVM runs in a child process (the API scenarios, the CLI, the servers).
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from h2o_support import start_training, stop_training, wait_trained
from test_java import ERR, HAVE_H2O, HAVE_JAVA, KINDS, _env, run_scenario
from server_support import start_server

assert start_server  # a fixture, used by name below

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900),
              pytest.mark.skipif(not (HAVE_JAVA and HAVE_H2O), reason="needs a JDK (java, javac), JPype1 and "
                                 "h2o==3.46.0.11: pip install 'drumnb[java]'")]

LABELS = {"reg": ["predict"], "bin": ["no", "yes"], "multi": ["low", "mid", "high"]}
#: drumnb's column for each of H2O's prediction columns
OURS = {"predict": "Predictions"}
#: H2O scores XGBoost in the cluster with the native booster and a MOJO with genmodel's Java booster
#: (float32 sums in another order): they agree to about 1e-6
ATOL = {"mojo": 1e-6, "pojo": 1e-6, "xgb": 2e-5}
#: the genmodel classes that make up its XGBoost extension (Maven's ai.h2o:h2o-genmodel-ext-xgboost)
XGB_EXTENSION = ("hex/genmodel/algos/xgboost/", "biz/k11i/", "META-INF/services/hex.genmodel.ModelMojoReader")


@pytest.fixture(scope="session")
def jcache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("drumnb_cache")


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("h2o_compat_models")
    proc, log = start_training(out, _env(), xgboost=True)
    try:
        wait_trained(proc, log, timeout=600)
    finally:
        stop_training(proc, log, timeout=300)
    (out / "no_feature.csv").write_text("a,b\n1,2\n")
    return out


@pytest.fixture(scope="session")
def split_genmodel(models) -> tuple[Path, Path]:
    """The genmodel jar H2O serves, split as Maven ships it: plain genmodel, and the XGBoost extension."""
    source = models / "genmodel" / "h2o-genmodel.jar"
    plain, ext = models / "genmodel" / "plain-genmodel.jar", models / "genmodel" / "h2o-genmodel-ext-xgboost.jar"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(plain, "w") as p, zipfile.ZipFile(ext, "w") as e:
        for info in src.infolist():
            (e if info.filename.startswith(XGB_EXTENSION) else p).writestr(info, src.read(info))
    return plain, ext


SCORE_ALL = """
import logging
logging.basicConfig(level=logging.WARNING, format="%(message)s")
for kind, (tt, kw) in KINDS.items():
    for fmt in FORMATS:
        box = {}
        failed = err(lambda: box.setdefault("m", drumnb.load_model(f"{H}/{fmt}_{kind}", tt, **kw)))
        if failed:
            out[f"{fmt}_{kind}"] = failed
            continue
        m = box["m"]
        out[f"{fmt}_{kind}"] = m.predict(H + "/test.csv").to_dict(orient="list")
        if MISSING:
            for suffix in ("no_x2", "na_x2", "na_color"):
                out[f"{fmt}_{kind}_{suffix}"] = m.predict(H + f"/test_{suffix}.csv").to_dict(orient="list")
            frame = pd.read_csv(H + "/test.csv").drop(columns=["color"])
            out[f"{fmt}_{kind}_no_color"] = m.predict(frame).to_dict(orient="list")
            out[f"{fmt}_{kind}_no_feature"] = err(lambda: m.predict(H + "/no_feature.csv"))
if MISSING:
    out["wrong_labels"] = err(lambda: drumnb.load_model(H + "/xgb_bin", "binary", positive_class_label="yes",
                                                        negative_class_label="maybe"))
    out["wrong_multi"] = err(lambda: drumnb.load_model(H + "/pojo_multi", "multiclass",
                                                       class_labels=["low", "mid", "top"]))
emit(out)
"""


def score_all(models: Path, env: dict, formats=("mojo", "pojo", "xgb"), missing: bool = True):
    code = ERR + f"H, KINDS, FORMATS, MISSING = {str(models)!r}, {KINDS!r}, {list(formats)!r}, {missing!r}\n" \
        + SCORE_ALL
    result, proc = run_scenario(code, env=env, timeout=600)
    assert proc.returncode == 0 and result, f"rc={proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return result, proc.stderr


@pytest.fixture(scope="session")
def api(models, jcache):
    """Every H2O model, through the API, in one child process (h2o.jar: genmodel with its XGBoost extension)."""
    return score_all(models, _env(cache=jcache))


def h2o_own(models: Path, fmt: str, kind: str, suffix: str = "") -> pd.DataFrame:
    prefix = f"xgb_{kind}" if fmt == "xgb" else kind
    ref = pd.read_csv(models / f"{prefix}{suffix}_h2o.csv")
    return ref[LABELS[kind]].rename(columns=OURS)


def assert_h2o(ours, ref: pd.DataFrame, fmt: str) -> None:
    ours = pd.DataFrame(ours)
    assert len(ours) == len(ref) == 40
    np.testing.assert_allclose(ours[list(ref.columns)].to_numpy(float), ref.to_numpy(float), atol=ATOL[fmt], rtol=0)


# --- XGBoost MOJOs ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(KINDS))
def test_xgboost_mojo_loads_from_the_h2o_jar_and_matches_h2o(api, models, kind):
    ours = api[0][f"xgb_{kind}"]
    assert "type" not in ours, ours  # not an error
    assert_h2o(ours, h2o_own(models, "xgb", kind), "xgb")


def test_xgboost_mojo_without_the_extension_names_it(models, split_genmodel, jcache):
    plain, _ = split_genmodel
    result, _ = score_all(models, _env({"DRUMNB_H2O_GENMODEL_JAR": str(plain)}, cache=jcache),
                          formats=("xgb", "mojo"), missing=False)
    for kind in KINDS:
        e = result[f"xgb_{kind}"]
        assert e["type"] == "ArtifactError" and e["status"] == 513, e
        assert e["message"].startswith(f"xgb_{kind}.zip is an H2O XGBoost MOJO: reading it needs genmodel's "
                                       "XGBoost extension (ai.h2o:h2o-genmodel-ext-xgboost), which is not on the "
                                       "class path (genmodel jar plain-genmodel.jar)"), e["message"]
        assert "DRUMNB_JAVA_CLASSPATH=/path/to/h2o-genmodel-ext-xgboost.jar" in e["hint"]
        assert "DRUMNB_H2O_GENMODEL_JAR" in e["hint"]
        # the plain jar still reads GBM MOJOs
        assert_h2o(result[f"mojo_{kind}"], h2o_own(models, "mojo", kind), "mojo")


def test_xgboost_extension_jar_on_drumnb_java_classpath(models, split_genmodel, jcache):
    plain, ext = split_genmodel
    env = _env({"DRUMNB_H2O_GENMODEL_JAR": str(plain), "DRUMNB_JAVA_CLASSPATH": str(ext)}, cache=jcache)
    result, _ = score_all(models, env, formats=("xgb",), missing=False)
    for kind in KINDS:
        assert_h2o(result[f"xgb_{kind}"], h2o_own(models, "xgb", kind), "xgb")
    missing = score_all(models, _env({"DRUMNB_JAVA_CLASSPATH": str(ext) + ".absent"}, cache=jcache),
                        formats=("xgb",), missing=False)[0]["xgb_reg"]
    assert missing["type"] == "JavaRuntimeUnavailable" and "DRUMNB_JAVA_CLASSPATH" in missing["message"]
    assert missing["status"] == 513


def test_xgboost_server_serves_and_error_server_answers_513(start_server, models, split_genmodel, jcache):
    plain, _ = split_genmodel
    args = ["-cd", str(models / "xgb_bin"), "--target-type", "binary", "--positive-class-label", "yes",
            "--negative-class-label", "no"]
    ok = start_server(args, env=_env(cache=jcache), wait=False)
    broken = start_server([*args, "--with-error-server"], env=_env({"DRUMNB_H2O_GENMODEL_JAR": str(plain)},
                                                                   cache=jcache), wait=False)
    ok.wait_ready(180)
    broken.wait_ready(180, statuses=(513,))
    r = ok.post("/predict/", data=(models / "test_no_x2.csv").read_bytes(), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert_h2o(pd.DataFrame(r.json()["predictions"]), h2o_own(models, "xgb", "bin", "_no_x2"), "xgb")
    r = broken.post("/predict/", data=(models / "test.csv").read_bytes(), headers={"Content-Type": "text/csv"})
    assert r.status_code == 513, r.text
    assert "genmodel's XGBoost extension (ai.h2o:h2o-genmodel-ext-xgboost)" in r.json()["message"]
    assert "DRUMNB_JAVA_CLASSPATH" in r.json()["hint"]


# --- a missing input column is NA, as H2O scores it ------------------------------------------------

@pytest.mark.parametrize("fmt", ["mojo", "pojo", "xgb"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_absent_column_scores_as_h2o_scores_it(api, models, fmt, kind):
    result = api[0]
    # H2O's own predictions on the rows without x2 equal those with x2 set to NA; drumnb gives both
    no_x2 = h2o_own(models, fmt, kind, "_no_x2")
    pd.testing.assert_frame_equal(no_x2, h2o_own(models, fmt, kind, "_na_x2"))
    assert_h2o(result[f"{fmt}_{kind}_no_x2"], no_x2, fmt)
    assert_h2o(result[f"{fmt}_{kind}_na_x2"], no_x2, fmt)
    # a categorical column: absent (a DataFrame without it) = NA in every row
    assert_h2o(result[f"{fmt}_{kind}_no_color"], h2o_own(models, fmt, kind, "_na_color"), fmt)
    assert_h2o(result[f"{fmt}_{kind}_na_color"], h2o_own(models, fmt, kind, "_na_color"), fmt)
    # and the prediction did change: the column matters to the model
    full = pd.DataFrame(result[f"{fmt}_{kind}"])[list(no_x2.columns)]
    assert not np.allclose(full.to_numpy(float), no_x2.to_numpy(float))


def test_absent_columns_are_named_once_and_no_feature_is_an_error(api):
    result, stderr = api
    for fmt in ("mojo", "pojo", "xgb"):
        e = result[f"{fmt}_reg_no_feature"]
        assert e["type"] == "InputError" and e["status"] == 422, e
        assert "none of the columns" in e["message"] and "x1" in e["message"]
    warned = [line for line in stderr.splitlines() if "lacks column(s) ['x2']" in line]
    # once per model (9 models), not once per call; every one says what happens
    assert len(warned) == 9, stderr[-3000:]
    assert all("scored as missing (NA) in every row" in line for line in warned)


def test_cli_scores_a_file_without_a_column(models, jcache, cli):
    proc = cli("score", "-cd", str(models / "pojo_multi"), "--input", str(models / "test_no_x2.csv"),
                   "--target-type", "multiclass", "--class-labels", "low", "mid", "high", env=_env(cache=jcache))
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    assert_h2o(pd.read_csv(io.BytesIO(proc.stdout)), h2o_own(models, "pojo", "multi", "_no_x2"), "pojo")
    assert b"lacks column(s) ['x2']" in proc.stderr


# --- labels that are not the model's classes ----------------------------------------------------------

def test_labels_that_are_not_the_h2o_classes_fail_at_load(api):
    """Group 3 of the compatibility issue for H2O: a silent mislabel is an error naming both sets."""
    e = api[0]["wrong_labels"]
    assert e["type"] == "ConfigurationError", e
    assert "['no', 'yes']" in e["message"] and "maybe" in e["message"] and "xgb_bin.zip" in e["message"]
    e = api[0]["wrong_multi"]
    assert e["type"] == "ConfigurationError" and "['high', 'low', 'mid']" in e["message"] and "top" in e["message"]
