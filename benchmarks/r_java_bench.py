#!/usr/bin/env python
"""R and Java models through drumnb against a floor in the same runtime, on the same rows.

Two models, trained here (nothing is downloaded):

* **caret** (R): ``train(..., method = "glm")`` binary classifier (or ``--r-method rf``) on
  four numbers and a categorical column; scored as probabilities.
* **H2O MOJO** (Java): a 50-tree GBM binary classifier on the same kind of data, with missing
  values and a categorical level it never saw in the rows to score.

For each, on one ``--rows``-row CSV (default 100,000):

* ``drumnb score`` (the CLI): the whole command, timed from outside: Python, R or the JVM
  starting, the model loading, reading, scoring, writing the CSV.
* ``drumnb.load_model(...).predict(csv)`` in one process: the call alone (best of
  ``--repeat``), after the load (its time is shown apart).
* the **floor**: R's own ``read.csv`` + ``predict(model, newdata, type = "prob")`` timed inside
  ``Rscript`` / a small Java program (compiled here with ``javac``) that reads the CSV and calls
  genmodel's ``EasyPredictModelWrapper.predictBinomial`` row by row, timed inside the JVM; both
  best of ``--repeat``, after the model is loaded.  The floors' whole commands are timed too.

Floor and drumnb runs alternate ``--rounds`` times and the best of each counts, so that a
machine whose load changes during the run (shared CPUs) does not favour one side.

Printed: rows per second and the ratios drumnb rows/s / floor rows/s (1.0 = as fast as the
floor; the CLI's ratio includes the runtime's start, which the floor's in-runtime timing does
not).  Each model runs in its own processes: R and the JVM never share one.

    .venv/bin/python benchmarks/r_java_bench.py [--rows N] [--repeat K] [--rounds R] [--only r|java] [--r-method glm|rf]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
LABELS = ["--positive-class-label", "yes", "--negative-class-label", "no"]

TRAIN_R = r"""
suppressPackageStartupMessages(library(caret))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = TRUE)
d$y <- factor(d$y, levels = c("no", "yes"))
set.seed(1)
ctrl <- trainControl(method = "none", classProbs = TRUE)
fit <- if (args[3] == "rf") {
  train(y ~ ., data = d, method = "rf", ntree = 50, tuneGrid = data.frame(mtry = 2), trControl = ctrl)
} else {
  suppressWarnings(train(y ~ ., data = d, method = "glm", trControl = ctrl))
}
dir.create(args[2], showWarnings = FALSE, recursive = TRUE)
saveRDS(fit, file.path(args[2], "model.rds"))
cat("trained\n")
"""

FLOOR_R = r"""
t_start <- Sys.time()
suppressPackageStartupMessages(library(caret))
args <- commandArgs(trailingOnly = TRUE)
model <- readRDS(args[1])
for (p in model$modelInfo$library) suppressPackageStartupMessages(loadNamespace(p))
best <- Inf
for (i in seq_len(as.integer(args[3]))) {
  t0 <- Sys.time()
  d <- read.csv(args[2])
  p <- predict(model, newdata = d, type = "prob")
  best <- min(best, as.numeric(difftime(Sys.time(), t0, units = "secs")))
}
cat(sprintf("FLOOR %.6f %d %.6f\n", best, nrow(p), mean(p$yes)))
"""

FLOOR_JAVA = r"""
import hex.genmodel.GenModel;
import hex.genmodel.MojoModel;
import hex.genmodel.easy.EasyPredictModelWrapper;
import hex.genmodel.easy.RowData;
import hex.genmodel.easy.prediction.BinomialModelPrediction;
import java.io.BufferedReader;
import java.nio.file.Files;
import java.nio.file.Paths;

/** The floor: read the CSV and score each row with genmodel's EasyPredictModelWrapper. */
public class Floor {
    public static void main(String[] a) throws Exception {
        GenModel model = MojoModel.load(a[0]);
        EasyPredictModelWrapper w = new EasyPredictModelWrapper(new EasyPredictModelWrapper.Config()
            .setModel(model).setConvertUnknownCategoricalLevelsToNa(true).setConvertInvalidNumbersToNa(true));
        int reps = Integer.parseInt(a[2]);
        double best = Double.MAX_VALUE, sum = 0;
        int n = 0;
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            try (BufferedReader br = Files.newBufferedReader(Paths.get(a[1]))) {
                String[] header = br.readLine().split(",", -1);
                boolean[] numeric = new boolean[header.length];
                String[] names = model.getNames();
                for (int j = 0; j < header.length; j++) {
                    for (int k = 0; k < model.nfeatures(); k++) {
                        if (names[k].equals(header[j])) numeric[j] = model.getDomainValues(k) == null;
                    }
                }
                String line;
                n = 0;
                sum = 0;
                while ((line = br.readLine()) != null) {
                    String[] f = line.split(",", -1);
                    RowData row = new RowData();
                    for (int j = 0; j < f.length; j++) {
                        if (f[j].isEmpty()) continue;
                        if (numeric[j]) row.put(header[j], Double.parseDouble(f[j]));
                        else row.put(header[j], f[j]);
                    }
                    BinomialModelPrediction p = w.predictBinomial(row);
                    sum += p.classProbabilities[1];
                    n++;
                }
            }
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        System.out.printf("FLOOR %.6f %d %.6f%n", best, n, sum / n);
    }
}
"""

TRAIN_H2O = r"""
import os, sys
out, data, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
import h2o
from h2o.estimators import H2OGradientBoostingEstimator
h2o.init(ip="127.0.0.1", port=port, nthreads=1, max_mem_size="1G", verbose=False)
h2o.no_progress()
try:
    types = {"x1": "numeric", "x2": "numeric", "x3": "numeric", "x4": "numeric", "color": "enum", "y": "enum"}
    fr = h2o.import_file(data, col_types=types)
    m = H2OGradientBoostingEstimator(ntrees=50, max_depth=5, seed=1, model_id="bench_gbm")
    m.train(x=["x1", "x2", "x3", "x4", "color"], y="y", training_frame=fr)
    os.makedirs(out, exist_ok=True)
    m.download_mojo(path=out)
finally:
    h2o.cluster().shutdown()
print("trained")
"""

INPROCESS = r"""
import json, sys, time
t0 = time.perf_counter()
import drumnb
model = drumnb.load_model(sys.argv[1], "binary", positive_class_label="yes", negative_class_label="no")
load = time.perf_counter() - t0
best = float("inf")
for _ in range(int(sys.argv[3])):
    t = time.perf_counter()
    pred = model.predict(sys.argv[2])
    best = min(best, time.perf_counter() - t)
print("@@" + json.dumps({"load": load, "best": best, "rows": len(pred), "mean_yes": float(pred["yes"].mean())}))
"""


def make_data(n: int, seed: int, *, holes: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x1": rng.normal(size=n).round(4), "x2": rng.uniform(0, 10, n).round(4),
                       "x3": rng.normal(5, 2, n).round(4), "x4": rng.exponential(1.0, n).round(4),
                       "color": rng.choice(["red", "green", "blue"], n)})
    logit = 1.2 * df["x1"] - 0.3 * df["x2"] + 0.2 * df["x3"] + df["color"].map({"red": 1.0, "green": 0.0, "blue": -1.0})
    df["y"] = np.where(logit + rng.normal(0, 1, n) > -0.5, "yes", "no")
    if holes:
        df.loc[rng.choice(n, n // 20, replace=False), "x1"] = np.nan
        df.loc[rng.choice(n, n // 20, replace=False), "color"] = np.nan
        df.loc[rng.choice(n, n // 100, replace=False), "color"] = "purple"  # never seen in training
    return df


def env() -> dict:
    e = {**os.environ, "TZ": "UTC", "OMP_NUM_THREADS": "1"}
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), e.get("PYTHONPATH")]))
    return e


def timed(cmd: list[str], *, cwd: str | None = None, environ: dict | None = None, timeout: int = 1800):
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=environ or env(), timeout=timeout,
                          stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return wall, proc


def floor_line(proc) -> tuple[float, int, float]:
    line = [x for x in proc.stdout.splitlines() if x.startswith("FLOOR ")][-1].split()
    return float(line[1]), int(line[2]), float(line[3])


def inprocess(folder: Path, csv: Path, repeat: int, environ: dict) -> dict:
    _, proc = timed([sys.executable, "-c", INPROCESS, str(folder), str(csv), str(repeat)], environ=environ)
    return json.loads([x for x in proc.stdout.splitlines() if x.startswith("@@")][-1][2:])


def cli(folder: Path, csv: Path, out: Path, repeat: int, environ: dict) -> float:
    """The whole `drumnb score` command, wall time (best of ``repeat``)."""
    walls = []
    for _ in range(repeat):
        wall, _ = timed([sys.executable, "-m", "drumnb", "score", "-cd", str(folder), "--input", str(csv),
                         "--output", str(out), "--target-type", "binary", *LABELS], environ=environ)
        walls.append(wall)
    return min(walls)


def free_port_pair() -> int:
    for _ in range(100):
        port = random.randint(20000, 40000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise SystemExit("no free port pair for H2O")


def measure(rounds: int, floor_cmd: list[str], repeat: int, folder: Path, csv: Path, out: Path,
            environ: dict) -> tuple[float, float, dict, float, float]:
    """Floor and drumnb, interleaved ``rounds`` times (the machine's load varies): the best of each."""
    floors, floor_cmds, inprocs, clis, floor_mean = [], [], [], [], None
    for _ in range(rounds):
        _, proc = timed(floor_cmd + [str(repeat)])
        best, n, floor_mean = floor_line(proc)
        floors.append(best)
        inprocs.append(inprocess(folder, csv, repeat, environ))
        floor_cmds.append(timed(floor_cmd + ["1"])[0])
        clis.append(cli(folder, csv, out, 1, environ))
    inproc = min(inprocs, key=lambda r: r["best"])
    inproc = {**inproc, "load": min(r["load"] for r in inprocs)}
    return min(floors), min(floor_cmds), inproc, min(clis), floor_mean


def report(name: str, rows: int, cli_wall: float, inproc: dict, floor: float, floor_cmd: float,
           check: tuple[float, float]) -> dict:
    floor_rps = rows / floor
    result = {
        "model": name, "rows": rows,
        "cli_s": cli_wall, "cli_rows_per_s": rows / cli_wall, "cli_ratio": (rows / cli_wall) / floor_rps,
        "load_s": inproc["load"], "predict_s": inproc["best"], "predict_rows_per_s": rows / inproc["best"],
        "predict_ratio": (rows / inproc["best"]) / floor_rps,
        "floor_s": floor, "floor_rows_per_s": floor_rps, "floor_command_s": floor_cmd,
        "cli_vs_floor_command": floor_cmd / cli_wall,
        "mean_yes_drumnb": check[0], "mean_yes_floor": check[1],
    }
    print(f"\n{name}: {rows:,} rows")
    print(f"  floor (read + predict in the runtime)  {floor:8.3f} s  {floor_rps:12,.0f} rows/s"
          f"   (whole floor command {floor_cmd:.2f} s)")
    print(f"  drumnb load_model().predict(csv)       {inproc['best']:8.3f} s  {rows / inproc['best']:12,.0f} rows/s"
          f"   ratio {result['predict_ratio']:.2f}   (load {inproc['load']:.2f} s)")
    print(f"  drumnb score (whole command)           {cli_wall:8.3f} s  {rows / cli_wall:12,.0f} rows/s"
          f"   ratio {result['cli_ratio']:.2f}   (vs the whole floor command: {result['cli_vs_floor_command']:.2f})")
    print(f"  same answers: mean P(yes) drumnb {check[0]:.6f}, floor {check[1]:.6f}")
    return result


def bench_r(work: Path, rows: int, repeat: int, rounds: int, method: str) -> dict:
    make_data(2000, 1, holes=False).to_csv(work / "r_train.csv", index=False)
    score = make_data(rows, 2, holes=False).drop(columns=["y"])
    score.to_csv(work / "r_score.csv", index=False)
    (work / "train.R").write_text(TRAIN_R)
    timed(["Rscript", str(work / "train.R"), str(work / "r_train.csv"), str(work / "caret_model"), method])
    (work / "floor.R").write_text(FLOOR_R)
    floor_cmd_line = ["Rscript", str(work / "floor.R"), str(work / "caret_model" / "model.rds"), str(work / "r_score.csv")]
    floor, floor_cmd, inproc, cli_wall, floor_mean = measure(rounds, floor_cmd_line, repeat, work / "caret_model",
                                                             work / "r_score.csv", work / "r_out.csv", env())
    assert inproc["rows"] == rows and len(pd.read_csv(work / "r_out.csv")) == rows
    return report(f"caret {method} (R)", rows, cli_wall, inproc, floor, floor_cmd, (inproc["mean_yes"], floor_mean))


def bench_java(work: Path, rows: int, repeat: int, rounds: int) -> dict:
    from drumnb.predictors.java import genmodel_jar, javac

    make_data(2000, 3, holes=True).to_csv(work / "h2o_train.csv", index=False)
    make_data(rows, 4, holes=True).drop(columns=["y"]).to_csv(work / "h2o_score.csv", index=False)
    (work / "train_h2o.py").write_text(TRAIN_H2O)
    timed([sys.executable, str(work / "train_h2o.py"), str(work / "mojo_model"), str(work / "h2o_train.csv"),
           str(free_port_pair())])
    mojo = next((work / "mojo_model").glob("*.zip"))
    jar = genmodel_jar()
    (work / "floor").mkdir(exist_ok=True)
    (work / "floor" / "Floor.java").write_text(FLOOR_JAVA)
    timed([javac(), "-nowarn", "-cp", jar, "-d", str(work / "floor"), str(work / "floor" / "Floor.java")])
    java = shutil.which("java") or "java"
    heap = [f"-Xmx{os.environ['DRUM_JAVA_XMX']}"] if os.environ.get("DRUM_JAVA_XMX") else []
    floor_cmd_line = [java, *heap, "-cp", os.pathsep.join([jar, str(work / "floor")]), "Floor", str(mojo),
                      str(work / "h2o_score.csv")]
    e = {**env(), "DRUMNB_CACHE_DIR": str(work / "drumnb_cache")}
    floor, floor_cmd, inproc, cli_wall, floor_mean = measure(rounds, floor_cmd_line, repeat, work / "mojo_model",
                                                             work / "h2o_score.csv", work / "h2o_out.csv", e)
    assert inproc["rows"] == rows and len(pd.read_csv(work / "h2o_out.csv")) == rows
    return report("H2O GBM MOJO (Java)", rows, cli_wall, inproc, floor, floor_cmd, (inproc["mean_yes"], floor_mean))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="rows to score (default 100000)")
    ap.add_argument("--repeat", type=int, default=3, help="in-runtime timings: best of K (default 3)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="floor and drumnb run interleaved this many times; the best of each counts (default 3)")
    ap.add_argument("--only", choices=["r", "java"], help="run one of the two")
    ap.add_argument("--r-method", choices=["glm", "rf"], default="glm", help="the caret model (default glm)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temporary folder, removed)")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="drumnb-r-java-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"drumnb R/Java benchmark: {args.rows:,} rows, {os.cpu_count()} CPUs (load average {load:.1f}), "
          f"{args.rounds} interleaved rounds, best of {args.repeat} in each runtime; work folder {work}")
    results = []
    try:
        if args.only in (None, "r"):
            if shutil.which("Rscript") is None:
                print("\nR: skipped (no Rscript; apt-get install r-base-core r-cran-caret)")
            else:
                results.append(bench_r(work, args.rows, args.repeat, args.rounds, args.r_method))
        if args.only in (None, "java"):
            if shutil.which("javac") is None:
                print("\nJava: skipped (no javac; apt-get install openjdk-17-jdk-headless)")
            else:
                results.append(bench_java(work, args.rows, args.repeat, args.rounds))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print("\nratio = drumnb rows/s / floor rows/s (1.00: as fast as calling the runtime directly)")


if __name__ == "__main__":
    main()
