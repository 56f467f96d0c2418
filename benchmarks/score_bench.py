#!/usr/bin/env python
"""`drumnb score` against a floor script, measured in one run.

The floor does only what any scoring must: ``pandas.read_csv`` + ``predict`` +
``to_csv`` (for ONNX: onnxruntime + pandas only).  Each case runs both as fresh
processes, several times, and prints the median wall time, peak RSS and the
ratios drumnb / floor.

Targets (issue "Core runner"): cold start (1k rows) within 1.2x of the floor;
1M rows no slower than the floor; ONNX within 1.2x of its floor; peak memory
at most 1.3x the floor's.

    python benchmarks/score_bench.py [--quick] [--repeat N]
"""
from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

FLOOR_SKLEARN = """
import pickle, sys
import pandas as pd
model = pickle.load(open(sys.argv[1], "rb"))
X = pd.read_csv(sys.argv[2])
{predict}
out.to_csv(sys.argv[3], index=False)
"""
PREDICT_REG = 'out = pd.DataFrame({"Predictions": model.predict(X)})'
PREDICT_BIN = 'out = pd.DataFrame(model.predict_proba(X), columns=["no", "yes"])'
FLOOR_ONNX = """
import sys
import numpy as np, pandas as pd, onnxruntime as ort
sess = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
X = pd.read_csv(sys.argv[2])
name = sess.get_inputs()[0].name
pred = sess.run(None, {name: X.to_numpy(np.float32)})[0]
pd.DataFrame({"Predictions": pred.reshape(-1)}).to_csv(sys.argv[3], index=False)
"""


# Linux counts the RSS of the process that forks a child in the child's ru_maxrss (it is recorded when the
# child execs), and this benchmark process holds trained models (~250 MB).  So each command is started by a
# small stdlib-only launcher, whose own fork is what the measured process inherits.
LAUNCH = """
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
err = proc.stderr.read().decode(errors="replace")
print(os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss, flush=True)
sys.stderr.write(err)
"""


def run(cmd: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh process."""
    proc = subprocess.run([sys.executable, "-S", "-c", LAUNCH, *cmd], env=env, capture_output=True, text=True)
    code, wall, maxrss = proc.stdout.split()
    if int(code) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    return float(wall), int(maxrss) / 1024


def measure(cmd: list[str], env: dict, repeat: int) -> tuple[float, float]:
    runs = [run(cmd, env) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def make_data(tmp: str, rows: int, cols: int = 20) -> str:
    path = os.path.join(tmp, f"X_{rows}.csv")
    if not os.path.exists(path):
        rng = np.random.default_rng(0)
        import pyarrow as pa
        import pyarrow.csv as pacsv

        df = pd.DataFrame(rng.normal(size=(rows, cols)), columns=[f"f{i}" for i in range(cols)])
        pacsv.write_csv(pa.Table.from_pandas(df, preserve_index=False), path)
    return path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="skip the 1M-row case")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    from sklearn.linear_model import LinearRegression, LogisticRegression

    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="drumnb-bench-") as tmp:
        train = make_data(tmp, 2000)
        Xt = pd.read_csv(train)
        y = Xt.to_numpy() @ np.arange(20)
        reg_dir, bin_dir, onnx_dir = (os.path.join(tmp, d) for d in ("reg", "bin", "onnx"))
        for d in (reg_dir, bin_dir, onnx_dir):
            os.makedirs(d)
        with open(os.path.join(reg_dir, "model.pkl"), "wb") as fh:
            pickle.dump(LinearRegression().fit(Xt, y), fh)
        with open(os.path.join(bin_dir, "model.pkl"), "wb") as fh:
            pickle.dump(LogisticRegression().fit(Xt, np.where(y > 0, "yes", "no")), fh)
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import FloatTensorType

        onx = to_onnx(LinearRegression().fit(Xt.to_numpy(), y), initial_types=[("input", FloatTensorType([None, 20]))])
        with open(os.path.join(onnx_dir, "model.onnx"), "wb") as fh:
            fh.write(onx.SerializeToString())
        floors = {}
        for name, src in (("reg", FLOOR_SKLEARN.format(predict=PREDICT_REG)),
                          ("bin", FLOOR_SKLEARN.format(predict=PREDICT_BIN)), ("onnx", FLOOR_ONNX)):
            floors[name] = os.path.join(tmp, f"floor_{name}.py")
            with open(floors[name], "w") as fh:
                fh.write(src)
        out = os.path.join(tmp, "out.csv")
        drumnb = [py, "-m", "drumnb", "score", "--output", out]
        cases = [
            ("cold start, sklearn reg", "reg", 1_000, ["--target-type", "regression"], 5),
            ("sklearn regressor", "reg", 100_000, ["--target-type", "regression"], args.repeat),
            ("sklearn binary", "bin", 100_000, ["--target-type", "binary", "--positive-class-label", "yes",
                                                "--negative-class-label", "no"], args.repeat),
            ("ONNX regressor", "onnx", 100_000, ["--target-type", "regression"], args.repeat),
        ]
        if not args.quick:
            cases.append(("sklearn regressor", "reg", 1_000_000, ["--target-type", "regression"], 2))
        print(f"{'case':<26}{'rows':>10}{'floor s':>10}{'drumnb s':>10}{'time x':>8}{'floor MB':>10}"
              f"{'drumnb MB':>11}{'mem x':>7}")
        for label, kind, rows, flags, repeat in cases:
            data = make_data(tmp, rows)
            folder = {"reg": reg_dir, "bin": bin_dir, "onnx": onnx_dir}[kind]
            artifact = os.path.join(folder, "model.onnx" if kind == "onnx" else "model.pkl")
            run([py, floors[kind], artifact, data, out], env)  # warm the page cache
            ft, fm = measure([py, floors[kind], artifact, data, out], env, repeat)
            dt, dm = measure(drumnb + ["--code-dir", folder, "--input", data, *flags], env, repeat)
            print(f"{label:<26}{rows:>10,}{ft:>10.3f}{dt:>10.3f}{dt / ft:>8.2f}{fm:>10.0f}{dm:>11.0f}{dm / fm:>7.2f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
