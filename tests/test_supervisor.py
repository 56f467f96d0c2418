"""drumnb.supervisor on real child processes: ready line or probe, log tail on failure, graceful stop,
SIGKILL after the grace period, the state after an outside kill, and the lifeline of a child whose parent
is killed with SIGKILL."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from server_support import wait_for

from drumnb import supervisor

pytestmark = pytest.mark.timeout(120)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def gone(pid: int) -> bool:
    return not supervisor.pid_alive(pid)




def test_ready_line_is_returned_and_the_log_gets_the_rest(tmp_path):
    log = tmp_path / "child.log"
    child = supervisor.spawn(python("""
        import sys, time
        from drumnb import supervisor
        print("loading", file=sys.stderr, flush=True)
        supervisor.announce_ready({"ok": True, "port": 1234})
        print("after ready: to the log", flush=True)
        time.sleep(60)
    """), log_path=str(log))
    try:
        assert child.wait_ready(30) == {"ok": True, "port": 1234}
        assert child.status == "running" and child.is_alive()
        wait_for(lambda: "after ready: to the log" in child.logs(), 10)
        assert child.logs(1) == "after ready: to the log"
    finally:
        assert child.stop() == -signal.SIGTERM  # no handler: SIGTERM ends it at once
    assert child.status == "stopped" and log.exists()  # a log we named is ours to keep


def test_ready_timeout_stops_the_child_and_shows_the_log_tail():
    child = supervisor.spawn(python("""
        import sys, time
        for i in range(30):
            print(f"line {i}", file=sys.stderr)
        print("still loading the weights", file=sys.stderr, flush=True)
        time.sleep(60)
    """))
    with pytest.raises(supervisor.NotReady) as info:
        child.wait_ready(3, tail_lines=5)
    exc = info.value
    assert exc.reason == "timeout" and "within 3s" in str(exc)
    assert exc.tail.splitlines() == ["line 26", "line 27", "line 28", "line 29", "still loading the weights"]
    assert not child.is_alive() and child.status == "stopped"
    assert not os.path.exists(child.log_path)  # a temporary log goes with the child


def test_a_child_that_exits_or_refuses_before_ready():
    child = supervisor.spawn(python("""
        import sys
        print("ImportError: no module named 'weights'", file=sys.stderr)
        sys.exit(3)
    """))
    with pytest.raises(supervisor.NotReady) as info:
        child.wait_ready(30)
    assert info.value.reason == "exited" and info.value.returncode == 3
    assert "exited with code 3" in str(info.value) and "no module named 'weights'" in info.value.tail

    child = supervisor.spawn(python("""
        from drumnb import supervisor
        supervisor.announce_ready({"ok": False, "error": "port 1 is taken"})
    """))
    with pytest.raises(supervisor.NotReady) as info:
        child.wait_ready(30)
    assert info.value.reason == "refused" and str(info.value) == "port 1 is taken"


def test_probe_readiness_for_a_child_without_a_ready_line(tmp_path):
    flag = tmp_path / "ready"
    child = supervisor.spawn(python(f"""
        import pathlib, time
        time.sleep(0.3)
        pathlib.Path({str(flag)!r}).write_text("yes")
        time.sleep(60)
    """), ready_line=False)
    try:
        assert child.wait_ready(30, probe=flag.exists) == {}
    finally:
        child.stop()


def test_graceful_stop_then_sigkill_after_the_grace_period(tmp_path):
    log = tmp_path / "graceful.log"
    child = supervisor.spawn(python("""
        import signal, sys, time
        from drumnb import supervisor
        signal.signal(signal.SIGTERM, lambda *a: (print("finishing", file=sys.stderr, flush=True), sys.exit(0)))
        supervisor.announce_ready({"ok": True})
        time.sleep(60)
    """), log_path=str(log))
    child.wait_ready(30)
    assert child.stop() == 0 and "finishing" in log.read_text()

    child = supervisor.spawn(python("""
        import signal, time
        from drumnb import supervisor
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.announce_ready({"ok": True})
        time.sleep(60)
    """))
    child.wait_ready(30)
    started = time.monotonic()
    assert child.stop(grace=0.5) == -signal.SIGKILL
    took = time.monotonic() - started
    print(f"a child ignoring SIGTERM was killed {took:.2f}s after stop(grace=0.5)")
    assert took < 10 and child.status == "stopped"


def test_status_after_an_outside_kill():
    children = [supervisor.spawn(python("""
        import time
        from drumnb import supervisor
        supervisor.announce_ready({"ok": True})
        time.sleep(60)
    """)) for _ in range(2)]
    for child in children:
        child.wait_ready(30)
    os.kill(children[0].pid, signal.SIGKILL)
    os.kill(children[1].pid, signal.SIGTERM)
    wait_for(lambda: not children[0].is_alive() and not children[1].is_alive(), 10)
    assert [c.status for c in children] == ["killed (SIGKILL)", "killed (SIGTERM)"]
    for child in children:
        child.release()


PARENT = """
import json, time
from drumnb import supervisor

child = supervisor.spawn(supervisor.lifeline_argv("sleeper"), ready_line=False)
child.wait_ready(30, probe=lambda: True)
print(json.dumps(child.pid), flush=True)
time.sleep(120)
"""

SLEEPER = """
import os, signal, sys, time
# a program with a graceful stop of its own (as `drumnb server`): SIGINT / SIGTERM end it
signal.signal(signal.SIGINT, lambda *a: sys.exit(0))
worker = os.fork()  # a worker in its process group, as a gunicorn master has
if worker == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    time.sleep(120)
    os._exit(0)
print(worker, file=sys.stderr, flush=True)
time.sleep(120)
"""


def test_a_lifeline_child_and_its_workers_go_when_the_parent_is_killed(tmp_path):
    (tmp_path / "sleeper.py").write_text(SLEEPER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, env=env)
    try:
        pid = json.loads(parent.stdout.readline())
        time.sleep(0.5)  # the worker forked
        import psutil

        workers = [p.pid for p in psutil.Process(pid).children()]
        assert len(workers) == 1
        parent.kill()
        killed = time.monotonic()
        wait_for(lambda: gone(pid) and all(gone(w) for w in workers), 15, step=0.05)
        print(f"the child and its SIGTERM-proof worker were gone {time.monotonic() - killed:.2f}s after the "
              "parent's SIGKILL")
        parent.wait(10)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        parent.stdout.close()


def test_stop_pid_ends_a_process_that_is_not_ours_and_its_workers():
    """The sidebar's Stop (by PID, from the Jupyter server): SIGTERM, then SIGKILL to the process group."""
    child = supervisor.spawn(python("""
        import os, signal, time
        from drumnb import supervisor
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        worker = os.fork()
        if worker == 0:
            time.sleep(60)
            os._exit(0)
        supervisor.announce_ready({"ok": True, "worker": worker})
        time.sleep(60)
    """))
    worker = child.wait_ready(30)["worker"]
    assert supervisor.stop_pid(child.pid, grace=0.5) == "SIGKILL"
    wait_for(lambda: gone(child.pid) and gone(worker), 10, step=0.05)
    child.release()
    polite = supervisor.spawn(python("import time; time.sleep(60)"), ready_line=False)
    assert supervisor.stop_pid(polite.pid) == "SIGTERM" and not supervisor.pid_alive(polite.pid)
    polite.release()
