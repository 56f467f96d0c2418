"""R models as DRUM 1.18.1 runs them: sparse ``.mtx`` input with its column names, and ``y`` for transforms.

A caret lm (``mpg ~ wt + hp + qsec``) is trained with ``Rscript``, which also writes R's own
predictions for the rows of ``cars.mtx`` (a Matrix Market file whose columns come in another order
than the model's, ``qsec, wt, hp``, named by ``cars.columns``).

* Sparse input reaches ``custom.R`` hooks as DRUM hands it (``readMM``'s ``dgTMatrix``), named by the
  sparse column names: through the API, ``drumnb score --sparse-column-file`` and the server's
  ``X.colnames``.  The built-in caret predictor scores it as a data.frame of those columns (DRUM's
  ``predict`` fails on a sparse matrix there: drumnb is kinder).
* ``transform(data, model, y)`` of a transform model gets the target values as its third argument
  (a data.frame read by ``read.csv``, NULL without them); ``transform(data, model, ...)`` gets them
  in its dots; a two-argument ``transform`` keeps working.

Every scenario that starts R runs in a child process.
"""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_r import HAVE_R, NO_R, _env, run_cli, run_scenario
from server_support import start_server

import drumnb

assert start_server  # a fixture, used by name below

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not HAVE_R, reason=NO_R)]

TRAIN = r"""
suppressPackageStartupMessages({library(caret); library(Matrix)})
out <- commandArgs(trailingOnly = TRUE)[1]
m <- train(mpg ~ wt + hp + qsec, data = mtcars, method = "lm")
for (d in c("sparse_rds", "sparse_hook")) {
  dir.create(file.path(out, d), showWarnings = FALSE)
  saveRDS(m, file.path(out, d, "model.rds"))
}
X <- mtcars[1:8, c("qsec", "wt", "hp")]
X$hp[c(2, 5)] <- 0
X$wt[3] <- 0
writeMM(as(as.matrix(X), "CsparseMatrix"), file.path(out, "cars.mtx"))
writeLines(colnames(X), file.path(out, "cars.columns"))
write.csv(data.frame(Predictions = unname(predict(m, newdata = X))), file.path(out, "expected.csv"),
          row.names = FALSE)
d <- mtcars
d$am <- factor(ifelse(d$am == 1, "manual", "auto"))
dir.create(file.path(out, "glm"), showWarnings = FALSE)
saveRDS(suppressWarnings(train(am ~ wt + hp, data = d, method = "glm",
                               trControl = trainControl(method = "none", classProbs = TRUE))),
        file.path(out, "glm", "model.rds"))
cat("trained\n")
"""

#: reports what the hook received next to the predictions (extra output columns)
SPARSE_HOOK_R = r"""
score <- function(data, model, ...) {
  df <- as.data.frame(as.matrix(data))
  names <- if (is.null(colnames(data))) "<none>" else paste(colnames(data), collapse = "|")
  data.frame(Predictions = if (is.null(colnames(data))) rep(0, nrow(data)) else unname(predict(model, newdata = df)),
             sparse = methods::is(data, "sparseMatrix"), class = class(data)[1], names = names)
}
"""

#: y as DRUM's R runner hands it: the third argument, a data.frame (or NULL)
TRANSFORM_Y_R = r"""
load_model <- function(code_dir) "scaler"

transform <- function(data, model, y) {
  out <- data.frame(wt2 = data$wt * 2)
  out$y_class <- if (is.null(y)) "NULL" else class(y)[1]
  out$y_names <- if (is.null(y)) "" else paste(names(y), collapse = "|")
  out$y_value <- if (is.null(y)) NA_real_ else y[[1]]
  out
}
"""

TRANSFORM_DOTS_R = r"""
load_model <- function(code_dir) "scaler"

transform <- function(data, model, ...) {
  extra <- list(...)
  out <- data.frame(wt2 = data$wt * 2)
  out$n_extra <- length(extra)
  out$y_value <- if (length(extra) && !is.null(extra[[1]])) extra[[1]][[1]] else NA_real_
  out
}
"""

TRANSFORM_TWO_R = r"""
load_model <- function(code_dir) "scaler"

transform <- function(data, model) data.frame(wt2 = data$wt * 2)
"""

#: a transform whose output is a sparse Matrix with column names
TRANSFORM_SPARSE_R = r"""
load_model <- function(code_dir) "sparse"

transform <- function(data, model) {
  m <- Matrix::Matrix(as.matrix(data.frame(wt = data$wt, zero = 0, hp = data$hp)), sparse = TRUE)
  m
}
"""

FOLDERS = {"sparse_hook": SPARSE_HOOK_R, "transform_y": TRANSFORM_Y_R, "transform_dots": TRANSFORM_DOTS_R,
           "transform_two": TRANSFORM_TWO_R, "transform_sparse": TRANSFORM_SPARSE_R}


@pytest.fixture(scope="session")
def rc(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("r_compat")
    (out / "train.R").write_text(TRAIN)
    proc = subprocess.run(["Rscript", str(out / "train.R"), str(out)], capture_output=True, text=True, env=_env(),
                          timeout=300)
    assert proc.returncode == 0 and "trained" in proc.stdout, proc.stderr[-3000:]
    for name, text in FOLDERS.items():
        (out / name).mkdir(exist_ok=True)
        (out / name / "custom.R").write_text(text)
    cars = pd.DataFrame({"wt": [2.5, 3.0, 1.5], "hp": [100, 0, 150]})
    cars.to_csv(out / "cars.csv", index=False)
    (out / "y.csv").write_text("mpg\n21.5\n18\nNA\n")
    return out


def expected(rc: Path) -> np.ndarray:
    return pd.read_csv(rc / "expected.csv")["Predictions"].to_numpy()


@pytest.fixture(scope="session")
def api(rc) -> dict:
    """The API scenarios in one child process (R starts once there)."""
    code = f"""
        import pandas as pd
        import drumnb
        from drumnb.core.errors import DrumnbError
        from drumnb.predictors import r as rmod
        D = {str(rc)!r}
        NAMES = open(D + "/cars.columns").read().split()
        out = {{}}

        def err(fn):
            try:
                fn()
            except DrumnbError as e:
                return {{"type": type(e).__name__, "message": e.message, "status": e.status}}
            return None

        hook = drumnb.load_model(D + "/sparse_hook", "regression")
        out["hook"] = hook.predict(D + "/cars.mtx", sparse_column_names=NAMES).to_dict(orient="list")
        out["hook_bytes"] = hook.predict(open(D + "/cars.mtx", "rb").read(), format="mtx",
                                         sparse_column_names=NAMES).to_dict(orient="list")
        out["hook_unnamed"] = hook.predict(D + "/cars.mtx").to_dict(orient="list")
        rds = drumnb.load_model(D + "/sparse_rds", "regression")
        out["rds"] = rds.predict(D + "/cars.mtx", sparse_column_names=NAMES)["Predictions"].tolist()
        out["rds_unnamed"] = err(lambda: rds.predict(D + "/cars.mtx"))

        # the transform hooks, called as the core calls them for a transform model with y
        cars = pd.read_csv(D + "/cars.csv")
        y = pd.read_csv(D + "/y.csv")
        for name in ("transform_y", "transform_dots", "transform_two"):
            hooks = rmod.load_r_hooks(D + "/" + name)
            model = hooks.functions["load_model"](D + "/" + name)
            t = hooks.functions["transform"]
            out[name] = t(cars, model, y).to_dict(orient="list")
            out[name + "_null"] = t(cars, model, None).to_dict(orient="list")
            out[name + "_bytes"] = t(cars, model, open(D + "/y.csv", "rb").read()).to_dict(orient="list")
            if name != "transform_y":  # function(data, model, y) called without y: R's own error, as in DRUM
                out[name + "_two"] = t(cars, model).to_dict(orient="list")
        out["wrong_labels"] = err(lambda: drumnb.load_model(D + "/glm", "binary", positive_class_label="manual",
                                                            negative_class_label="automatic"))
        glm = drumnb.load_model(D + "/glm", "binary", positive_class_label="manual", negative_class_label="auto")
        out["glm_columns"] = list(glm.predict(D + "/cars.csv").columns)
        sp = drumnb.load_model(D + "/transform_sparse", "transform")
        res = sp.predict(D + "/cars.csv")
        out["sparse_out"] = {{"columns": [str(c) for c in res.columns],
                              "dtypes": sorted({{str(d) for d in res.dtypes}}),
                              "values": res.sparse.to_dense().to_numpy().tolist()}}
        emit(out)
    """
    result, proc = run_scenario(code)
    assert proc.returncode == 0 and result, f"rc={proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return result


# --- sparse input ---------------------------------------------------------------------------------

def test_mtx_reaches_custom_r_as_a_sparse_matrix_with_its_column_names(api, rc):
    for key in ("hook", "hook_bytes"):
        out = api[key]
        assert set(out["class"]) == {"dgTMatrix"} and all(out["sparse"])  # what DRUM's readMM gives
        assert set(out["names"]) == {"qsec|wt|hp"}  # the sparse column names, in the file's order
        np.testing.assert_allclose(out["Predictions"], expected(rc), rtol=1e-12)


def test_mtx_without_column_names_has_none(api):
    assert set(api["hook_unnamed"]["names"]) == {"<none>"}  # as DRUM: readMM's matrix, no colnames
    e = api["rds_unnamed"]
    assert e["type"] == "InputError" and e["status"] == 422 and "wt" in e["message"]


def test_mtx_scores_a_caret_model_by_column_name(api, rc):
    # the built-in predictor: columns matched by name (the file has them in another order)
    np.testing.assert_allclose(api["rds"], expected(rc), rtol=1e-12)


def test_cli_sparse_column_file_reaches_r(rc):
    for folder in ("sparse_hook", "sparse_rds"):
        proc = run_cli("score", "-cd", str(rc / folder), "--input", str(rc / "cars.mtx"), "--sparse-column-file",
                       str(rc / "cars.columns"), "--target-type", "regression")
        assert proc.returncode == 0, proc.stderr.decode()[-3000:]
        out = pd.read_csv(io.BytesIO(proc.stdout))
        np.testing.assert_allclose(out["Predictions"], expected(rc), rtol=1e-12)
        if folder == "sparse_hook":
            assert set(out["names"]) == {"qsec|wt|hp"} and set(out["class"]) == {"dgTMatrix"}


def test_server_x_colnames_reach_r(start_server, rc):
    server = start_server(["-cd", str(rc / "sparse_hook"), "--target-type", "regression"], env=_env(), wait=False)
    server.wait_ready(180)
    files = {"X": ("cars.mtx", (rc / "cars.mtx").read_bytes(), "text/mtx"),
             "X.colnames": ("cars.columns", (rc / "cars.columns").read_bytes())}
    r = server.post("/predict/", files=files, timeout=120)
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    np.testing.assert_allclose(preds, expected(rc), rtol=1e-12)
    r = server.post("/predict/", files=files, headers={"Accept": "text/csv"}, timeout=120)
    out = pd.read_csv(io.BytesIO(r.content))
    assert set(out["names"]) == {"qsec|wt|hp"} and set(out["class"]) == {"dgTMatrix"}


def test_sparse_matrix_from_r_comes_back_sparse_with_its_names(api):
    out = api["sparse_out"]
    assert out["columns"] == ["wt", "zero", "hp"]
    assert all(d.startswith("Sparse[float64") for d in out["dtypes"])
    assert out["values"] == [[2.5, 0.0, 100.0], [3.0, 0.0, 0.0], [1.5, 0.0, 150.0]]


# --- y for transform models -----------------------------------------------------------------------

def test_r_transform_gets_y_as_its_third_argument(api):
    out = api["transform_y"]
    assert out["wt2"] == [5.0, 6.0, 3.0]
    assert set(out["y_class"]) == {"data.frame"} and set(out["y_names"]) == {"mpg"}
    assert out["y_value"][:2] == [21.5, 18.0] and np.isnan(out["y_value"][2])  # R's NA
    # CSV bytes of y are read by R's read.csv, as DRUM does: the same data.frame
    pd.testing.assert_frame_equal(pd.DataFrame(api["transform_y_bytes"]), pd.DataFrame(out))
    null = api["transform_y_null"]
    assert set(null["y_class"]) == {"NULL"} and set(null["y_names"]) == {""}


def test_r_transform_with_dots_or_two_arguments(api):
    dots = api["transform_dots"]
    assert set(dots["n_extra"]) == {1} and dots["y_value"][:2] == [21.5, 18.0]
    assert set(api["transform_dots_two"]["n_extra"]) == {0}  # called as in predict mode: no third argument
    for key in ("transform_two", "transform_two_null", "transform_two_bytes", "transform_two_two"):
        assert api[key] == {"wt2": [5.0, 6.0, 3.0]}  # y is not forced on a transform that does not take it


def test_transform_model_gets_y_through_the_api_and_the_server(start_server, rc):
    code = f"""
        import pandas as pd
        import drumnb
        D = {str(rc)!r}
        m = drumnb.load_model(D + "/transform_y", "transform")
        out = {{"with": m.predict(D + "/cars.csv", y=D + "/y.csv").to_dict(orient="list"),
               "without": m.predict(D + "/cars.csv").to_dict(orient="list")}}
        emit(out)
    """
    result, proc = run_scenario(code)
    assert proc.returncode == 0 and result, proc.stderr[-3000:]
    assert set(result["with"]["y_names"]) == {"mpg"} and result["with"]["y_value"][:2] == [21.5, 18.0]
    assert set(result["without"]["y_class"]) == {"NULL"}
    server = start_server(["-cd", str(rc / "transform_y"), "--target-type", "transform"], env=_env(), wait=False)
    server.wait_ready(180)
    r = server.post("/transform/", files={"X": ("cars.csv", (rc / "cars.csv").read_bytes()),
                                          "y": ("y.csv", (rc / "y.csv").read_bytes())}, timeout=120)
    assert r.status_code == 200, r.text
    body = r.json()
    x = pd.read_csv(io.StringIO(body["X.transformed"]))
    assert set(x["y_class"]) == {"data.frame"} and x["y_value"].tolist()[:2] == [21.5, 18.0]
    assert pd.read_csv(io.StringIO(body["y.transformed"]))["mpg"].tolist()[:2] == [21.5, 18.0]


# --- labels that are not the model's classes ----------------------------------------------------------

def test_labels_that_are_not_the_caret_levels_fail_at_load(api):
    """Group 3 of the compatibility issue for caret: a silent mislabel is an error naming both sets."""
    e = api["wrong_labels"]
    assert e["type"] == "ConfigurationError", e
    assert "['auto', 'manual']" in e["message"] and "automatic" in e["message"]
    assert api["glm_columns"] == ["auto", "manual"]  # the model's own order
