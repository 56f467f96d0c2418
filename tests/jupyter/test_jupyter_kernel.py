"""A real kernel (jupyter_client) serving with %drum_serve: its servers never outlive it.

* killed with SIGKILL: the server child is gone and its port free within seconds
  (parent-death signal, pipe and parent watch in drumnb.jupyter._child);
* shut down normally: every server is stopped (atexit), the registry is empty;
* interrupted (SIGINT to the kernel's process group): the server keeps serving;
* the handle says what the process is after the sidebar stopped it; the reload route refuses other
  origins; behind JupyterHub the browser URL goes through jupyter-server-proxy (a real Jupyter server).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

from jupyter_support import execute, port_free  # noqa: E402
from server_support import wait_for  # noqa: E402

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




#: generous: a loaded 2-core CI machine once took more than 5 s (the stop itself takes well under 1 s)
GONE_WITHIN = 15


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
    killed = time.monotonic()
    wait_for(lambda: gone(pid), GONE_WITHIN, step=0.05)
    took = time.monotonic() - killed
    wait_for(lambda: port_free(port), GONE_WITHIN, step=0.05)
    print(f"server gone {took:.2f}s, port free {time.monotonic() - killed:.2f}s after the kernel's SIGKILL")
    # the entry is removed by the server on its way out (SIGTERM from the parent-death signal),
    # or, at the latest, by the next reader
    from drumnb import server_registry as registry

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


# --- the handle, the reload route, the hub proxy (servers started from this process) ---------------

@pytest.fixture
def served(tmp_path, monkeypatch):
    """A %drum_serve server of a tiny model, started from the test process through the launcher."""
    from drumnb.jupyter import launcher

    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    folder = tmp_path / "k"
    folder.mkdir()
    (folder / "custom.py").write_text(HOOKS.split("\n", 1)[1])
    started: list = []

    def start(**kwargs):
        started.append(launcher.start(f"k{len(started)}", str(folder), "regression", **kwargs))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def test_the_reload_route_refuses_other_origins_and_plain_forms(served):
    import requests

    from drumnb.jupyter import launcher

    srv = served()
    url = srv.url + "/_drumnb/reload/"
    own = f"http://127.0.0.1:{srv.port}"
    header = {"X-Drumnb-Reload": "1"}
    r = requests.post(url, headers={**header, "Origin": "https://evil.example"}, timeout=30)
    assert r.status_code == 403 and "another origin" in r.json()["message"]
    r = requests.post(url, data={"a": "1"}, headers={"Origin": own}, timeout=30)  # what a form sends
    assert r.status_code == 403 and "X-Drumnb-Reload" in r.json()["message"]
    r = requests.post(url, headers={**header, "Origin": own}, timeout=30)
    assert r.status_code == 200 and r.json()["ok"], r.text
    assert srv.reload()["ok"]  # the handle's own call sends the header
    assert [name for name, _, answer in launcher.reload_folder(srv.code_dir) if answer.get("ok")] == [srv.name]


def test_the_handle_says_what_the_process_is_after_the_sidebar_stops_it(served):
    from drumnb.labext.handlers import stop_server

    srv = served()
    assert srv.status == "running" and "running" in srv._repr_html_()
    assert stop_server(srv.pid)["stopped"]  # the sidebar's Stop: SIGTERM by PID
    wait_for(lambda: not srv.running, 10)
    assert srv.status == "exited (code 0)" and "exited (code 0)" in srv._repr_html_()
    assert "exited (code 0)" in repr(srv) and "#cf222e" in srv._repr_html_()
    srv.stop()
    assert srv.status == "exited (code 0)"


def test_behind_jupyterhub_the_browser_url_goes_through_jupyter_server_proxy(served, tmp_path, monkeypatch):
    pytest.importorskip("jupyter_server_proxy")
    import requests

    from drumnb import supervisor
    from drumnb.server import serve
    from drumnb.server.background import free_port

    jport, prefix = free_port(), "/user/ada/"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTERHUB_SERVICE_PREFIX": prefix}
    hub = supervisor.spawn([sys.executable, "-m", "jupyter_server", "--allow-root", "--no-browser",
                            "--ip", "127.0.0.1", "--port", str(jport), "--port-retries=0",
                            f"--ServerApp.base_url={prefix}", "--IdentityProvider.token=",
                            "--ServerApp.password=", f"--ServerApp.root_dir={tmp_path}"],
                           env=env, ready_line=False)

    def up() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{jport}{prefix}api/status", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        hub.wait_ready(60, probe=up)
        monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", prefix)  # as the hub sets it in the kernel
        srv = served()
        assert srv.browser_url == f"{prefix}proxy/{srv.port}/"
        with serve(srv.code_dir, "regression", process=True) as background:
            port = int(background.url.rsplit(":", 1)[1])
            assert background.browser_url == f"{prefix}proxy/{port}/"
            assert background.browser_url in repr(background)
            for browser_url in (srv.browser_url, background.browser_url):
                r = requests.get(f"http://127.0.0.1:{jport}{browser_url}health/", timeout=30)
                assert r.status_code == 200 and r.json() == {"message": "OK"}, (browser_url, r.text[:300])
    finally:
        hub.stop()
