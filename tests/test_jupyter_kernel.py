"""A real kernel (jupyter_client) serving with %drum_serve: its servers never outlive it.

* killed with SIGKILL: the server child is gone and its port free within seconds
  (parent-death signal, pipe and parent watch in drumnb.jupyter._child);
* shut down normally: every server is stopped (atexit), the registry is empty;
* interrupted (SIGINT to the kernel's process group): the server keeps serving.
"""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

from jupyter_support import execute, port_free  # noqa: E402

pytestmark = pytest.mark.timeout(180)

HOOKS = """%%drum_hooks k
import pandas as pd

def load_model(code_dir):
    return 3

def score(data, model, **kwargs):
    return pd.DataFrame({"Predictions": data.sum(axis=1) * model})
"""


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    from jupyter_client.manager import start_new_kernel

    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), startup_timeout=60)
    yield km, kc, runtime
    kc.stop_channels()
    if km.is_alive():
        km.shutdown_kernel(now=True)
    km.cleanup_resources()


def start_server(kc) -> tuple[int, int]:
    assert execute(kc, "%load_ext drumnb")[0] == "ok"
    status, out = execute(kc, HOOKS)
    assert status == "ok", out
    status, out = execute(kc, "import json\nsrv = %drum_serve k\nprint(json.dumps([srv.pid, srv.port]))")
    assert status == "ok", out
    pid, port = json.loads(out.strip().splitlines()[-1])
    return pid, port


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # exited, not yet reaped by init
    except OSError:
        return True


def wait_for(predicate, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds}s")


def registry_pids(runtime) -> list[int]:
    folder = runtime / "drumnb-servers"
    return sorted(int(p.stem.split("-")[1]) for p in folder.glob("server-*.json")) if folder.exists() else []


def test_sigkill_of_the_kernel_takes_its_server_down(kernel):
    km, kc, runtime = kernel
    pid, port = start_server(kc)
    assert not port_free(port) and registry_pids(runtime) == [pid]
    import requests

    r = requests.post(f"http://127.0.0.1:{port}/predict/", data=b"a,b\n1,2\n", headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and "9" in r.text
    kernel_pid = km.provisioner.process.pid
    os.kill(kernel_pid, signal.SIGKILL)
    took = wait_for(lambda: gone(pid), 5)
    wait_for(lambda: port_free(port), 5)
    print(f"server gone {took:.2f}s after the kernel's SIGKILL")
    # the entry is removed by the server on its way out (SIGTERM from the parent-death signal),
    # or, at the latest, by the next reader
    from drumnb.jupyter import registry

    assert registry.entries() == [] and registry_pids(runtime) == []


def test_interrupt_keeps_the_server_and_shutdown_stops_it(kernel):
    km, kc, runtime = kernel
    pid, port = start_server(kc)
    km.interrupt_kernel()  # SIGINT to the kernel's process group: the server has its own session
    time.sleep(0.5)
    assert not gone(pid)
    assert execute(kc, "print(srv.status, srv.client.health())")[1].strip() == "running {'message': 'OK'}"
    km.shutdown_kernel(now=False)
    wait_for(lambda: gone(pid), 10)
    wait_for(lambda: port_free(port), 5)
    assert registry_pids(runtime) == []
