#!/usr/bin/env python
"""Where ``drumnb perf-test``'s own time goes, and what the load client costs.

1. **The large case's body** (``--large-file-mb``, default 50): rows repeated
   as a DataFrame and written to CSV again (what perf-test did until now) vs
   :class:`drumnb.tools.loadgen.Payloads` (the input written once, its row
   lines repeated as bytes); for a numeric input and one with a string column
   (pandas' writer), checked byte for byte equal.
2. **The load client**: 1-row requests to a real server on 127.0.0.1 for
   ``--seconds`` at concurrency 1 and 4, from threads with ``requests``
   sessions vs ``http.client`` keep-alive connections (what ``run_level``
   uses): requests/s and the client's CPU seconds per 1,000 requests.
3. With ``--code-dir DIR --input FILE``: the whole default ``perf_test`` run on
   that model (size cases and the large file), each case's time.

    .venv/bin/python benchmarks/perf_bench.py [--large-file-mb 50] [--seconds 3] [--code-dir DIR --input FILE]
"""
from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
import threading
import time

import numpy as np
import pandas as pd

from drumnb.core import codecs
from drumnb.server.background import serve
from drumnb.tools.loadgen import Payloads
from drumnb.tools.perf import perf_test

MB = 1024 * 1024
SUM = """
import pandas as pd

def load_model(code_dir):
    return "m"

def score(data, model, **kwargs):
    return pd.DataFrame({"Predictions": data.select_dtypes("number").sum(axis=1)})
"""


def body_build(frame: pd.DataFrame, mb: float, label: str) -> None:
    payloads = Payloads(frame)
    per_row = (payloads.size(1000) - len(payloads.header)) / 1000
    rows = int(mb * MB / per_row)
    t0 = time.perf_counter()
    old = codecs.write_csv(frame.iloc[np.arange(rows) % len(frame)].reset_index(drop=True))
    t_old = time.perf_counter() - t0
    t0 = time.perf_counter()
    new = payloads.body(rows)
    t_new = time.perf_counter() - t0
    assert old == new, "the bodies differ"
    print(f"  {label:<28} {rows:>10,} rows {len(new) / MB:6.1f} MB   frame + CSV {t_old:6.2f} s   "
          f"repeated lines {t_new:6.3f} s   ({t_old / t_new:,.0f}x)")


def _requests_client(url: str, body: bytes, stop: threading.Event, counts: list[int]) -> None:
    import requests

    with requests.Session() as s:
        while not stop.is_set():
            s.post(url + "/predict/", data=body, headers={"Content-Type": "text/csv"}).raise_for_status()
            counts.append(1)


def _http_client(url: str, body: bytes, stop: threading.Event, counts: list[int]) -> None:
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port))
    while not stop.is_set():
        conn.request("POST", "/predict/", body=body, headers={"Content-Type": "text/csv"})
        r = conn.getresponse()
        r.read()
        assert r.status == 200
        counts.append(1)
    conn.close()


def client_cost(url: str, body: bytes, seconds: float) -> None:
    for concurrency in (1, 4):
        for name, fn in (("requests.Session", _requests_client), ("http.client", _http_client)):
            stop, counts = threading.Event(), []
            threads = [threading.Thread(target=fn, args=(url, body, stop, counts)) for _ in range(concurrency)]
            cpu0, t0 = time.process_time(), time.perf_counter()
            for t in threads:
                t.start()
            time.sleep(seconds)
            stop.set()
            for t in threads:
                t.join()
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            print(f"  concurrency {concurrency}  {name:<17} {len(counts) / wall:8.1f} req/s   "
                  f"client CPU {cpu / max(1, len(counts)) * 1e6:7.0f} us a request")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--large-file-mb", type=float, default=50.0)
    ap.add_argument("--seconds", type=float, default=3.0, help="seconds per client measurement")
    ap.add_argument("--code-dir", help="also run the whole default perf-test on this model folder")
    ap.add_argument("--input", help="its input rows (with --code-dir)")
    args = ap.parse_args()
    print(f"drumnb perf-test benchmark: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    rng = np.random.default_rng(0)
    numeric = pd.DataFrame(rng.normal(size=(569, 8)).round(4), columns=[f"x{i}" for i in range(8)])
    mixed = numeric.iloc[:, :4].assign(plan=rng.choice(["basic", "plus", "pro"], len(numeric)))
    print(f"\n1. the {args.large_file_mb:g} MB body")
    body_build(numeric, args.large_file_mb, "8 float columns")
    body_build(mixed, args.large_file_mb, "4 floats and a string column")
    print("\n2. the load client (1-row requests, a real server on 127.0.0.1)")
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "custom.py"), "w") as fh:
            fh.write(SUM)
        with open(os.path.join(d, "model-metadata.yaml"), "w") as fh:
            fh.write("name: sum\ntargetType: regression\n")
        with serve(d, process=True, with_error_server=False) as server:
            client_cost(server.url, Payloads(numeric).body(1), args.seconds)
    if args.code_dir:
        print(f"\n3. the default perf-test on {args.code_dir}")
        t0 = time.perf_counter()
        report = perf_test(args.code_dir, args.input, progress=sys.stderr.isatty())
        print(report.to_text())
        print(f"  whole run {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
