"""The body of ``/stats/``: memory of the server processes and of the machine.

Keys follow DRUM: ``drum_info`` (one ``{cmdline, cpu_percent, mem, pid}`` per
process; secret values in the command lines are redacted, see :func:`redact`), ``mem_info`` (``avail, container_limit, container_max_used,
container_used, drum_rss, free, total``, in MB) and ``time_info`` (filled in
by the app from :meth:`Metrics.timing`).  Under gunicorn the processes are
the master and all its workers, whichever worker answers.
"""
from __future__ import annotations

import os
import re
from typing import Any

import psutil

MB = 1024 * 1024
_UNLIMITED = 2**60  # cgroup v1 reports "no limit" as a number near 2**63
_processes: dict[int, psutil.Process] = {}  # kept so that cpu_percent measures since the last call


#: A flag or variable whose name holds one of these words carries a secret.
_SECRET_NAME = re.compile(r"token|secret|passw|key|credential|auth", re.IGNORECASE)
#: ``NAME=value`` in a command line (an environment assignment, or ``--name=value``).
_ASSIGNMENT = re.compile(r"^(-{0,2}[A-Za-z_][A-Za-z0-9_.-]*)=(.*)$", re.DOTALL)
REDACTED = "***"


def _secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) or name.upper().startswith("MLOPS_RUNTIME_PARAM_")


def redact(cmdline: list[str]) -> list[str]:
    """A command line with secret values replaced by ``***``: the value after a flag whose name holds
    token / secret / password / key / credential / auth (``--api-token VALUE``, ``--api-key=VALUE``), and
    ``NAME=VALUE`` assignments of such names or of ``MLOPS_RUNTIME_PARAM_*``."""
    out: list[str] = []
    hide_next = False
    for arg in cmdline:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        assignment = _ASSIGNMENT.match(arg)
        if assignment and _secret_name(assignment.group(1).lstrip("-")):
            out.append(f"{assignment.group(1)}={REDACTED}")
        elif arg.startswith("-") and not assignment and _secret_name(arg.lstrip("-")):
            out.append(arg)
            hide_next = True
        else:
            out.append(arg)
    return out


def _process(pid: int) -> psutil.Process:
    proc = _processes.get(pid)
    if proc is None or not proc.is_running():
        proc = _processes[pid] = psutil.Process(pid)
        proc.cpu_percent(None)
    return proc


def server_processes(root_pid: int | None = None) -> list[psutil.Process]:
    """``root_pid`` (the gunicorn master, else this process) and its children."""
    root = _process(root_pid or os.getpid())
    procs = [root]
    try:
        procs += [_process(child.pid) for child in root.children(recursive=False)]
    except psutil.Error:
        pass
    live = {p.pid for p in procs}
    for pid in [pid for pid in _processes if pid not in live]:
        del _processes[pid]
    return procs


def _read_int(path: str) -> int | None:
    try:
        with open(path) as fh:
            text = fh.read().strip()
    except OSError:
        return None
    if not text.isdigit():
        return None
    value = int(text)
    return None if value >= _UNLIMITED else value


def _cgroup_dirs() -> tuple[str | None, str | None]:
    """This process's memory cgroup folder: (cgroup v2 folder, cgroup v1 folder), either may be None."""
    v2 = v1 = None
    try:
        with open("/proc/self/cgroup") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None, None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "" and os.path.isfile("/sys/fs/cgroup/cgroup.controllers"):
            v2 = "/sys/fs/cgroup" + path.rstrip("/")
        elif "memory" in controllers.split(","):
            v1 = "/sys/fs/cgroup/memory" + path.rstrip("/")
    return v2, v1


def container_memory() -> dict[str, float | None]:
    """This process's cgroup (v2, else v1): memory limit, current and peak use in MB; None where unknown."""
    v2, v1 = _cgroup_dirs()
    limit = used = peak = None
    if v2 and os.path.isfile(os.path.join(v2, "memory.current")):
        limit = _read_int(os.path.join(v2, "memory.max"))
        used = _read_int(os.path.join(v2, "memory.current"))
        peak = _read_int(os.path.join(v2, "memory.peak"))
    elif v1 and os.path.isfile(os.path.join(v1, "memory.usage_in_bytes")):
        limit = _read_int(os.path.join(v1, "memory.limit_in_bytes"))
        used = _read_int(os.path.join(v1, "memory.usage_in_bytes"))
        peak = _read_int(os.path.join(v1, "memory.max_usage_in_bytes"))

    def mb(x: int | None) -> float | None:
        return None if x is None else round(x / MB, 1)

    return {"container_limit": mb(limit), "container_used": mb(used), "container_max_used": mb(peak)}


def memory_stats(root_pid: int | None = None, per_pid_predictions: dict[int, int] | None = None) -> dict[str, Any]:
    """``drum_info`` and ``mem_info`` of the processes under ``root_pid``."""
    info = []
    rss = 0
    for proc in server_processes(root_pid):
        try:
            with proc.oneshot():
                mem = proc.memory_info().rss
                entry = {"cmdline": redact(proc.cmdline()), "cpu_percent": proc.cpu_percent(None),
                         "mem": round(mem / MB, 1), "pid": proc.pid}
        except psutil.Error:
            continue
        if per_pid_predictions is not None and proc.pid in per_pid_predictions:
            entry["predictions"] = per_pid_predictions[proc.pid]
        rss += mem
        info.append(entry)
    vm = psutil.virtual_memory()
    mem_info = {"avail": round(vm.available / MB, 1), **container_memory(), "drum_rss": round(rss / MB, 1),
                "free": round(vm.free / MB, 1), "total": round(vm.total / MB, 1)}
    return {"drum_info": info, "mem_info": dict(sorted(mem_info.items()))}
