#!/usr/bin/env python
"""`drumnb server` against a floor, measured in one run with `wrk` as the load generator.

The floor is the least a prediction server can be: a minimal Flask app (served
by Flask's own ``app.run``) that calls ``model.predict`` on the request body
and returns ``{"predictions": [...]}``.  Both sides serve the same model folder
(the bundled ``sklearn_regressor`` example: a 30-tree random forest), with one
math thread per process (``OMP_NUM_THREADS=1`` and the like).

Measured:
  * start-up: launch to the first 200 on /health/ (median of --repeat runs);
  * p50 / p99 latency, one connection, 1-row and 1000-row requests, raw CSV
    body and multipart field X;
  * throughput, 4 connections, 1000-row requests: the floor, drumnb in one
    process, drumnb with --max-workers 2.

Targets (issue "Prediction server"): p50 within 1.2x of the floor; start-up
within 1.5x; 2-worker throughput at least 1.3x single-process.

Then the peer comparison: the shared script ``../shared/bench/peer_server_bench.py``
(beside the project, when it is there) serves the same Ridge with drumnb and
with MLServer 1.7.1 and prints ratios from one run; it runs twice, one
process each and ``--max-workers 2`` against MLServer's ``parallel_workers: 2``,
and the ratios are printed with their targets (issue "A serving runtime you
can trust under load"): 1-row p50 <= 0.9x MLServer's, throughput >= 1.1x for
1-row and 1000-row requests, start-up <= 0.7x, and 2 workers >= 1.1x.

    python benchmarks/server_bench.py [--quick] [--seconds S] [--rounds N] [--repeat N]
                                      [--peer-only | --no-peer] [--peer-seconds S]

The machine this runs on is often shared: the sides alternate in short runs
and medians are reported, so that bursts of other work hit every side alike.

Needs `wrk` (Debian package `wrk`).  Binds 127.0.0.1 only; every server it
starts is stopped by PID.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

HOST = "127.0.0.1"
THREAD_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                     "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "TF_NUM_INTRAOP_THREADS")}

FLOOR_APP = '''
import logging
import sys
from flask import Flask, jsonify, request
from drumnb.model import load_model

model = load_model(sys.argv[1], "regression")
app = Flask(__name__)
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request, as drumnb by default


@app.get("/health/")
def health():
    return {"message": "OK"}


@app.post("/predict/")
def predict():
    body = request.files["X"].read() if request.files else request.get_data()
    return jsonify({"predictions": model.predict(body)["Predictions"].tolist()})


app.run(host="127.0.0.1", port=int(sys.argv[2]))
'''

#: drumnb's app with every model call on its one model thread, as for a model with hooks (for comparison:
#: a built-in scikit-learn model without hooks is called on the request threads, concurrently).
DIRECT_APP = '''
import sys
from drumnb.model import load_model
from drumnb.server.app import create_app
from drumnb.server.runner import make_wsgi_server

app = create_app(load_model(sys.argv[1], "regression"), serialize=True)
make_wsgi_server(app, "127.0.0.1", int(sys.argv[2])).serve_forever()
'''

WRK_SCRIPT = '''
local f = assert(io.open("{body}", "rb"))
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "{content_type}"
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def health(port: int) -> int | None:
    import http.client

    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        conn.request("GET", "/health/")
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


class Server:
    """A server process on a free port; ``seconds_to_ready`` from launch to the first 200 on /health/."""

    def __init__(self, command: list[str], env: dict[str, str], timeout: float = 120.0):
        self.port = free_port()
        command = [part.replace("{port}", str(self.port)) for part in command]
        self.log = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe would stall the server
        started = time.perf_counter()
        self.proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + timeout
        while health(self.port) != 200:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                self.log.seek(0)
                err = self.log.read().decode(errors="replace")
                raise SystemExit(f"server did not start: {' '.join(command)}\n{err[-2000:]}")
            time.sleep(0.01)
        self.seconds_to_ready = time.perf_counter() - started

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class WrkResult:
    p50_ms: float
    p99_ms: float
    rps: float
    requests: int
    errors: int


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk(port: int, script: str, *, connections: int, seconds: float, threads: int = 1) -> WrkResult:
    """One wrk run; a run with no answer at all (a stall of the busy machine) is tried once more."""
    try:
        return _wrk(port, script, connections=connections, seconds=seconds, threads=threads)
    except NoAnswer:
        return _wrk(port, script, connections=connections, seconds=seconds, threads=threads)


class NoAnswer(Exception):
    pass


def _wrk(port: int, script: str, *, connections: int, seconds: float, threads: int) -> WrkResult:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
           "--timeout", "30s", "-s", script, f"http://{HOST}:{port}/predict/"]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=seconds + 60).stdout
    lat = {p: _ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.MULTILINE)}
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    if total == 0 or not lat.get("50"):
        raise NoAnswer(f"wrk got no answer from port {port}:\n{out}")
    return WrkResult(lat["50"], lat["99"], float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
                     total, errors)


def bodies(folder: str, csv_path: str, work: str) -> dict[str, tuple[str, str]]:
    """``{case: (body file, content type)}`` for 1 / 1000 rows, raw and multipart."""
    import pandas as pd
    import requests

    X = pd.read_csv(csv_path)
    rows = {"1": X.head(1), "1000": pd.concat([X] * (1000 // len(X) + 1), ignore_index=True).head(1000)}
    out = {}
    for n, frame in rows.items():
        csv = frame.to_csv(index=False).encode()
        path = os.path.join(work, f"raw{n}.csv")
        with open(path, "wb") as fh:
            fh.write(csv)
        out[f"{n} row(s), raw"] = (path, "text/csv")
        prepared = requests.Request("POST", "http://x/", files={"X": ("X.csv", csv)}).prepare()
        path = os.path.join(work, f"multipart{n}.bin")
        with open(path, "wb") as fh:
            fh.write(prepared.body)
        out[f"{n} row(s), multipart"] = (path, prepared.headers["Content-Type"])
    return out


def script_for(work: str, name: str, body: str, content_type: str) -> str:
    path = os.path.join(work, f"{name}.lua")
    with open(path, "w") as fh:
        fh.write(WRK_SCRIPT.format(body=body, content_type=content_type))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test, noisy numbers)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="seconds per latency wrk run (default 1; throughput runs take at least 2)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="alternating wrk runs per side and case (default 9; quick 2): the median is reported")
    parser.add_argument("--repeat", type=int, default=None, help="start-up measurements per side (default 3)")
    parser.add_argument("--peer-only", action="store_true", help="only the comparison with MLServer")
    parser.add_argument("--no-peer", action="store_true", help="skip the comparison with MLServer")
    parser.add_argument("--peer-seconds", type=float, default=None,
                        help="seconds per throughput run of the peer comparison (default 20; quick 5)")
    args = parser.parse_args()
    if args.peer_only:
        return peer_comparison(args)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    seconds = args.seconds or 1.0
    rounds = args.rounds or (2 if args.quick else 9)
    repeat = args.repeat or (1 if args.quick else 3)

    from drumnb.examples import build

    work = tempfile.mkdtemp(prefix="drumnb-server-bench-")
    try:
        folder = build(work, names=["sklearn_regressor"])["sklearn_regressor"]
        env = {**os.environ, **THREAD_ENV, "PYTHONUNBUFFERED": "1"}
        floor_py, direct_py = os.path.join(work, "floor_app.py"), os.path.join(work, "direct_app.py")
        for path, text in ((floor_py, FLOOR_APP), (direct_py, DIRECT_APP)):
            with open(path, "w") as fh:
                fh.write(text)
        sides = {
            "floor": [sys.executable, floor_py, folder, "{port}"],
            "drumnb": [sys.executable, "-m", "drumnb", "server", "-cd", folder, "--target-type", "regression",
                       "--address", f"{HOST}:{{port}}"],
        }
        two_workers = sides["drumnb"] + ["--max-workers", "2"]
        cases = bodies(folder, os.path.join(work, "data", "sklearn_regressor.csv"), work)
        scripts = {case: script_for(work, f"case{i}", *spec) for i, (case, spec) in enumerate(cases.items())}

        print(f"model: {folder} (random forest, 10 features); {rounds} x {seconds:.0f}s wrk runs per side; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
              f"{', '.join(f'{k}=1' for k in THREAD_ENV)}\n")
        # 1. start-up
        startup = {side: [] for side in sides}
        for _ in range(repeat):
            for side, cmd in sides.items():
                with Server(cmd, env) as server:
                    startup[side].append(server.seconds_to_ready)
        start = {side: statistics.median(v) for side, v in startup.items()}
        print(f"start-up to first 200 on /health/ (median of {repeat}): floor {start['floor']:.2f}s, "
              f"drumnb {start['drumnb']:.2f}s, ratio {start['drumnb'] / start['floor']:.2f} (target <= 1.5)\n")

        # 2. latency, one connection; the two sides alternate, so that drift of the machine hits both
        results: dict[tuple[str, str], list[WrkResult]] = {}
        direct = [sys.executable, direct_py, folder, "{port}"]
        with Server(sides["floor"], env) as floor, Server(sides["drumnb"], env) as ours, \
                Server(direct, env) as ours_direct:
            servers = {"floor": floor, "drumnb": ours, "direct": ours_direct}
            for case, script in scripts.items():
                for server in servers.values():
                    wrk(server.port, script, connections=1, seconds=1)  # warm-up
                for _ in range(rounds):
                    for side, server in servers.items():
                        results.setdefault((side, case), []).append(
                            wrk(server.port, script, connections=1, seconds=seconds))
        print(f"{'latency, 1 connection':<26}{'floor p50':>10}{'drumnb p50':>11}{'ratio':>7}"
              f"{'floor p99':>11}{'drumnb p99':>11}{'ratio':>7}{'errors':>8}   (calls serialized: p50)")
        worst = 0.0
        for case in scripts:
            f, d = results["floor", case], results["drumnb", case]
            f50, d50 = statistics.median(r.p50_ms for r in f), statistics.median(r.p50_ms for r in d)
            f99, d99 = statistics.median(r.p99_ms for r in f), statistics.median(r.p99_ms for r in d)
            worst = max(worst, d50 / f50)
            x50 = statistics.median(r.p50_ms for r in results["direct", case])
            print(f"{case:<26}{f50:>8.2f}ms{d50:>9.2f}ms{d50 / f50:>7.2f}{f99:>9.2f}ms{d99:>9.2f}ms{d99 / f99:>7.2f}"
                  f"{sum(r.errors for r in f + d):>8}   ({x50:.2f}ms)")
        print(f"worst p50 ratio {worst:.2f} (target <= 1.2)\n")

        # 3. throughput, 4 connections, 1000 rows; the servers alternate
        script = scripts["1000 row(s), raw"]
        tput: dict[str, list[WrkResult]] = {}
        commands = {"floor": sides["floor"], "drumnb, 1 process": sides["drumnb"],
                    "drumnb, --max-workers 2": two_workers,
                    "(1 process, calls serialized)": [sys.executable, direct_py, folder, "{port}"]}
        with Server(commands["floor"], env) as a, Server(commands["drumnb, 1 process"], env) as b, \
                Server(commands["drumnb, --max-workers 2"], env) as c, \
                Server(commands["(1 process, calls serialized)"], env) as d:
            servers = dict(zip(commands, (a, b, c, d)))
            for server in servers.values():
                wrk(server.port, script, connections=4, seconds=1, threads=2)  # warm-up (each worker)
            for _ in range(max(1, rounds // 2)):
                for name, server in servers.items():
                    tput.setdefault(name, []).append(wrk(server.port, script, connections=4,
                                                         seconds=max(2.0, seconds), threads=2))
        print("throughput, 4 connections, 1000-row raw CSV requests (median of rounds)")
        rps = {name: statistics.median(r.rps for r in runs) for name, runs in tput.items()}
        for name, runs in tput.items():
            print(f"  {name:<30}{rps[name]:>8.1f} req/s  ({rps[name] * 1000:>9.0f} rows/s, "
                  f"p50 {statistics.median(r.p50_ms for r in runs):.1f}ms, errors {sum(r.errors for r in runs)})")
        single, multi = rps["drumnb, 1 process"], rps["drumnb, --max-workers 2"]
        print(f"2 workers / 1 process: {multi / single:.2f} (target >= 1.3); "
              f"1 process / floor: {single / rps['floor']:.2f}; "
              f"serialized / concurrent model calls: {rps['(1 process, calls serialized)'] / single:.2f}")
        results_flat = [r for runs in results.values() for r in runs]
        tput_flat = [r for runs in tput.values() for r in runs]
        errors = sum(r.errors for r in results_flat + tput_flat)
        if errors:
            print(f"WARNING: {errors} failed requests")
        print(f"load average at the end: {os.getloadavg()[0]:.1f} (other work on the machine skews every figure)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if args.no_peer else peer_comparison(args)


#: The peer comparison: ratio name -> (target, whether higher is better), as the shared script names them.
PEER_TARGETS = {"start": (0.7, False), "p50_1row": (0.9, False), "throughput_1row": (1.1, True),
                "throughput_1000rows": (1.1, True)}
PEER_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.pardir, "shared",
                           "bench", "peer_server_bench.py")


def peer_comparison(args: argparse.Namespace) -> int:
    """Run ``../shared/bench/peer_server_bench.py`` (one process each, then 2 workers each) and print its ratios."""
    import json

    script = os.path.normpath(PEER_SCRIPT)
    if not os.path.exists(script):
        print(f"\npeer comparison skipped: {script} is not here (it lives beside the project, in shared/)")
        return 0
    seconds = args.peer_seconds or (5.0 if args.quick else 20.0)
    runs = {"one process each": [], "2 workers each": ["--drumnb-args", "--max-workers 2", "--mlserver-workers", "2"]}
    drumnb = os.path.join(os.path.dirname(sys.executable), "drumnb")
    failed = 0
    for title, extra in runs.items():
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            print(f"\nvs MLServer 1.7.1, {title} (load average {os.getloadavg()[0]:.1f}) ...", flush=True)
            done = subprocess.run([sys.executable, script, "--drumnb", drumnb, "--seconds", str(seconds),
                                   "--json", out.name, *extra], capture_output=True, text=True)
            if done.returncode != 0:
                print(done.stdout[-2000:] + done.stderr[-2000:])
                failed += 1
                continue
            print("\n".join(line for line in done.stdout.splitlines()
                            if not line.startswith(("installing", "WARNING"))))
            ratios = json.load(open(out.name))["ratios"]
        for name, (target, higher) in PEER_TARGETS.items():
            if title != "one process each" and name != "throughput_1row" and name != "throughput_1000rows":
                continue
            met = ratios[name] >= target if higher else ratios[name] <= target
            print(f"  {name:<22}{ratios[name]:>6.2f}  target {'>=' if higher else '<='} {target}  "
                  f"{'met' if met else 'NOT met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
