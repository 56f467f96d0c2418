"""R models with a real R: caret ``.rds`` models and ``custom.R`` hooks.

Every scenario that starts R runs in a child process (``python -c`` through the
API, or ``python -m drumnb score``), so that a crash of R cannot take the test
run down.  The caret models are trained once per session with ``Rscript``,
which also writes R's own predictions for the same rows; drumnb's answers are
compared with those.
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HAVE_R = shutil.which("Rscript") is not None and importlib.util.find_spec("rpy2") is not None
NO_R = "needs R (Rscript) and rpy2: apt-get install r-base-core r-cran-caret; pip install 'drumnb[r]'"
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MARK = "@@drumnb-result@@"

TRAIN_R = r"""
suppressPackageStartupMessages(library(caret))
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
set.seed(42)
dir.create(file.path(out, "lm"), showWarnings = FALSE)
dir.create(file.path(out, "glm"), showWarnings = FALSE)
dir.create(file.path(out, "rf"), showWarnings = FALSE)
dir.create(file.path(out, "brnn"), showWarnings = FALSE)

# regression: caret lm on mtcars
m_lm <- train(mpg ~ ., data = mtcars, method = "lm")
saveRDS(m_lm, file.path(out, "lm", "model.rds"))
cars <- mtcars[, setdiff(names(mtcars), "mpg")]
write.csv(cars, file.path(out, "cars.csv"), row.names = FALSE)
write.csv(data.frame(Predictions = unname(predict(m_lm, newdata = read.csv(file.path(out, "cars.csv"))))),
          file.path(out, "lm_expected.csv"), row.names = FALSE)

# binary: caret glm on mtcars, labels auto / manual
d <- mtcars
d$am <- factor(ifelse(d$am == 1, "manual", "auto"))
m_glm <- suppressWarnings(train(am ~ wt + hp + qsec, data = d, method = "glm",
                                trControl = trainControl(method = "none", classProbs = TRUE)))
saveRDS(m_glm, file.path(out, "glm", "model.rds"))
write.csv(predict(m_glm, newdata = read.csv(file.path(out, "cars.csv")), type = "prob"),
          file.path(out, "glm_expected.csv"), row.names = FALSE)

# multiclass: caret rf on iris
m_rf <- train(Species ~ ., data = iris, method = "rf", ntree = 25, tuneGrid = data.frame(mtry = 2),
              trControl = trainControl(method = "none", classProbs = TRUE))
saveRDS(m_rf, file.path(out, "rf", "model.rds"))
flowers <- iris[c(1:5, 51:55, 101:105), 1:4]
write.csv(flowers, file.path(out, "flowers.csv"), row.names = FALSE)
write.csv(predict(m_rf, newdata = read.csv(file.path(out, "flowers.csv")), type = "prob"),
          file.path(out, "rf_expected.csv"), row.names = FALSE)

# a caret model whose package is not installed (Debian does not package brnn)
m_brnn <- m_lm
m_brnn$modelInfo$library <- "brnn"
m_brnn$method <- "brnn"
saveRDS(m_brnn, file.path(out, "brnn", "model.rds"))
cat("trained\n")
"""

HOOKS_R = r"""
init <- function(code_dir, ...) {
  assign("drumnb_init_dir", code_dir, envir = globalenv())
}

load_model <- function(code_dir) {
  list(fit = readRDS(file.path(code_dir, "lm.rds")), from = get("drumnb_init_dir", envir = globalenv()))
}

read_input_data <- function(input_binary_data) {
  stopifnot(is.raw(input_binary_data))
  read.csv(text = rawToChar(input_binary_data), na.strings = c("NA", "missing"), check.names = FALSE)
}

transform <- function(data, model) {
  data$wt[is.na(data$wt)] <- 3.2
  data
}

score <- function(data, model, ...) {
  kw <- list(...)
  p <- predict(model$fit, newdata = data)
  data.frame(Predictions = unname(p),
             band = factor(ifelse(p > 20, "high", "low"), levels = c("low", "high")),
             note = ifelse(p > 22.5, NA_character_, "ok"),
             count = ifelse(p > 22.5, NA_integer_, 1L),
             flag = p > 20,
             dir_ok = basename(model$from) == "hooks",
             stringsAsFactors = FALSE)
}

post_process <- function(predictions, model) {
  predictions$Predictions <- round(predictions$Predictions, 6)
  predictions
}
"""

NA_R = r"""
load_model <- function(code_dir) "na-model"

score <- function(data, model, ...) {
  data.frame(Predictions = rowSums(is.na(data)),
             num_is_na = is.na(data$num),
             chr = data$chr,
             chr_class = class(data$chr),
             stringsAsFactors = FALSE)
}
"""

ERROR_R = r"""
load_model <- function(code_dir) "m"

score <- function(data, model, ...) {
  if (nrow(data) > 0) {
    warning("about to fail")
    stop("custom failure: ", nrow(data), " rows are too many")
  }
  data.frame(Predictions = 1)
}
"""

WARN_R = r"""
load_model <- function(code_dir) "m"

score <- function(data, model, ...) {
  warning("scores are made up")
  data.frame(Predictions = rep(1.5, nrow(data)))
}
"""

UNSTRUCTURED_R = r"""
load_model <- function(code_dir) "unstructured-model"

score_unstructured <- function(model, data, ...) {
  kw <- list(...)
  if (is.raw(data)) {
    return(list(rev(data), list(mimetype = "application/x-reversed")))
  }
  paste(toupper(data), kw$mimetype, kw$charset, kw$query$a, model, sep = "|")
}
"""

SYNTAX_R = "load_model <- function(code_dir) {\n  x <- 1 +\n}\n"
LIBRARY_R = "library(brnn)\nload_model <- function(code_dir) 1\n"


def _env(extra: dict | None = None) -> dict:
    env = {**os.environ, "TZ": "UTC", "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.update(extra or {})
    return env


def run_scenario(code: str, *, env: dict | None = None, timeout: int = 240) -> tuple[dict, subprocess.CompletedProcess]:
    """Run ``code`` in a fresh Python; it calls ``emit(obj)`` to hand back a JSON result."""
    prelude = textwrap.dedent(f"""
        import json, sys
        def emit(obj):
            sys.stdout.write("{MARK}" + json.dumps(obj, default=str) + "\\n"); sys.stdout.flush()
    """)
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                          env=_env(env), timeout=timeout, cwd=str(ROOT))
    result = {}
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            result = json.loads(line[len(MARK):])
    return result, proc


def run_cli(*args: str, env: dict | None = None, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drumnb", *args], capture_output=True, env=_env(env),
                          timeout=timeout, cwd=str(ROOT))


# --- fixtures: trained once per session ---------------------------------------------------------

@pytest.fixture(scope="session")
def rdir(tmp_path_factory) -> Path:
    if not HAVE_R:
        pytest.skip(NO_R)
    out = tmp_path_factory.mktemp("r_models")
    (out / "train.R").write_text(TRAIN_R)
    proc = subprocess.run(["Rscript", str(out / "train.R"), str(out)], capture_output=True, text=True,
                          env=_env(), timeout=300)
    assert proc.returncode == 0 and "trained" in proc.stdout, proc.stderr[-3000:]
    hooks = out / "hooks"
    hooks.mkdir()
    shutil.copy(out / "lm" / "model.rds", hooks / "lm.rds")
    (hooks / "custom.R").write_text(HOOKS_R)
    for name, text in {"na": NA_R, "error": ERROR_R, "warn": WARN_R, "unstructured": UNSTRUCTURED_R,
                       "syntax": SYNTAX_R, "library": LIBRARY_R}.items():
        (out / name).mkdir()
        (out / name / "custom.R").write_text(text)
    # rows with missing values, as CSV text (R's rules: "NA" is missing; an empty numeric field is missing;
    # an empty character field is the empty string)
    (out / "na.csv").write_text('num,chr\n1.5,a\nNA,b\n,c\n2.5,NA\n3.5,\n4.5,""\n')
    cars = pd.read_csv(out / "cars.csv")
    holes = cars.head(6).copy()
    holes.loc[1, "wt"] = np.nan
    holes.to_csv(out / "cars_holes.csv", index=False)
    return out


@pytest.fixture(scope="session")
def api(rdir) -> dict:
    """One child process scores every API scenario (R starts once there); tests read its answers."""
    code = f"""
        import warnings, numpy as np, pandas as pd
        import drumnb
        from drumnb.core.errors import DrumnbError
        D = {str(rdir)!r}
        out = {{}}

        def err(fn):
            try:
                fn()
            except DrumnbError as e:
                return {{"type": type(e).__name__, "mro": [k.__name__ for k in type(e).__mro__],
                         "message": e.message, "hint": e.hint, "status": e.status,
                         "line": getattr(e, "line", None), "cause": getattr(e, "cause_type", None)}}
            return None

        import sys
        out["r_loaded_before"] = "rpy2" in sys.modules
        lm = drumnb.load_model(D + "/lm", "regression")
        out["r_loaded_after"] = "rpy2" in sys.modules
        out["lm_info"] = lm.info
        out["lm_csv"] = lm.predict(D + "/cars.csv")["Predictions"].tolist()
        out["lm_bytes"] = lm.predict(open(D + "/cars.csv", "rb").read())["Predictions"].tolist()
        out["lm_df"] = lm.predict(pd.read_csv(D + "/cars.csv"))["Predictions"].tolist()
        out["lm_missing_column"] = err(lambda: lm.predict(pd.read_csv(D + "/cars.csv").drop(columns=["wt"])))
        out["lm_na"] = err(lambda: lm.predict(D + "/cars_holes.csv"))

        glm = drumnb.load_model(D + "/glm", "binary", positive_class_label="manual", negative_class_label="auto")
        p = glm.predict(D + "/cars.csv")
        out["glm_columns"] = list(p.columns)
        out["glm"] = p.to_dict(orient="list")

        rf = drumnb.load_model(D + "/rf", "multiclass", class_labels=["virginica", "setosa", "versicolor"])
        p = rf.predict(D + "/flowers.csv")
        out["rf_columns"] = list(p.columns)
        out["rf"] = p.to_dict(orient="list")
        holes = pd.read_csv(D + "/flowers.csv").head(3)
        holes.loc[1, "Sepal.Width"] = np.nan
        out["rf_na"] = err(lambda: rf.predict(holes))

        out["brnn"] = err(lambda: drumnb.load_model(D + "/brnn", "regression"))
        out["library"] = err(lambda: drumnb.load_model(D + "/library", "regression"))
        out["syntax"] = err(lambda: drumnb.load_model(D + "/syntax", "regression"))

        hooks = drumnb.load_model(D + "/hooks", "regression")
        out["hooks_info"] = hooks.info
        src = pd.read_csv(D + "/cars.csv").head(8)
        holed = src.astype({{"wt": object}})
        holed.loc[2, "wt"] = "missing"
        p = hooks.predict(holed.to_csv(index=False).encode())
        out["hooks_pred"] = p.astype(object).where(p.notna(), None).to_dict(orient="list")
        out["hooks_dtypes"] = {{c: str(t) for c, t in p.dtypes.items()}}
        out["hooks_band_categories"] = list(p["band"].cat.categories) if hasattr(p["band"], "cat") else None
        out["hooks_df"] = hooks.predict(src)["Predictions"].tolist()

        na = drumnb.load_model(D + "/na", "regression")
        out["na_hooks"] = na.info["hooks"]
        p = na.predict(D + "/na.csv")
        out["na_pred"] = p.astype(object).where(p.notna(), None).to_dict(orient="list")
        rb = drumnb.predictors.r.RPredictor(None).read_bytes(open(D + "/na.csv", "rb").read())
        out["read_bytes"] = rb.astype(object).where(rb.notna(), None).to_dict(orient="list")
        df_in = pd.DataFrame({{"num": [1.0, np.nan], "chr": ["x", "y"]}})
        out["na_df"] = na.predict(df_in)["Predictions"].tolist()

        er = drumnb.load_model(D + "/error", "regression")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out["error"] = err(lambda: er.predict(pd.DataFrame({{"a": [1, 2]}})))
        out["error_warnings"] = [str(w.message) for w in caught]

        wr = drumnb.load_model(D + "/warn", "regression")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out["warn_pred"] = wr.predict(pd.DataFrame({{"a": [1, 2]}}))["Predictions"].tolist()
        out["warn_warnings"] = [(type(w.message).__name__, str(w.message)) for w in caught]
        with warnings.catch_warnings():
            warnings.simplefilter("error", drumnb.predictors.r.RWarning)
            out["warn_strict"] = err(lambda: wr.predict(pd.DataFrame({{"a": [1, 2]}})))

        import threading
        cars = pd.read_csv(D + "/cars.csv")
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(lm.predict(cars)["Predictions"].round(8).tolist()))
                   for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        out["threads"] = {{"n": len(answers), "same": all(a == answers[0] for a in answers)}}

        un = drumnb.load_model(D + "/unstructured", "unstructured")
        r1 = un.predict_unstructured(b"hello", content_type="text/plain; charset=utf-8", query="a=7")
        r2 = un.predict_unstructured(b"\\x01\\x02\\x03", content_type="application/octet-stream")
        out["unstructured_text"] = r1.returned
        out["unstructured_binary"] = [list(r2.returned[0]), r2.returned[1]]
        emit(out)
    """
    result, proc = run_scenario(code)
    assert proc.returncode == 0 and result, f"rc={proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return result


@pytest.fixture(scope="session")
def cli_runs(rdir) -> dict:
    """`drumnb score` on each model folder, two processes at a time."""
    jobs = {
        "lm": ["-cd", str(rdir / "lm"), "--input", str(rdir / "cars.csv"), "--target-type", "regression"],
        "glm": ["-cd", str(rdir / "glm"), "--input", str(rdir / "cars.csv"), "--target-type", "binary",
                "--positive-class-label", "manual", "--negative-class-label", "auto"],
        "rf": ["-cd", str(rdir / "rf"), "--input", str(rdir / "flowers.csv"), "--target-type", "multiclass",
               "--class-labels", "virginica", "setosa", "versicolor"],
        "hooks": ["-cd", str(rdir / "hooks"), "--input", str(rdir / "cars.csv"), "--target-type", "regression"],
        "brnn": ["-cd", str(rdir / "brnn"), "--input", str(rdir / "cars.csv"), "--target-type", "regression"],
        "error": ["-cd", str(rdir / "error"), "--input", str(rdir / "cars.csv"), "--target-type", "regression"],
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run_cli, "score", *args) for name, args in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


def _expected(rdir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(rdir / f"{name}_expected.csv")


# --- caret models, no hooks ---------------------------------------------------------------------

def test_r_starts_only_when_an_r_model_loads(api):
    assert api["r_loaded_before"] is False
    assert api["r_loaded_after"] is True
    assert api["lm_info"]["language"] == "R" and api["lm_info"]["predictor"] == "r"
    assert api["lm_info"]["hooks"] == []


def test_caret_lm_regression_matches_rscript(api, rdir):
    expected = _expected(rdir, "lm")["Predictions"].to_numpy()
    for key in ("lm_csv", "lm_bytes", "lm_df"):
        np.testing.assert_allclose(api[key], expected, rtol=1e-10, err_msg=key)


def test_caret_glm_binary_probabilities_in_label_order(api, rdir):
    assert api["glm_columns"] == ["auto", "manual"]
    expected = _expected(rdir, "glm")
    for label in ("auto", "manual"):
        np.testing.assert_allclose(api["glm"][label], expected[label], rtol=1e-9, atol=1e-12)


def test_caret_rf_multiclass_keeps_the_model_order(api, rdir):
    # labels given as virginica, setosa, versicolor: the columns follow R's own output, as in DRUM
    assert api["rf_columns"] == ["setosa", "versicolor", "virginica"]
    expected = _expected(rdir, "rf")
    for label in api["rf_columns"]:
        np.testing.assert_allclose(api["rf"][label], expected[label], atol=1e-12)


def test_missing_column_is_an_input_error(api):
    e = api["lm_missing_column"]
    assert e and e["type"] == "InputError" and "wt" in e["message"]


def test_na_in_features_gives_a_clear_error(api):
    lm_na = api["lm_na"]  # lm predicts NA for the row: the output contract names it
    assert lm_na and lm_na["type"] == "ContractError" and "NaN" in lm_na["message"]
    rf_na = api["rf_na"]  # randomForest refuses missing values: R's own message comes through
    assert rf_na and rf_na["type"] == "InputError" and "missing values in newdata" in rf_na["message"]


def test_missing_r_package_is_named(api):
    e = api["brnn"]
    assert e["type"] == "ArtifactError" and "brnn" in e["message"] and "not installed" in e["message"]
    assert "brnn" in e["hint"]
    lib = api["library"]  # library(brnn) at the top of custom.R
    assert lib["type"] == "HookLoadError" and lib["cause"] == "RError"
    assert "there is no package called" in lib["message"] and "brnn" in lib["message"] and "brnn" in lib["hint"]
    assert lib["line"] == 1


def test_custom_r_syntax_error_names_the_line(api):
    e = api["syntax"]
    assert e["type"] == "HookLoadError" and e["cause"] == "RError" and e["line"] == 3
    assert "unexpected" in e["message"]


# --- custom.R -----------------------------------------------------------------------------------

def test_custom_r_every_hook(api, rdir):
    info = api["hooks_info"]
    assert info["language"] == "R"
    assert info["hooks"] == ["init", "load_model", "read_input_data", "transform", "score", "post_process"]
    pred = api["hooks_pred"]
    expected = _expected(rdir, "lm")["Predictions"].head(8).to_numpy()
    # row 2 had its wt replaced by "missing" (NA by read_input_data), then 3.2 by transform
    ok = [i for i in range(8) if i != 2]
    np.testing.assert_allclose(np.array(pred["Predictions"])[ok], expected[ok], atol=1e-6)
    assert pred["Predictions"][2] != pytest.approx(expected[2], abs=1e-6)
    assert all(pred["dir_ok"])  # init's code_dir reached load_model
    # predictions come back keeping factors, strings, NA and integer NA
    dt = api["hooks_dtypes"]
    assert dt["band"] == "category" and api["hooks_band_categories"] == ["low", "high"]
    assert dt["count"] == "Int64" and dt["flag"] == "bool" and dt["Predictions"] == "float64"
    assert dt["note"] in ("str", "string", "object")
    high = [i for i, p in enumerate(pred["Predictions"]) if p > 22.5]
    assert high and all(pred["note"][i] is None and pred["count"][i] is None for i in high)
    assert all(pred["note"][i] == "ok" for i in range(8) if i not in high)
    # a DataFrame goes through the same read_input_data path (nothing missing there)
    np.testing.assert_allclose(api["hooks_df"], expected, atol=1e-6)


def test_r_na_rules_apply_to_csv_input(api):
    p = api["na_pred"]
    # rows: "1.5,a" / "NA,b" / ",c" / "2.5,NA" / "3.5," / '4.5,""'
    assert p["num_is_na"] == [False, True, True, False, False, False]
    assert p["chr"] == ["a", "b", "c", None, "", ""]  # R keeps an empty character field as ""
    assert p["Predictions"] == [0, 1, 1, 1, 0, 0]
    assert set(p["chr_class"]) == {"character"}
    assert api["na_hooks"] == ["load_model", "score"]  # drumnb's read.csv reader is not listed as a hook
    assert api["na_df"] == [0, 1]  # NaN in a DataFrame reaches R as NA
    # the reader the R predictor offers the core for .rds folders (CSV bytes -> R's read.csv)
    assert api["read_bytes"] == {"num": [1.5, None, None, 2.5, 3.5, 4.5], "chr": ["a", "b", "c", None, "", ""]}


def test_r_error_surfaces_with_r_message_file_and_line(api):
    e = api["error"]
    assert e["type"] == "HookError" and e["cause"] == "RError" and e["status"] == 500
    assert "custom failure: 2 rows are too many" in e["message"]
    assert "custom.R" in e["message"] and e["line"] == 7
    assert any("about to fail" in w for w in api["error_warnings"])


def test_r_warnings_are_typed(api):
    assert api["warn_pred"] == [1.5, 1.5]
    assert ("RWarning", "R warning in 'score' (custom.R): scores are made up") in \
        [(k, m) for k, m in api["warn_warnings"]]
    strict = api["warn_strict"]
    assert strict["type"] == "HookError" and strict["cause"] == "RWarning" and "scores are made up" in strict["message"]


def test_score_unstructured_maps_r_types(api):
    assert api["unstructured_text"] == "HELLO|text/plain|utf-8|7|unstructured-model"
    data, kwargs = api["unstructured_binary"]
    assert data == [3, 2, 1] and kwargs == {"mimetype": "application/x-reversed"}


# --- the CLI ------------------------------------------------------------------------------------

def _csv(proc: subprocess.CompletedProcess) -> pd.DataFrame:
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    return pd.read_csv(io.BytesIO(proc.stdout))


def test_cli_scores_caret_models(cli_runs, rdir):
    np.testing.assert_allclose(_csv(cli_runs["lm"])["Predictions"], _expected(rdir, "lm")["Predictions"], rtol=1e-10)
    glm = _csv(cli_runs["glm"])
    assert list(glm.columns) == ["auto", "manual"]
    np.testing.assert_allclose(glm["manual"], _expected(rdir, "glm")["manual"], rtol=1e-9, atol=1e-12)
    rf = _csv(cli_runs["rf"])
    assert list(rf.columns) == ["setosa", "versicolor", "virginica"]
    np.testing.assert_allclose(rf[list(rf.columns)], _expected(rdir, "rf")[list(rf.columns)], atol=1e-12)


def test_cli_scores_custom_r(cli_runs, rdir):
    out = _csv(cli_runs["hooks"])
    assert list(out.columns[:2]) == ["Predictions", "band"]
    np.testing.assert_allclose(out["Predictions"], _expected(rdir, "lm")["Predictions"], atol=1e-6)
    assert cli_runs["hooks"].stdout.count(b"\n") == len(out) + 1  # R's console output stays off stdout


def test_cli_errors_are_one_message(cli_runs):
    brnn = cli_runs["brnn"]
    assert brnn.returncode == 1 and b"Traceback" not in brnn.stderr
    assert b"brnn" in brnn.stderr and b"hint:" in brnn.stderr
    error = cli_runs["error"]
    assert error.returncode == 1 and b"custom failure" in error.stderr and b"RError" in error.stderr


# --- R and the JVM ------------------------------------------------------------------------------

@pytest.mark.skipif(importlib.util.find_spec("jpype") is None, reason="needs JPype1")
def test_r_after_the_jvm_is_refused_not_a_crash(rdir):
    code = f"""
        import jpype
        jpype.startJVM(convertStrings=False)
        import drumnb
        from drumnb.core.errors import DrumnbError
        try:
            drumnb.load_model({str(rdir / "lm")!r}, "regression")
            emit({{"loaded": True}})
        except DrumnbError as e:
            emit({{"type": type(e).__name__, "message": e.message, "hint": e.hint, "status": e.status}})
    """
    result, proc = run_scenario(code)
    assert proc.returncode == 0, f"rc={proc.returncode} (139 is a segfault)\n{proc.stderr[-2000:]}"
    assert result["type"] == "RRuntimeUnavailable" and result["status"] == 513
    assert "Java virtual machine already runs" in result["message"] and "separate processes" in result["hint"]


def test_long_character_columns_keep_na_and_empty_strings(rdir, tmp_path):
    """Long character vectors cross in bulk (distinct values + codes): same values, NA and "" kept apart."""
    rows = ["num,chr"] + [f'{i},{["a", "NA", "", "é", f"id{i}"][i % 5]}' for i in range(2000)]
    (tmp_path / "long.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    code = f"""
        import drumnb
        p = drumnb.load_model({str(rdir / "na")!r}, "regression").predict({str(tmp_path / "long.csv")!r})
        emit([None if v is None or v != v else v for v in p["chr"].astype(object).tolist()])
    """
    result, proc = run_scenario(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert result == [[None if i % 5 == 1 else ["a", None, "", "é", f"id{i}"][i % 5]][0] for i in range(2000)]


def test_r_start_is_quiet_and_leaves_the_environment_as_it_was(rdir, tmp_path):
    """No rpy2 'redefined by R' warning; R's start-up variables do not reach processes started afterwards."""
    code = f"""
        import os, subprocess, sys, warnings
        warnings.simplefilter("always")
        before = dict(os.environ)
        import drumnb
        m = drumnb.load_model({str(rdir / "lm")!r}, "regression")
        n = len(m.predict({str(rdir / "cars.csv")!r}))
        child = subprocess.run(["env"], capture_output=True, text=True).stdout  # the C environment, inherited
        child_env = dict(line.split("=", 1) for line in child.splitlines() if "=" in line)
        added = sorted(k for k in os.environ if k not in before)
        changed = sorted(k for k in before if os.environ.get(k) != before[k])
        child_added = sorted(k for k in child_env if k not in before)
        emit({{"n": n, "added": added, "changed": changed, "child_added": child_added}})
    """
    # a PWD that is not the working folder (as in a Jupyter kernel): rpy2 warns when R redefines it
    result, proc = run_scenario(code, env={"PWD": str(tmp_path), "LD_LIBRARY_PATH": ""})
    assert proc.returncode == 0 and result, proc.stderr[-3000:]
    assert result["n"] == 32
    assert "redefined by R" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    r_location = {"R_HOME", "R_SHARE_DIR", "R_INCLUDE_DIR", "R_DOC_DIR"}  # kept: R reads them while it runs
    assert set(result["added"]) <= r_location, result["added"]
    assert result["changed"] == [], result["changed"]  # PWD and LD_LIBRARY_PATH as they were
    # a child started afterwards (C environment inherited) gets none of R's start-up variables; R code's own
    # Sys.setenv calls (caret's dependency lubridate sets TZDIR when it loads) are R's business, not drumnb's
    start_up = {"LD_LIBRARY_PATH", "R_SESSION_TMPDIR", "R_LIBS_USER", "R_LIBS_SITE", "PAGER", "EDITOR", "TAR",
                "R_PAPERSIZE", "PYTHON_SESSION_INITIALIZED", "R_PLATFORM"}
    assert not start_up & set(result["child_added"]), result["child_added"]


def test_r_runs_in_server_threads(api):
    assert api["threads"] == {"n": 4, "same": True}  # calls into R from several threads are serialised


# --- Julia: not installable here; a Julia folder must fail clearly ------------------------------

def _julia_folder(tmp_path: Path, kind: str) -> Path:
    folder = tmp_path / f"julia_{kind}"
    folder.mkdir()
    if kind == "jlso":
        (folder / "model.jlso").write_bytes(b"JLSO stand-in")
    else:
        (folder / "custom.jl").write_text("function score(data, model; kwargs...)\n    data\nend\n")
    return folder


@pytest.fixture
def no_julia(monkeypatch):
    from drumnb.predictors import julia

    monkeypatch.setattr(julia, "_state", {})
    if importlib.util.find_spec("juliacall") is not None:  # pretend it is absent, as on this machine
        monkeypatch.setitem(sys.modules, "juliacall", None)
    return julia


@pytest.mark.parametrize("kind", ["jlso", "custom.jl"])
def test_julia_folder_says_the_runtime_is_missing(tmp_path, no_julia, kind):
    import drumnb
    from drumnb.core.errors import ArtifactError

    with pytest.raises(no_julia.JuliaUnavailableError) as info:
        drumnb.load_model(_julia_folder(tmp_path, kind), "regression")
    err = info.value
    assert isinstance(err, ArtifactError) and err.status == 513
    assert err.message.startswith("Julia runtime not available") and "juliacall" in err.message
    assert "install Julia" in err.hint and "pip install juliacall" in err.hint


def test_julia_failing_to_start_is_the_same_typed_error(tmp_path, no_julia, monkeypatch):
    import types

    import drumnb

    monkeypatch.setitem(sys.modules, "juliacall", types.ModuleType("juliacall"))  # imports, but has no Main
    with pytest.raises(no_julia.JuliaUnavailableError, match="juliacall could not start Julia"):
        drumnb.load_model(_julia_folder(tmp_path, "jlso"), "regression")


def test_julia_cli_error(tmp_path):
    proc = run_cli("score", "-cd", str(_julia_folder(tmp_path, "jlso")), "--input", str(tmp_path / "x.csv"),
                   "--target-type", "regression")
    assert proc.returncode == 1 and b"Julia runtime not available" in proc.stderr and b"hint:" in proc.stderr
    assert b"Traceback" not in proc.stderr


def test_julia_hooks_adapter_with_a_stand_in_runtime(tmp_path, no_julia, monkeypatch):
    """The custom.jl wiring, checked against a fake juliacall.Main (no Julia here: unverified beyond this)."""
    import types

    calls = []

    class FakeModule:
        @staticmethod
        def score(data, model, **kwargs):
            calls.append(("score", data, model))
            return data

    class FakeMain:
        def seval(self, code):
            calls.append(("seval", code))
            if code.startswith("isdefined("):
                return code.endswith(":score)")
            if code.startswith("DrumnbCustom"):
                return FakeModule
            if code.startswith("df -> DataFrames.DataFrame"):
                return lambda df: ("julia-frame", df)
            if code.startswith("x -> x isa"):
                return lambda x: False
            return None

    fake = types.ModuleType("juliacall")
    fake.Main = FakeMain()
    monkeypatch.setitem(sys.modules, "juliacall", fake)
    folder = _julia_folder(tmp_path, "custom.jl")
    hooks = no_julia.load_julia_hooks(str(folder))
    assert hooks.language == "Julia" and hooks.names == ["score"]
    df = pd.DataFrame({"a": [1]})
    out = hooks.functions["score"](df, "m")
    assert out[0] == "julia-frame" and out[1] is df
    code = [c[1] for c in calls if c[0] == "seval"]
    assert any(c.startswith("module DrumnbCustom") and str(folder / "custom.jl") in c for c in code)
