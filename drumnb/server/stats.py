"""The body of ``/stats/``: memory of the server processes and of the machine.

Keys follow DRUM: ``drum_info`` (one ``{cmdline, cpu_percent, mem, pid}`` per
process; secret values in the command lines are redacted, see :func:`redact`), ``mem_info`` (``avail, container_limit, container_max_used,
container_used, drum_rss, free, total``, in MB) and ``time_info`` (filled in
by the app from :meth:`Metrics.timing`).  drumnb adds ``steps``: time per step of a prediction
(:class:`StepStats`, the same steps as the ``Server-Timing`` header), and keeps the last requests
(:class:`RequestLog`) when asked to.  Under gunicorn the processes are
the master and all its workers, whichever worker answers.
"""
from __future__ import annotations

import collections
import itertools
import os
import re
import threading
import time
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


# --- the steps of a prediction: Server-Timing, /stats/, the last requests ---------------------------

#: Server-Timing names, in order: the model's steps (:data:`drumnb.model.STEPS`), then the answer's encoding.
TIMED_STEPS = ("read", "transform", "score", "post_process", "contract", "serialize")
SERVER_TIMING = "Server-Timing"
#: The header of a replayed request (its value: the kept request's id).
REPLAY_HEADER = "X-Drumnb-Replay-Of"


def server_timing(steps: "tuple[float | None, ...] | None", serialize: float | None) -> str:
    """The ``Server-Timing`` value: ``read;dur=0.412, score;dur=0.611, serialize;dur=0.090`` (milliseconds,
    three decimals, only the steps that ran).  ``steps`` are seconds in the order of :data:`TIMED_STEPS`."""
    parts = [f"{name};dur={sec * 1000:.3f}" for name, sec in zip(TIMED_STEPS, steps or ()) if sec is not None]
    if serialize is not None:
        parts.append(f"serialize;dur={serialize * 1000:.3f}")
    return ", ".join(parts)


def parse_server_timing(value: str) -> dict[str, float]:
    """``Server-Timing`` back into ``{step: milliseconds}`` (clients, panels and tests read it)."""
    out: dict[str, float] = {}
    for part in (value or "").split(","):
        name, _, rest = part.strip().partition(";")
        for param in rest.split(";"):
            key, _, number = param.strip().partition("=")
            if key == "dur" and name:
                try:
                    out[name] = float(number)
                except ValueError:
                    pass
    return out


class StepStats:
    """Seconds per step over every prediction, on the app's Prometheus registry (so that ``/stats/`` and
    ``/metrics`` add up all gunicorn workers): a count and a sum per step, children bound once."""

    def __init__(self, registry: Any, prefix: str = "drumnb"):
        from prometheus_client import Summary

        summary = Summary(f"{prefix}_step_seconds", "Time per step of a prediction", ["step"], registry=registry)
        self._name = f"{prefix}_step_seconds"
        self._children = tuple(summary.labels(step) for step in TIMED_STEPS)

    def observe(self, steps: "tuple[float | None, ...] | None", serialize: float | None) -> None:
        children = self._children
        for i, sec in enumerate(steps or ()):
            if sec is not None:
                children[i].observe(sec)
        if serialize is not None:
            children[-1].observe(serialize)

    def summary(self, registry: Any) -> dict[str, dict[str, float]]:
        """``{step: {"count", "total_ms", "avg_ms"}}`` for the steps that ran, in pipeline order."""
        sums: dict[str, float] = {}
        counts: dict[str, float] = {}
        for family in registry.collect():
            for sample in family.samples:
                step = sample.labels.get("step")
                if sample.name == self._name + "_sum":
                    sums[step] = sums.get(step, 0.0) + sample.value
                elif sample.name == self._name + "_count":
                    counts[step] = counts.get(step, 0.0) + sample.value
        return {step: {"count": int(counts[step]), "total_ms": round(sums.get(step, 0.0) * 1000, 3),
                       "avg_ms": round(sums.get(step, 0.0) * 1000 / counts[step], 3)}
                for step in TIMED_STEPS if counts.get(step)}


#: How much of a request's body is kept for replay (larger: only its head is kept, and it cannot be replayed).
REPLAY_BYTES = 64 * 1024
HEAD_BYTES = 1024


def _head(data: bytes, limit: int = HEAD_BYTES) -> str:
    text = data[:limit].decode("utf-8", "replace")
    return text + ("…" if len(data) > limit else "")


class RequestLog:
    """The last ``size`` prediction requests of this process (a ring buffer; thread-safe; bounded memory:
    a body is kept whole up to :data:`REPLAY_BYTES`, else only its first :data:`HEAD_BYTES`)."""

    def __init__(self, size: int = 50):
        self.size = size
        self._entries: "collections.deque[dict[str, Any]]" = collections.deque(maxlen=size)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, *, path: str, method: str, status: int, seconds: float, body: bytes | None,
            content_type: str | None, multipart: bool, output: bytes | None, output_type: str | None,
            steps: dict[str, float], replay_of: int | None = None) -> dict[str, Any]:
        body = body or b""
        entry = {"path": path, "method": method, "status": status, "ms": round(seconds * 1000, 3),
                 "time": time.time(), "input": {"head": _head(body), "bytes": len(body), "content_type": content_type,
                                                "multipart": multipart},
                 "output": {"head": _head(output or b""), "bytes": len(output or b""), "content_type": output_type},
                 "timings": steps, "replayable": 0 < len(body) <= REPLAY_BYTES, "replay_of": replay_of,
                 "_body": body if len(body) <= REPLAY_BYTES else None}
        with self._lock:
            entry["id"] = next(self._ids)
            self._entries.append(entry)
        return public(entry)

    def get(self, request_id: int) -> dict[str, Any] | None:
        with self._lock:
            return next((e for e in self._entries if e["id"] == request_id), None)

    def entries(self) -> list[dict[str, Any]]:
        """The kept requests, newest first, without their bodies."""
        with self._lock:
            return [public(e) for e in reversed(self._entries)]


def public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if not k.startswith("_")}
