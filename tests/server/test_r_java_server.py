"""`drumnb server` with R and Java models: real server processes on 127.0.0.1.

* caret ``.rds`` models (lm regression, glm binary, rf multiclass) trained in
  the test with ``Rscript``, and ``custom.R`` hooks: ``/predict/`` answers the
  same numbers as ``drumnb score`` and as R's own ``predict`` on the same rows;
  an R error comes back as JSON with R's message, the hook, file and line, and
  the server keeps serving; concurrent requests to one R process are served
  one at a time by R and all answer right.
* H2O GBMs (regression, binary; a categorical column, missing values and an
  unseen level in the rows) exported as MOJO and POJO, served: the same
  numbers as ``drumnb score`` and as H2O's own predictions.
* A Julia folder and a caret model whose R package is missing: with
  ``--with-error-server`` every route answers 513 with the load error; without
  it the server exits with one clear message.

R and the JVM only ever run in child processes (the servers, the CLI, the
training scripts), so that a crash cannot take the test run down.  Every
server is stopped by PID when the module ends (``start_server``).
"""
from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from server_support import start_server

assert start_server  # a fixture, used by name below

HAVE_R = shutil.which("Rscript") is not None and importlib.util.find_spec("rpy2") is not None
HAVE_JAVA = (shutil.which("java") is not None and shutil.which("javac") is not None
             and importlib.util.find_spec("jpype") is not None)
HAVE_H2O = HAVE_JAVA and importlib.util.find_spec("h2o") is not None
needs_r = pytest.mark.skipif(not HAVE_R, reason="needs R (Rscript) with caret and rpy2: "
                                                "apt-get install r-base-core r-cran-caret; pip install 'drumnb[r]'")
needs_h2o = pytest.mark.skipif(not HAVE_H2O, reason="needs a JDK (java, javac), JPype1 and h2o==3.46.0.11: "
                                                    "pip install 'drumnb[java]'")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
LOAD_TIMEOUT = 180  # R + caret, or a JVM, start in a few seconds; two shared cores can make it much slower

# the training scripts and hooks of the API tests, so that the three front ends are checked on the same models
from h2o_support import start_training, stop_training, wait_trained  # noqa: E402
from test_r import ERROR_R, HOOKS_R, TRAIN_R  # noqa: E402


def _env(cache: Path | None = None, **extra: str) -> dict:
    env = {**os.environ, "TZ": "UTC", "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if cache is not None:
        env["DRUMNB_CACHE_DIR"] = str(cache)
    env.update(extra)
    return env


def run_cli(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drumnb", *args], capture_output=True, env=env or _env(),
                          timeout=timeout, cwd=str(ROOT), stdin=subprocess.DEVNULL)


def _csv(proc: subprocess.CompletedProcess) -> pd.DataFrame:
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    return pd.read_csv(io.BytesIO(proc.stdout))


def _post_csv(server, path: Path, accept: str | None = None):
    headers = {"Content-Type": "text/csv"}
    if accept:
        headers["Accept"] = accept
    return server.post("/predict/", data=path.read_bytes(), headers=headers, timeout=120)


# --- models: trained once for this module ----------------------------------------------------------

@pytest.fixture(scope="module")
def jcache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("drumnb_cache")


@pytest.fixture(scope="module")
def h2o_training(request, tmp_path_factory):
    """Train the H2O models in the background (~30 s) while the R tests run; stopped at the end at the latest."""
    wanted = any("h2o_models" in item.fixturenames for item in request.session.items)
    if not (HAVE_H2O and wanted):
        yield None
        return
    out = tmp_path_factory.mktemp("h2o_server_models")
    proc, log = start_training(out, _env())
    yield out, proc, log
    stop_training(proc, log, timeout=300)


@pytest.fixture(scope="module")
def h2o_models(h2o_training) -> Path:
    if h2o_training is None:
        pytest.skip("needs h2o and a JDK")
    out, proc, log = h2o_training
    wait_trained(proc, log, timeout=400)
    return out


@pytest.fixture(scope="module")
def rdir(tmp_path_factory, h2o_training) -> Path:
    """caret lm / glm / rf (and one whose package, brnn, is missing), custom.R hooks, R's own predictions."""
    if not HAVE_R:
        pytest.skip("needs R and rpy2")
    out = tmp_path_factory.mktemp("r_server_models")
    (out / "train.R").write_text(TRAIN_R)
    proc = subprocess.run(["Rscript", str(out / "train.R"), str(out)], capture_output=True, text=True,
                          env=_env(), timeout=300)
    assert proc.returncode == 0 and "trained" in proc.stdout, proc.stderr[-3000:]
    (out / "hooks").mkdir()
    shutil.copy(out / "lm" / "model.rds", out / "hooks" / "lm.rds")
    (out / "hooks" / "custom.R").write_text(HOOKS_R)
    (out / "error").mkdir()
    (out / "error" / "custom.R").write_text(ERROR_R)
    return out


R_SERVERS = {
    "lm": ["--target-type", "regression"],
    "glm": ["--target-type", "binary", "--positive-class-label", "manual", "--negative-class-label", "auto"],
    "rf": ["--target-type", "multiclass", "--class-labels", "virginica", "setosa", "versicolor"],
    "hooks": ["--target-type", "regression"],
    "error": ["--target-type", "regression"],
}
R_INPUT = {"lm": "cars.csv", "glm": "cars.csv", "rf": "flowers.csv", "hooks": "cars.csv", "error": "cars.csv"}


@pytest.fixture(scope="module")
def r_servers(start_server, rdir) -> dict:
    """One server process per R model folder, started together (each starts its own R)."""
    servers = {name: start_server(["-cd", str(rdir / name), *args], wait=False, env=_env())
               for name, args in R_SERVERS.items()}
    for server in servers.values():
        server.wait_ready(LOAD_TIMEOUT)
    return servers


@pytest.fixture(scope="module")
def r_cli(rdir) -> dict:
    """`drumnb score` on the same folders and files, two at a time."""
    jobs = {name: ["score", "-cd", str(rdir / name), "--input", str(rdir / R_INPUT[name]), *R_SERVERS[name]]
            for name in ("lm", "glm", "rf", "hooks")}
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(jobs, pool.map(lambda a: run_cli(*a), jobs.values())))


# --- R: caret .rds -------------------------------------------------------------------------------------

@needs_r
def test_caret_regression_served_equals_cli_and_rscript(r_servers, r_cli, rdir):
    server = r_servers["lm"]
    r = _post_csv(server, rdir / "cars.csv")
    assert r.status_code == 200, r.text
    served = r.json()["predictions"]
    expected = pd.read_csv(rdir / "lm_expected.csv")["Predictions"]
    np.testing.assert_allclose(served, expected, rtol=1e-10)
    np.testing.assert_allclose(served, _csv(r_cli["lm"])["Predictions"], rtol=1e-15)
    # asked for CSV, the server writes the very bytes `drumnb score` printed
    r = _post_csv(server, rdir / "cars.csv", accept="text/csv")
    assert r.status_code == 200 and r.content == r_cli["lm"].stdout
    info = server.get("/info/").json()
    assert info["language"] == "r" and info["targetType"] == "regression"  # /info/ spells it as DRUM: lower case


@needs_r
@pytest.mark.parametrize("name,labels", [("glm", ["auto", "manual"]), ("rf", ["setosa", "versicolor", "virginica"])])
def test_caret_classifiers_served_in_the_model_order(r_servers, r_cli, rdir, name, labels):
    """rf's labels are given as virginica, setosa, versicolor: the columns follow R's output, as in DRUM."""
    r = _post_csv(r_servers[name], rdir / R_INPUT[name])
    assert r.status_code == 200, r.text
    rows = r.json()["predictions"]
    assert all(set(row) == set(labels) for row in rows)
    served = pd.DataFrame(rows)[labels]
    expected = pd.read_csv(rdir / f"{name}_expected.csv")[labels]
    np.testing.assert_allclose(served, expected, rtol=1e-9, atol=1e-12)
    cli = _csv(r_cli[name])
    assert list(cli.columns) == labels
    np.testing.assert_allclose(served, cli, rtol=1e-15, atol=0)
    r = _post_csv(r_servers[name], rdir / R_INPUT[name], accept="text/csv")
    assert r.content == r_cli[name].stdout


@needs_r
def test_r_input_errors_are_json_with_rs_message(r_servers, rdir):
    # randomForest refuses missing values: R's own message, as a 422
    flowers = pd.read_csv(rdir / "flowers.csv").head(3)
    flowers.loc[1, "Sepal.Width"] = np.nan
    r = r_servers["rf"].post("/predict/", data=flowers.to_csv(index=False).encode(),
                             headers={"Content-Type": "text/csv"})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "InputError" and body["message"].startswith("ERROR: the R model rejected the input")
    assert "missing values in newdata" in body["message"]
    # a column the caret model was trained on is missing: named before R is called
    cars = pd.read_csv(rdir / "cars.csv").drop(columns=["wt"])
    r = r_servers["lm"].post("/predict/", data=cars.to_csv(index=False).encode(),
                             headers={"Content-Type": "text/csv"})
    assert r.status_code == 422 and "['wt']" in r.json()["message"], r.text
    for name in ("rf", "lm"):
        assert r_servers[name].get("/health/").status_code == 200


@needs_r
def test_concurrent_requests_to_one_r_process(r_servers, rdir):
    """Flask serves requests on threads; R is single-threaded: drumnb serialises the calls, none is lost."""
    expected = pd.read_csv(rdir / "lm_expected.csv")["Predictions"].to_numpy()
    cars = pd.read_csv(rdir / "cars.csv")
    bodies = [cars.iloc[i:i + 8].to_csv(index=False).encode() for i in range(0, 32, 8)] * 3

    def post(body):
        return r_servers["lm"].post("/predict/", data=body, headers={"Content-Type": "text/csv"})

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(post, bodies))
    assert [a.status_code for a in answers] == [200] * len(bodies)
    for i, a in enumerate(answers):
        start = (i % 4) * 8
        np.testing.assert_allclose(a.json()["predictions"], expected[start:start + 8], rtol=1e-10)


# --- R: custom.R -----------------------------------------------------------------------------------------

@needs_r
def test_custom_r_served_equals_cli(r_servers, r_cli, rdir):
    r = _post_csv(r_servers["hooks"], rdir / "cars.csv")
    assert r.status_code == 200, r.text
    body = r.json()
    cli = _csv(r_cli["hooks"])
    np.testing.assert_allclose(body["predictions"], cli["Predictions"], rtol=1e-15)
    expected = pd.read_csv(rdir / "lm_expected.csv")["Predictions"]
    np.testing.assert_allclose(body["predictions"], expected, atol=1e-6)  # post_process rounds to 6 places
    # the other columns of score's data.frame: factor, string with NA, integer with NA, logical
    extra = body["extraModelOutput"]
    assert extra["columns"] == ["band", "note", "count", "flag", "dir_ok"]
    rows = [dict(zip(extra["columns"], row)) for row in extra["data"]]
    for row, p in zip(rows, body["predictions"]):
        assert row["band"] == ("high" if p > 20 else "low") and row["flag"] is (p > 20) and row["dir_ok"] is True
        if p > 22.5:
            assert row["note"] is None and row["count"] is None  # R's NA arrives as JSON null
        else:
            assert row["note"] == "ok" and row["count"] == 1
    assert r_servers["hooks"].get("/info/").json()["language"] == "r"


@needs_r
def test_r_error_is_json_with_rs_message_and_the_server_keeps_serving(r_servers, rdir):
    server = r_servers["error"]
    r = _post_csv(server, rdir / "cars.csv")
    assert r.status_code == 500, r.text
    body = r.json()
    assert body["error"] == "HookError" and body["hook"] == "score"
    assert "custom failure: 32 rows are too many" in body["message"]  # stop("custom failure: ", nrow(data), ...)
    assert body["file"].endswith("custom.R") and body["line"] == 7
    assert server.get("/health/").status_code == 200
    # R is still alive: the next request gets R's next answer (the row count differs)
    r = server.post("/predict/", data=b"mpg,cyl\n1,2\n3,4\n", headers={"Content-Type": "text/csv"})
    assert r.status_code == 500 and "custom failure: 2 rows are too many" in r.json()["message"], r.text
    assert "about to fail" in server.output()  # the R warning before the error is logged


@needs_r
def test_missing_r_package_with_error_server_answers_513(start_server, rdir):
    server = start_server(["-cd", str(rdir / "brnn"), "--target-type", "regression", "--with-error-server"],
                          statuses=(513,), env=_env(), timeout=LOAD_TIMEOUT)
    for method, path in [("get", "/health/"), ("post", "/predict/")]:
        r = server.get(path) if method == "get" else _post_csv(server, rdir / "cars.csv")
        assert r.status_code == 513, (path, r.text)
        body = r.json()
        assert "brnn" in body["message"] and "not installed" in body["message"]
        assert "brnn" in body["hint"]


# --- Java: H2O MOJO / POJO ---------------------------------------------------------------------------------

JAVA_SERVERS = {
    "mojo_reg": ["--target-type", "regression"],
    "mojo_bin": ["--target-type", "binary", "--positive-class-label", "yes", "--negative-class-label", "no"],
    "pojo_bin": ["--target-type", "binary", "--positive-class-label", "yes", "--negative-class-label", "no"],
}


@pytest.fixture(scope="module")
def java_servers(start_server, h2o_models, jcache) -> dict:
    servers = {name: start_server(["-cd", str(h2o_models / name), *args], wait=False, env=_env(jcache))
               for name, args in JAVA_SERVERS.items()}
    for server in servers.values():
        server.wait_ready(LOAD_TIMEOUT)
    return servers


@pytest.fixture(scope="module")
def java_cli(h2o_models, jcache) -> dict:
    jobs = {name: ["score", "-cd", str(h2o_models / name), "--input", str(h2o_models / "test.csv"), *args]
            for name, args in JAVA_SERVERS.items()}
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(jobs, pool.map(lambda a: run_cli(*a, env=_env(jcache)), jobs.values())))


@needs_h2o
def test_mojo_regression_served_equals_cli_and_h2o(java_servers, java_cli, h2o_models):
    server = java_servers["mojo_reg"]
    r = _post_csv(server, h2o_models / "test.csv")
    assert r.status_code == 200, r.text
    served = r.json()["predictions"]
    h2o_own = pd.read_csv(h2o_models / "reg_h2o.csv")["predict"]
    assert len(served) == len(h2o_own) == 40  # rows with NA, an unseen level, an all-missing row
    np.testing.assert_allclose(served, h2o_own, atol=1e-6)
    np.testing.assert_allclose(served, _csv(java_cli["mojo_reg"])["Predictions"], rtol=1e-15)
    assert _post_csv(server, h2o_models / "test.csv", accept="text/csv").content == java_cli["mojo_reg"].stdout
    info = server.get("/info/").json()
    assert info["language"] == "java" and info["predictor"] == "java"


@needs_h2o
@pytest.mark.parametrize("name", ["mojo_bin", "pojo_bin"])
def test_h2o_binary_served_equals_cli_and_h2o(java_servers, java_cli, h2o_models, name):
    r = _post_csv(java_servers[name], h2o_models / "test.csv")
    assert r.status_code == 200, r.text
    served = pd.DataFrame(r.json()["predictions"])[["no", "yes"]]
    np.testing.assert_allclose(served, pd.read_csv(h2o_models / "bin_h2o.csv")[["no", "yes"]], atol=1e-6)
    np.testing.assert_allclose(served, _csv(java_cli[name])[["no", "yes"]], rtol=1e-15, atol=0)


@needs_h2o
def test_h2o_json_and_arrow_payloads_score_the_same(java_servers, h2o_models):
    """The same rows as a DataFrame sent as Arrow: categoricals and missing values kept."""
    import pyarrow as pa

    df = pd.read_csv(h2o_models / "test.csv")
    sink = io.BytesIO()
    table = pa.Table.from_pandas(df, preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    server = java_servers["mojo_reg"]
    r = server.post("/predict/", data=sink.getvalue(), headers={"Content-Type": "application/vnd.apache.arrow.stream"})
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["predictions"], pd.read_csv(h2o_models / "reg_h2o.csv")["predict"],
                               atol=1e-6)


@needs_h2o
def test_mojo_missing_column_is_scored_as_na_like_h2o(java_servers, h2o_models):
    """A column absent from the request is missing in every row, as H2O scores it (DRUM does the same)."""
    server = java_servers["mojo_reg"]
    r = _post_csv(server, h2o_models / "test_no_x2.csv")
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["predictions"], pd.read_csv(h2o_models / "reg_no_x2_h2o.csv")["predict"],
                               atol=1e-6)
    r = server.post("/predict/", data=b"a,b\n1,2\n", headers={"Content-Type": "text/csv"})
    assert r.status_code == 422 and r.json()["error"] == "InputError", r.text  # none of the model's columns
    assert "none of the columns" in r.json()["message"]


# --- gunicorn: each worker starts its own R / JVM after the fork ---------------------------------------

@needs_r
@needs_h2o
def test_gunicorn_workers_each_run_their_own_r_and_jvm(start_server, rdir, h2o_models, jcache):
    lm = start_server(["-cd", str(rdir / "lm"), "--target-type", "regression", "--max-workers", "2"], wait=False,
                      env=_env())
    mojo = start_server(["-cd", str(h2o_models / "mojo_reg"), "--target-type", "regression", "--max-workers", "2"],
                        wait=False, env=_env(jcache))
    for server in (lm, mojo):
        server.wait_ready(LOAD_TIMEOUT)
    expected_r = pd.read_csv(rdir / "lm_expected.csv")["Predictions"]
    expected_h2o = pd.read_csv(h2o_models / "reg_h2o.csv")["predict"]
    jobs = [(lm, rdir / "cars.csv", expected_r, 1e-10, 0), (mojo, h2o_models / "test.csv", expected_h2o, 0, 1e-6)]

    def post(job):
        server, path, expected, rtol, atol = job
        r = _post_csv(server, path)
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(r.json()["predictions"], expected, rtol=rtol, atol=atol)
        return True

    with ThreadPoolExecutor(max_workers=4) as pool:  # new connection per request: both workers answer
        assert all(pool.map(post, jobs * 8))
    for server in (lm, mojo):
        workers = [p for p in server.get("/stats/").json()["drum_info"] if p["pid"] != server.pid]
        assert len(workers) == 2, workers


# --- Julia: no runtime here -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def julia_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("julia_model")
    (folder / "custom.jl").write_text("function score(data, model; kwargs...)\n    data\nend\n")
    return folder


@pytest.mark.skipif(importlib.util.find_spec("juliacall") is not None,
                    reason="juliacall is installed: a Julia folder may load here")
def test_julia_folder_with_error_server_answers_513(start_server, julia_folder):
    server = start_server(["-cd", str(julia_folder), "--target-type", "regression", "--with-error-server"],
                          statuses=(513,), env=_env())
    for method, path in [("get", "/health/"), ("get", "/info/"), ("post", "/predict/")]:
        r = server.get(path) if method == "get" else server.post(path, data=b"a\n1\n",
                                                                  headers={"Content-Type": "text/csv"})
        assert r.status_code == 513, (path, r.text)
        body = r.json()
        assert body["message"].startswith("ERROR: Julia runtime not available"), body
        assert "juliacall" in body["message"]
        assert "install Julia" in body["hint"] and "pip install juliacall" in body["hint"]


@pytest.mark.skipif(importlib.util.find_spec("juliacall") is not None,
                    reason="juliacall is installed: a Julia folder may load here")
def test_julia_folder_without_error_server_exits_with_one_message(start_server, julia_folder):
    server = start_server(["-cd", str(julia_folder), "--target-type", "regression"], wait=False, env=_env())
    assert server.proc.wait(60) == 1
    out = server.output()
    assert "Julia runtime not available" in out and "hint:" in out and "Traceback" not in out

