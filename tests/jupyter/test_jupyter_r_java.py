"""The magics with R and Java models, in a real kernel (jupyter_client): R and the JVM never load into pytest.

* ``%drum_score`` / ``%%drum_score`` score a caret ``.rds``, a ``custom.R``
  folder and H2O MOJOs in the kernel; the numbers equal R's own ``predict``
  (``Rscript``) and H2O's own predictions.
* ``%drum_serve`` serves the same folders from child processes; their answers
  are the same, an R error comes back with R's message, and the children do
  not inherit what starting R put in the kernel's environment.
* R then the JVM in one kernel works; a new R model after the JVM is refused
  with a clear message (loading R packages after the JVM crashes a process),
  the kernel lives on, and ``%drum_serve`` still serves the R model.

Each kernel is stopped (and its servers with it) when its fixture ends.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

HAVE_R = shutil.which("Rscript") is not None and importlib.util.find_spec("rpy2") is not None
HAVE_H2O = (shutil.which("javac") is not None and importlib.util.find_spec("jpype") is not None
            and importlib.util.find_spec("h2o") is not None)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600),
              pytest.mark.skipif(not (HAVE_R and HAVE_H2O),
                                 reason="needs R with caret and rpy2, a JDK, JPype1 and h2o==3.46.0.11 "
                                        "(pip install 'drumnb[r,java]')")]

from h2o_support import start_training, wait_trained  # noqa: E402
from jupyter_support import execute  # noqa: E402

TRAIN_R = r"""
suppressPackageStartupMessages(library(caret))
out <- commandArgs(trailingOnly = TRUE)[1]
set.seed(1)
for (d in c("r_lm", "r_lm_again", "r_hooks", "r_error")) dir.create(file.path(out, d), showWarnings = FALSE)
fit <- train(mpg ~ wt + hp + qsec, data = mtcars, method = "lm")
saveRDS(fit, file.path(out, "r_lm", "model.rds"))
saveRDS(fit, file.path(out, "r_lm_again", "model.rds"))
saveRDS(fit, file.path(out, "r_hooks", "mtcars_lm.rds"))
write.csv(mtcars[, c("wt", "hp", "qsec")], file.path(out, "cars.csv"), row.names = FALSE)
write.csv(data.frame(Predictions = unname(predict(fit, newdata = read.csv(file.path(out, "cars.csv"))))),
          file.path(out, "r_expected.csv"), row.names = FALSE)
cat("trained\n")
"""

HOOKS_R = r"""
load_model <- function(code_dir) readRDS(file.path(code_dir, "mtcars_lm.rds"))

score <- function(data, model, ...) {
  p <- predict(model, newdata = data)
  data.frame(Predictions = unname(p), efficient = p > 25)
}
"""

ERROR_R = r"""
load_model <- function(code_dir) "m"

score <- function(data, model, ...) {
  stop("no scores today for ", nrow(data), " rows")
}
"""

BIN = "-t binary --positive-class-label yes --negative-class-label no"


# --- models --------------------------------------------------------------------------------------------

def _env() -> dict:
    return {**os.environ, "TZ": "UTC"}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("nb_r_java_models")
    h2o, log = start_training(out, _env(), log_name="h2o.log")
    with log:
        try:
            (out / "train.R").write_text(TRAIN_R)
            proc = subprocess.run(["Rscript", str(out / "train.R"), str(out)], capture_output=True, text=True,
                                  env=_env(), timeout=300)
            assert proc.returncode == 0 and "trained" in proc.stdout, proc.stderr[-3000:]
            wait_trained(h2o, log, timeout=400)
        finally:
            if h2o.poll() is None:
                h2o.kill()
                h2o.wait(10)
    (out / "r_hooks" / "custom.R").write_text(HOOKS_R)
    (out / "r_error" / "custom.R").write_text(ERROR_R)
    return out


# --- a kernel --------------------------------------------------------------------------------------------

class Kernel:
    def __init__(self, km, kc):
        self.km, self.kc = km, kc

    def run(self, code: str, timeout: float = 240) -> tuple[str, str]:
        """Execute a cell; (status, everything it showed: streams, text/plain results, the error)."""
        return execute(self.kc, textwrap.dedent(code).strip("\n"), timeout=timeout)

    def value(self, expr: str) -> object:
        """A JSON-able expression evaluated in the kernel."""
        status, out = self.run(f"import json as _j\nprint('@@' + _j.dumps({expr}))")
        assert status == "ok", out
        line = [x for x in out.splitlines() if x.startswith("@@")][-1]
        return json.loads(line[2:])

    def alive(self) -> bool:
        return self.km.is_alive() and self.run("print(6 * 7)")[1].strip().endswith("42")


@pytest.fixture(scope="module")
def start_kernel(tmp_path_factory):
    from jupyter_client.manager import start_new_kernel

    started = []

    def start(models: Path) -> Kernel:
        home = tmp_path_factory.mktemp("kernel")
        env = {**_env(), "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "DRUMNB_CACHE_DIR": str(home / "cache")}
        env.pop("DRUMNB_MODELS_DIR", None)
        km, kc = start_new_kernel(kernel_name="python3", cwd=str(home), startup_timeout=90, env=env)
        kernel = Kernel(km, kc)
        started.append(kernel)
        status, out = kernel.run(f"""
            %load_ext drumnb
            import os, pandas as pd
            M = {str(models)!r}
            cars = pd.read_csv(M + "/cars.csv")
            test = pd.read_csv(M + "/test.csv")
        """)
        assert status == "ok", out
        return kernel

    yield start
    for kernel in started:
        kernel.kc.stop_channels()
        if kernel.km.is_alive():
            kernel.km.shutdown_kernel(now=False)  # atexit in the kernel stops its servers
        kernel.km.cleanup_resources()


def _r_expected(models: Path) -> list[float]:
    return pd.read_csv(models / "r_expected.csv")["Predictions"].tolist()


def _h2o_expected(models: Path, kind: str) -> pd.DataFrame:
    return pd.read_csv(models / f"{kind}_h2o.csv")


@pytest.fixture(scope="module")
def r_then_java(start_kernel, models) -> Kernel:
    return start_kernel(models)


# --- R, then Java, in one kernel ----------------------------------------------------------------------------

def test_drum_score_caret_rds(r_then_java, models):
    k = r_then_java
    status, out = k.run("%drum_score --code-dir {M}/r_lm --data cars -t regression --rows 3 --no-plot -o r_pred"
                        .replace("{M}", str(models)))
    assert status == "ok", out
    assert "r_lm" in out and "32 rows" in out and "Traceback" not in out
    np.testing.assert_allclose(k.value('r_pred["Predictions"].tolist()'), _r_expected(models), rtol=1e-10)
    # R runs in the kernel now; the pytest process never loaded it
    assert k.value('"rpy2" in __import__("sys").modules') is True
    assert "rpy2" not in sys.modules


def test_drum_score_cell_adds_python_hooks_to_an_rds_folder(r_then_java, models):
    status, out = r_then_java.run(f"""
        %%drum_score --code-dir {models}/r_lm --data cars -t regression -o r_rounded -q
        def post_process(predictions, model):
            predictions["Predictions"] = predictions["Predictions"].round(1)
            return predictions
    """)
    assert status == "ok", out
    got = r_then_java.value('r_rounded["Predictions"].tolist()')
    np.testing.assert_allclose(got, np.round(_r_expected(models), 1), atol=1e-12)


def test_drum_score_custom_r(r_then_java, models):
    status, out = r_then_java.run(
        f"%drum_score --code-dir {models}/r_hooks --data cars -t regression --no-plot -q -o r_hooked")
    assert status == "ok", out
    got = r_then_java.value('r_hooked.astype(object).to_dict(orient="list")')
    np.testing.assert_allclose(got["Predictions"], _r_expected(models), rtol=1e-10)
    assert got["efficient"] == [p > 25 for p in _r_expected(models)]


def test_drum_score_r_error_shows_rs_message(r_then_java, models):
    status, out = r_then_java.run(f"%drum_score --code-dir {models}/r_error --data cars -t regression")
    assert status == "error"
    assert "no scores today for 32 rows" in out and "custom.R" in out and "score" in out
    assert "Traceback" not in out
    assert r_then_java.alive()


def test_drum_serve_r_models(r_then_java, models):
    k = r_then_java
    status, out = k.run(f"""
        srv = %drum_serve --code-dir {models}/r_hooks -t regression
        served = srv.client.predict(cars)
        srv_env = dict(e.split("=", 1) for e in open(f"/proc/{{srv.pid}}/environ").read().split("\\0") if "=" in e)
    """)
    assert status == "ok", out
    served = k.value('served.astype(object).to_dict(orient="list")')
    np.testing.assert_allclose(served["Predictions"], _r_expected(models), rtol=1e-12)
    assert served["efficient"] == [p > 25 for p in _r_expected(models)]
    # the server child did not inherit what starting R put in the kernel's environment
    child_env = k.value("srv_env")
    for key in ("LD_LIBRARY_PATH", "R_SESSION_TMPDIR", "PYTHON_SESSION_INITIALIZED", "R_LIBS_USER", "R_PLATFORM"):
        assert key not in child_env or child_env[key] == os.environ.get(key), key
    status, out = k.run(f"""
        err_srv = %drum_serve --code-dir {models}/r_error -t regression
        try:
            err_srv.client.predict(cars.head(4))
        except Exception as e:
            print(type(e).__name__, e.status, e.message)
    """)
    assert status == "ok", out
    assert "ServerError 500" in out and "no scores today for 4 rows" in out


def test_drum_score_and_serve_a_mojo_after_r(r_then_java, models):
    k = r_then_java
    status, out = k.run(f"%drum_score --code-dir {models}/mojo_bin --data test {BIN} --no-plot --rows 3 -o j_pred")
    assert status == "ok", out
    assert "mojo_bin" in out and "40 rows" in out
    ref = _h2o_expected(models, "bin")[["no", "yes"]]
    np.testing.assert_allclose(pd.DataFrame(k.value('j_pred.to_dict(orient="list")'))[["no", "yes"]], ref, atol=1e-6)
    status, out = k.run(f"""
        jsrv = %drum_serve --code-dir {models}/mojo_bin {BIN}
        j_served = jsrv.client.predict(test)
    """)
    assert status == "ok", out
    served = pd.DataFrame(k.value('j_served.to_dict(orient="list")'))
    np.testing.assert_allclose(served[["no", "yes"]], ref, atol=1e-6)
    np.testing.assert_allclose(served[["no", "yes"]], pd.DataFrame(k.value('j_pred.to_dict(orient="list")')),
                               rtol=1e-15, atol=0)  # the kernel and the server give the same numbers


def test_drum_score_cell_adds_python_hooks_to_a_mojo(r_then_java, models):
    status, out = r_then_java.run(f"""
        %%drum_score --code-dir {models}/mojo_reg --data test -t regression -o j_reg -q
        def post_process(predictions, model):
            predictions["Predictions"] = predictions["Predictions"] * 10
            return predictions
    """)
    assert status == "ok", out
    ref = _h2o_expected(models, "reg")["predict"] * 10
    np.testing.assert_allclose(r_then_java.value('j_reg["Predictions"].tolist()'), ref, atol=1e-5)


def test_interrupting_the_kernel_with_r_and_a_jvm_inside(r_then_java):
    """SIGINT (Interrupt Kernel) reaches Python, not the JVM's handler (which would end the process)."""
    import time

    k = r_then_java
    assert k.value('sorted(m for m in ("rpy2", "jpype") if m in __import__("sys").modules)') == ["jpype", "rpy2"]
    k.km.interrupt_kernel()
    time.sleep(1)
    assert k.alive()
    k.kc.execute("import time\ntime.sleep(30)")  # interrupted mid-cell: KeyboardInterrupt, the kernel lives
    time.sleep(1)
    k.km.interrupt_kernel()
    reply = k.kc.get_shell_msg(timeout=20)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
    assert k.alive()


def test_a_new_r_model_after_the_jvm_is_refused_not_a_crash(r_then_java, models):
    k = r_then_java
    assert k.value('"jpype" in __import__("sys").modules') is True
    status, out = k.run(f"%drum_score --code-dir {models}/r_lm_again --data cars -t regression")
    assert status == "error"
    assert "Java virtual machine already runs" in out and "Traceback" not in out
    assert k.alive()
    # the model already loaded in R keeps scoring (R first, then the JVM, is safe)
    status, out = k.run(f"%drum_score --code-dir {models}/r_lm --data cars -t regression -q -o again")
    assert status == "ok", out
    np.testing.assert_allclose(k.value('again["Predictions"].tolist()'), _r_expected(models), rtol=1e-10)
    # and %drum_serve runs the new R model in its own process
    status, out = k.run(f"""
        srv2 = %drum_serve --code-dir {models}/r_lm_again -t regression
        again_served = srv2.client.predict(cars)["Predictions"].tolist()
    """)
    assert status == "ok", out
    np.testing.assert_allclose(k.value("again_served"), _r_expected(models), rtol=1e-12)
    status, out = k.run("%drum_serve --stop --all")
    assert status == "ok" and "stopped" in out, out


# --- Java first: R in the same kernel must not crash it -------------------------------------------------

def test_java_first_then_r_in_one_kernel(start_kernel, models):
    k = start_kernel(models)
    status, out = k.run(f"%drum_score --code-dir {models}/mojo_reg --data test -t regression -q -o j")
    assert status == "ok", out
    status, out = k.run(f"%drum_score --code-dir {models}/r_lm --data cars -t regression")
    assert status == "error" and "Java virtual machine already runs" in out, out
    assert "%drum_serve" in out  # the hint names the way out in a notebook
    assert k.alive()
    status, out = k.run(f"""
        rsrv = %drum_serve --code-dir {models}/r_lm -t regression
        r_served = rsrv.client.predict(cars)["Predictions"].tolist()
        rsrv.stop()
    """)
    assert status == "ok", out
    np.testing.assert_allclose(k.value("r_served"), _r_expected(models), rtol=1e-12)


def test_drum_score_cell_on_a_custom_r_folder_is_refused(r_then_java, models):
    """Extra Python hooks in a %%drum_score cell would replace the folder's custom.R hooks (custom.py wins)."""
    status, out = r_then_java.run(f"""
        %%drum_score --code-dir {models}/r_hooks --data cars -t regression -q -o mixed
        def post_process(predictions, model):
            return predictions
    """)
    assert status == "error" and "custom.R" in out, out
