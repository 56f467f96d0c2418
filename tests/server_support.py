"""Helpers for the server tests: model folders and real server processes on 127.0.0.1.

No tests here.  Every process a helper starts is stopped by PID in a fixture
finalizer (SIGTERM, then SIGKILL after a bound).
"""
from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
import requests
from fixtures import write_folder

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
FEATURES = ["a", "b", "c"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


def data(n: int = 5, seed: int = 0, columns=FEATURES) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, len(columns))), columns=list(columns))


class ServerProcess:
    """``python -m drumnb server ...`` (or any command) on 127.0.0.1 and a free port."""

    def __init__(self, args: list[str], *, env: dict | None = None, prefix: str = "", command: list[str] | None = None,
                 port: int | None = None):
        self.port = port or free_port()
        self.prefix = prefix
        self.url = f"http://{HOST}:{self.port}{prefix}"
        full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
        if command is None:
            command = [sys.executable, "-m", "drumnb", "server", *args, "--address", f"{HOST}:{self.port}"]
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"drumnb-test-server-{self.port}.log"
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(command, env=full_env, stdout=self._log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=str(ROOT))
        self.pid = self.proc.pid

    def output(self) -> str:
        self._log_file.flush()
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60.0, statuses=(200,)) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if requests.get(self.url + "/health/", timeout=2).status_code in statuses:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not ready within {timeout}s:\n{self.output()}")

    def children(self) -> list[int]:
        try:
            return [c.pid for c in psutil.Process(self.pid).children(recursive=True)]
        except psutil.Error:
            return []

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, wait; SIGKILL (the whole tree) if it does not end in time.  Returns the exit code."""
        kids = self.children() or getattr(self, "kids_at_stop", [])
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                for pid in kids:
                    with _suppress():
                        os.kill(pid, signal.SIGKILL)
                self.proc.kill()
                self.proc.wait(10)
        for pid in kids:  # never leave a worker behind, even when a test failed
            with _suppress():
                os.kill(pid, signal.SIGKILL)
        self._log_file.close()
        with _suppress():
            self.log_path.unlink()
        return self.proc.returncode

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, timeout=kw.pop("timeout", 30), **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return requests.post(self.url + path, timeout=kw.pop("timeout", 60), **kw)


def workers_of(server) -> list[int]:
    """The PIDs of a server's worker processes (the gunicorn master's children), sorted."""
    try:
        return sorted(c.pid for c in psutil.Process(server.pid).children())
    except psutil.Error:
        return []


def wait_for(predicate, timeout: float = 30.0, step: float = 0.2):
    """``predicate()``'s first true value, polled every ``step`` s for at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        return exc_type is not None and issubclass(exc_type, (ProcessLookupError, OSError, FileNotFoundError))


@pytest.fixture(scope="module")
def start_server(request):
    """``start_server(args, env=, prefix=, statuses=)`` -> a ready ServerProcess, stopped after the module."""
    started: list[ServerProcess] = []

    def start(args, *, env=None, prefix="", statuses=(200,), wait=True, command=None, timeout=60.0):
        server = ServerProcess(list(args), env=env, prefix=prefix, command=command)
        started.append(server)
        return server.wait_ready(timeout, statuses) if wait else server

    yield start
    stop_all(started)


def stop_all(servers) -> None:
    """SIGTERM every server at once, then wait for each (and SIGKILL what is left)."""
    for server in servers:
        if server.proc.poll() is None:
            server.kids_at_stop = server.children()
            server.proc.send_signal(signal.SIGTERM)
    for server in servers:
        server.stop()


# --- model folders ------------------------------------------------------------------------------

def linear_folder(root: Path):
    """A scikit-learn LinearRegression on columns a, b, c (declared: feature_names_in_)."""
    from sklearn.linear_model import LinearRegression

    X = data(50, seed=1)
    y = X.to_numpy() @ np.array([1.0, 2.0, 3.0]) + 0.123456789012345
    return write_folder(root, "linear", files={"model.pkl": LinearRegression().fit(X, y)})


def binary_folder(root: Path):
    from sklearn.linear_model import LogisticRegression

    X = data(60, seed=2)
    y = np.where(X["a"] + X["b"] > 0, "yes", "no")
    return write_folder(root, "binary", files={"model.pkl": LogisticRegression().fit(X, y)})


def multiclass_folder(root: Path):
    from sklearn.tree import DecisionTreeClassifier

    X = data(60, seed=3)
    y = np.array(["red", "green", "blue"])[np.argmax(X.to_numpy(), axis=1)]
    return write_folder(root, "multiclass", files={"model.pkl": DecisionTreeClassifier(random_state=0).fit(X, y)})


HOOKS = """
    import time

    import pandas as pd

    def load_model(code_dir):
        return "model"

    def score(data, model, **kwargs):
        if "sleep" in data.columns:
            time.sleep(float(data["sleep"].iloc[0]))
        if "boom" in data.columns and (data["boom"] > 0).any():
            raise RuntimeError("boom column is positive")
        out = pd.DataFrame({"Predictions": data["a"].astype(float) / 3.0})
        out["note"] = ["row%d" % i for i in range(len(data))]
        out["double"] = data["a"].astype(float) * 2
        return out
"""

WIDE = """
    import pandas as pd

    def load_model(code_dir):
        return "model"

    def score(data, model, **kwargs):
        return pd.DataFrame({"Predictions": data.iloc[:, 0].astype(float)})
"""

BROKEN = """
    def load_model(code_dir):
        raise ValueError("the weights file is corrupt")
"""


def hooks_folder(root: Path):
    return write_folder(root, "hooks", HOOKS)


def wide_folder(root: Path):
    return write_folder(root, "wide", WIDE)


def broken_folder(root: Path):
    return write_folder(root, "broken", BROKEN)


def transform_folder(root: Path):
    from sklearn.preprocessing import StandardScaler

    return write_folder(root, "scaler", files={"model.pkl": StandardScaler().fit(data(40, seed=4))})


def read_csv(content: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(content))
