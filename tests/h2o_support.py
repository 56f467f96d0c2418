"""Training the H2O test models (GBM regression, binary, multiclass; MOJO and POJO) in a child process.

H2O takes about 30 s to start and train, so test modules start it in the background and wait for it
only when a test needs the models; the script shuts its H2O cluster down itself.

For each model ``{kind}_h2o.csv`` holds H2O's own predictions on ``test.csv``; ``{kind}_no_x2_h2o.csv``
on the same rows without the column ``x2``, ``{kind}_na_x2_h2o.csv`` and ``{kind}_na_color_h2o.csv``
with that column set to NA in every row.  With ``xgboost=True`` the script also trains H2O XGBoost
models (``xgb_{kind}/`` MOJOs, ``xgb_{kind}*_h2o.csv``) and downloads the plain ``h2o-genmodel.jar``
the cluster serves (``genmodel/h2o-genmodel.jar``, without the XGBoost extension).
"""
from __future__ import annotations

import random
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO

TRAIN_H2O = r'''
import os, sys, time
import numpy as np, pandas as pd
out, port, with_xgboost = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "xgboost"
import h2o
from h2o.estimators import H2OGradientBoostingEstimator, H2OXGBoostEstimator
h2o.init(ip="127.0.0.1", port=port, nthreads=1, max_mem_size="768M", verbose=False)
h2o.no_progress()
try:
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.uniform(0, 10, size=n),
                       "color": rng.choice(["red", "green", "blue"], size=n)})
    df.loc[rng.choice(n, 25, replace=False), "x1"] = np.nan
    df.loc[rng.choice(n, 25, replace=False), "color"] = np.nan
    y = 2 * df["x1"].fillna(0) + 0.5 * df["x2"] + df["color"].map({"red": 3, "green": 0, "blue": -2}).fillna(1)
    df["reg"] = y + rng.normal(scale=0.1, size=n)
    df["bin"] = np.where(y > y.median(), "yes", "no")
    df["multi"] = pd.cut(y, 3, labels=["low", "mid", "high"]).astype(str)
    df.to_csv(os.path.join(out, "train.csv"), index=False)
    types = {"x1": "numeric", "x2": "numeric", "color": "enum", "reg": "numeric", "bin": "enum", "multi": "enum"}
    fr = h2o.upload_file(os.path.join(out, "train.csv"), col_types=types)
    test = df[["x1", "x2", "color"]].head(40).copy()
    test.loc[0, "color"] = "purple"  # a level the model never saw
    test.loc[1, ["x1", "x2"]] = np.nan
    test.loc[2, ["x1", "x2", "color"]] = np.nan
    feature_types = {"x1": "numeric", "x2": "numeric", "color": "enum"}
    frames = {"": test, "_no_x2": test.drop(columns=["x2"]), "_na_x2": test.assign(x2=np.nan),
              "_na_color": test.assign(color=np.nan)}
    tfrs = {}
    for suffix, frame in frames.items():
        path = os.path.join(out, f"test{suffix}.csv")
        frame.to_csv(path, index=False)
        tfrs[suffix] = h2o.upload_file(path, col_types={c: feature_types[c] for c in frame.columns})

    def predictions(m, prefix):
        for suffix, tfr in tfrs.items():
            m.predict(tfr).as_data_frame().to_csv(os.path.join(out, f"{prefix}{suffix}_h2o.csv"), index=False)

    for kind in ["reg", "bin", "multi"]:
        m = H2OGradientBoostingEstimator(ntrees=10, max_depth=3, seed=1, model_id=f"gbm_{kind}")
        m.train(x=["x1", "x2", "color"], y=kind, training_frame=fr)
        for fmt in ["mojo", "pojo"]:
            os.makedirs(os.path.join(out, f"{fmt}_{kind}"), exist_ok=True)
        m.download_mojo(path=os.path.join(out, f"mojo_{kind}"))
        m.download_pojo(path=os.path.join(out, f"pojo_{kind}"), get_genmodel_jar=False)
        predictions(m, kind)
    if with_xgboost:
        for kind in ["reg", "bin", "multi"]:
            m = H2OXGBoostEstimator(ntrees=10, max_depth=3, seed=1, model_id=f"xgb_{kind}")
            m.train(x=["x1", "x2", "color"], y=kind, training_frame=fr)
            os.makedirs(os.path.join(out, f"xgb_{kind}"), exist_ok=True)
            m.download_mojo(path=os.path.join(out, f"xgb_{kind}"))
            predictions(m, f"xgb_{kind}")
        os.makedirs(os.path.join(out, "genmodel"), exist_ok=True)
        m.download_mojo(path=os.path.join(out, "genmodel"), get_genmodel_jar=True, genmodel_name="h2o-genmodel.jar")
        os.remove(os.path.join(out, "genmodel", "xgb_multi.zip"))
finally:
    h2o.cluster().shutdown()
print("trained")
'''


def free_port_pair() -> int:
    """A port p with p and p+1 free (H2O uses both)."""
    for _ in range(50):
        port = random.randint(20000, 40000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair for H2O")


def start_training(out: Path, env: dict, log_name: str = "train.log", *,
                   xgboost: bool = False) -> tuple[subprocess.Popen, IO[str]]:
    """Start ``TRAIN_H2O`` writing its models into ``out``; returns the process and its open log."""
    (out / "train_h2o.py").write_text(TRAIN_H2O)
    log = open(out / log_name, "w+")
    proc = subprocess.Popen([sys.executable, str(out / "train_h2o.py"), str(out), str(free_port_pair()),
                             "xgboost" if xgboost else "gbm"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=env)
    return proc, log


def wait_trained(proc: subprocess.Popen, log: IO[str], timeout: float) -> None:
    """Wait for the training; assert it finished and said so (the log's end otherwise)."""
    rc = proc.wait(timeout=timeout)
    log.seek(0)
    text = log.read()
    assert rc == 0 and "trained" in text, text[-5000:]


def stop_training(proc: subprocess.Popen, log: IO[str], timeout: float) -> None:
    """At teardown: let the script finish (it stops its H2O cluster), else kill it; close the log."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    finally:
        log.close()


def train_now(out: Path, env: dict, timeout: float = 500) -> None:
    """Train the models into ``out`` and wait for them (a test that needs them at once)."""
    proc, log = start_training(out, env)
    try:
        wait_trained(proc, log, timeout=timeout)
    finally:
        stop_training(proc, log, timeout=60)
