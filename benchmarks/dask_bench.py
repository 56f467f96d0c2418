#!/usr/bin/env python
"""`drumnb.dask` with 1 and 2 workers against single-process `drumnb score`.

Data: a Parquet folder of ``--rows`` rows x 20 float64 features (default 10M
rows in 40 files, 1.6 GB), plus the same rows as one file for the single
process.  Model: a scikit-learn random forest (20 trees, depth 8), so that
scoring, not reading, dominates.  Every process runs with one math thread
(``OMP_NUM_THREADS=1`` and the like; Dask's nanny sets the same in its
workers), so the comparison measures Dask, not BLAS threads.

Printed: wall time of each run, the ratios, and each worker's peak memory
(Linux ``VmHWM``) next to the size of one partition and of the whole data.
Targets (issue "Batch scoring past one machine on Dask"): 2 workers at least
1.5x faster than 1 worker on a 2-core machine; a worker's peak bounded by the
partition size, not the data size.

    python benchmarks/dask_bench.py [--rows N] [--files N] [--dir DIR]
"""
from __future__ import annotations

import argparse
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time

THREAD_VARS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}
os.environ.update(THREAD_VARS)  # before numpy is imported, here and in every child

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

FEATURES = [f"f{i}" for i in range(20)]


def build(root: str, rows: int, files: int) -> tuple[str, str, str]:
    """Model folder, Parquet folder and single Parquet file under ``root`` (reused when present)."""
    model_dir, data_dir, single = (os.path.join(root, n) for n in ("model", "data", "all.parquet"))
    stamp = os.path.join(root, f".built-{rows}-{files}")
    if os.path.exists(stamp):
        return model_dir, data_dir, single
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(model_dir)
    os.makedirs(data_dir)
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, len(FEATURES)))
    y = X @ np.linspace(-1, 1, len(FEATURES)) + np.sin(3 * X[:, 0])
    import pandas as pd

    forest = RandomForestRegressor(n_estimators=20, max_depth=8, random_state=0)
    forest.fit(pd.DataFrame(X, columns=FEATURES), y)
    with open(os.path.join(model_dir, "model.pkl"), "wb") as fh:
        pickle.dump(forest, fh)
    with open(os.path.join(model_dir, "model-metadata.yaml"), "w") as fh:
        fh.write("name: bench forest\ntype: inference\ntargetType: regression\n")
    per_file = rows // files
    block = rng.standard_normal((len(FEATURES), per_file))
    schema = pa.schema([(f, pa.float64()) for f in FEATURES])
    with pq.ParquetWriter(single, schema, compression="snappy") as whole:
        for i in range(files):
            table = pa.table([pa.array(col + 0.01 * i) for col in block], schema=schema)
            pq.write_table(table, os.path.join(data_dir, f"part.{i:05d}.parquet"), compression="snappy")
            whole.write_table(table, row_group_size=per_file)
    open(stamp, "w").close()
    return model_dir, data_dir, single


def run_single(model_dir: str, single: str, out: str) -> tuple[float, float, float]:
    """`drumnb score` in a fresh process: (wall seconds, CPU seconds, peak RSS in MB)."""
    cmd = [sys.executable, "-m", "drumnb", "score", "--code-dir", model_dir, "--input", single, "--output", out]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()}")
    proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _peak_mb() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmHWM:"))


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_dask(workers: int, model_dir: str, data_dir: str, out: str) -> tuple[float, float, float, list[float]]:
    """Score on a local cluster of ``workers`` processes:
    (start-up s, job s, CPU s of the workers and this process during the job, peak MB of each worker)."""
    import drumnb.dask

    started = time.perf_counter()
    with drumnb.dask.local_cluster(workers, dashboard=False, file=sys.stderr) as client:
        client.run(lambda: __import__("sklearn.ensemble"))  # imports are start-up, not scoring
        ready = time.perf_counter()
        cpu_before = sum(client.run(_cpu_seconds).values()) + _cpu_seconds()
        preds = drumnb.dask.score(os.path.join(data_dir, "*.parquet"), model_dir, client=client)
        drumnb.dask.write(preds, out, client=client)
        done = time.perf_counter()
        cpu = sum(client.run(_cpu_seconds).values()) + _cpu_seconds() - cpu_before
        peaks = list(client.run(_peak_mb).values())
    return ready - started, done - ready, cpu, peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "drumnb-dask-bench"),
                        help="where the data is built (kept for the next run)")
    args = parser.parse_args()
    t = time.perf_counter()
    model_dir, data_dir, single = build(args.dir, args.rows, args.files)
    data_mb = sum(os.path.getsize(os.path.join(data_dir, f)) for f in os.listdir(data_dir)) / 1e6
    part_mb = args.rows // args.files * len(FEATURES) * 8 / 1e6
    print(f"data: {args.rows:,} rows x {len(FEATURES)} columns in {args.files} files ({data_mb:.0f} MB on disk, "
          f"{args.rows * len(FEATURES) * 8 / 1e6:.0f} MB in memory; one partition {part_mb:.0f} MB) "
          f"[{time.perf_counter() - t:.0f} s]; load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores",
          flush=True)
    out = os.path.join(args.dir, "out")
    single_s, single_cpu, single_mb = run_single(model_dir, single, out + "-single.parquet")
    print(f"single process `drumnb score`: {single_s:6.1f} s wall, {single_cpu:6.1f} s CPU, "
          f"peak {single_mb:.0f} MB", flush=True)
    results = {}
    for workers in (1, 2):
        start_s, job_s, cpu_s, peaks = run_dask(workers, model_dir, data_dir, f"{out}-{workers}")
        results[workers] = job_s
        print(f"dask, {workers} worker(s):   {job_s:6.1f} s wall, {cpu_s:6.1f} s CPU ({cpu_s / job_s:.2f} cores busy; "
              f"+{start_s:.1f} s cluster start-up), peak per worker {', '.join(f'{p:.0f}' for p in peaks)} MB",
              flush=True)
    print(f"ratios: 2 workers vs 1 worker {results[1] / results[2]:.2f}x (target >= 1.5x); "
          f"2 workers vs single process {single_s / results[2]:.2f}x; "
          f"1 worker vs single process {single_s / results[1]:.2f}x")
    print("(wall-time ratios need idle cores: compare 'cores busy' with the cores the machine had free)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
