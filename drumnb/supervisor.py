"""Child processes that must not outlive the Python process that started them: the one supervisor.

Both ways of serving in a child process use it: ``drumnb.serve(path, process=True)``
(``server/background.py``, a ``drumnb server`` child) and ``%drum_serve``
(``jupyter/launcher.py``, a ``drumnb.jupyter._child`` child).  It knows no Flask and no Jupyter.

Parent side::

    child = spawn([sys.executable, "-m", "some.module", ...])   # own session, stdin a pipe, a log file
    message = child.wait_ready(30)        # the child's JSON ready line (or a probe), else NotReady with the log tail
    child.status                          # "running", "stopped", "exited (code 1)", "killed (SIGKILL)"
    child.stop()                          # SIGTERM, a grace period, then SIGKILL to its process group

Child side: :class:`Lifeline` ends the child when its parent goes, even by ``kill -9``, through three
independent watches: ``prctl(PR_SET_PDEATHSIG)`` (Linux signals the child the moment the parent dies;
set only when the parent spawned it from its main thread, since the signal follows the spawning
*thread*), end-of-file on stdin (a pipe whose only writer is the parent), and a poll of the parent PID
(re-parenting means the parent is gone).  A child that was asked to stop (SIGTERM) gets
:data:`GRACE_SECONDS` to finish its requests; one whose parent died gets :data:`ORPHAN_GRACE_SECONDS`
(nobody is left to wait for the answers).  :func:`announce_ready` writes the ready line.

``python -m drumnb.supervisor PARENT_PID[:nosig] MODULE ARGS...`` runs ``MODULE`` as ``__main__``
under a lifeline that sends it SIGINT (its own quick, graceful stop) when the parent goes and ends
its process group (workers it forked) when it returns or after the grace period: that is how a
program with no lifeline of its own (``drumnb server``, a gunicorn master and its workers) is supervised.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

GRACE_SECONDS = 3.0
ORPHAN_GRACE_SECONDS = 0.5
STOP_TIMEOUT = 5.0
PPID_POLL_SECONDS = 0.25


def tail(path: str | None, lines: int | None = None) -> str:
    """The last ``lines`` lines of the log file ``path`` (all of it when ``lines`` is None); "" if unreadable."""
    if not path:
        return ""
    try:
        with open(path, errors="replace") as fh:
            text = fh.read()
    except OSError:
        return ""
    if lines:
        text = "\n".join(text.rstrip("\n").splitlines()[-lines:])
    return text


def signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def pid_alive(pid: int) -> bool:
    """Whether a (non-zombie) process ``pid`` exists."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True


def stop_pid(pid: int, grace: float = STOP_TIMEOUT) -> str:
    """Stop a process that is not our child (listed in a registry): SIGTERM, ``grace`` seconds, then SIGKILL
    to it and, when it leads its process group (as :func:`spawn`'s children do), to its workers too.

    Returns the last signal sent ("SIGTERM" or "SIGKILL").
    """
    try:
        leader = os.getpgid(pid) == pid
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "SIGTERM"
    if _wait_gone(pid, grace):
        return "SIGTERM"
    if leader:
        _signal_group(pid, signal.SIGKILL)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _wait_gone(pid, 2.0)
    return "SIGKILL"


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# --- parent side -------------------------------------------------------------------------------

class NotReady(RuntimeError):
    """The child did not become ready: ``reason`` is "exited", "timeout" or "refused" (its ready line said so)."""

    def __init__(self, reason: str, message: str, *, tail: str = "", returncode: int | None = None,
                 answer: dict[str, Any] | None = None):
        super().__init__(message)
        self.reason, self.tail, self.returncode, self.answer = reason, tail, returncode, answer or {}


class Child:
    """A child process with a log file: its state, its ready line, its stop."""

    def __init__(self, process: subprocess.Popen, log_path: str, *, owns_log: bool):
        self.process = process
        self.log_path = log_path
        self.owns_log = owns_log
        self.stopped = False  # stop() ended it (the state then says "stopped", not how it ended)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def is_alive(self) -> bool:
        return self.process.poll() is None

    @property
    def status(self) -> str:
        """"running", "stopped" (by :meth:`stop`), "exited (code N)" or "killed (SIGNAME)"."""
        code = self.process.poll()
        if code is None:
            return "running"
        if self.stopped:
            return "stopped"
        return f"killed ({signal_name(code)})" if code < 0 else f"exited (code {code})"

    def logs(self, lines: int | None = None) -> str:
        return tail(self.log_path, lines)

    def wait_ready(self, timeout: float, *, probe: Callable[[], bool] | None = None,
                   tail_lines: int = 15) -> dict[str, Any]:
        """Wait for the child's JSON ready line on stdout (or, with ``probe``, for ``probe()`` to be true).

        Returns the ready line (``{}`` for a probe).  A line with ``"ok": false``, an exit or the
        timeout raise :class:`NotReady` with the log's last ``tail_lines`` lines; the child is then stopped.
        """
        deadline = time.monotonic() + timeout
        answer: dict[str, Any] | None = None
        try:
            while time.monotonic() < deadline and self.process.poll() is None:
                if probe is not None:
                    if probe():
                        return {}
                    time.sleep(0.1)
                    continue
                ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
                if ready:
                    line = self.process.stdout.readline()  # type: ignore[union-attr]
                    if line:
                        answer = _parse(line)
                        break
                    try:  # end of file: the child is exiting
                        self.process.wait(min(2.0, max(deadline - time.monotonic(), 0.1)))
                    except subprocess.TimeoutExpired:
                        pass
                    break
        except BaseException:  # Ctrl-C while waiting: the child must not outlive the wait
            self.stop()
            raise
        if answer is not None and answer.get("ok", True):
            return answer
        log_tail = self.logs(tail_lines).strip()
        if answer is not None:
            reason, message = "refused", str(answer.get("error") or "the child said it is not ready")
        elif self.process.poll() is not None:
            reason, message = "exited", f"exited with code {self.process.returncode}"
        else:
            reason, message = "timeout", f"did not become ready within {timeout:.0f}s"
        self.stop()
        raise NotReady(reason, message, tail=log_tail, returncode=self.process.returncode, answer=answer)

    def stop(self, grace: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM, ``grace`` seconds, then SIGKILL to its process group; returns the exit code."""
        proc = self.process
        if proc.poll() is None:  # one that had ended already keeps saying how it ended
            self.stopped = True
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()
        self.release()
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL the child and its process group (workers it forked) at once."""
        if self.process.poll() is None:  # alive (or not reaped): its PID is still its group's id
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)

    def release(self) -> None:
        """Close our ends of its pipes (the child sees end-of-file on stdin) and remove an owned log file."""
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        if self.owns_log:
            try:
                os.remove(self.log_path)
            except OSError:
                pass


def _signal_group(pgid: int, sig: int) -> None:
    """Signal process group ``pgid`` (the child's own session, see :func:`spawn`) if it still exists."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def spawn(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
          log_path: str | None = None, remove_log: bool | None = None, ready_line: bool = True) -> Child:
    """Start ``argv`` in its own session (a kernel interrupt to our process group does not reach it).

    stdin is a pipe only we write to (the child's lifeline); stderr goes to ``log_path`` (a temporary
    file when None), and stdout too unless the child writes a ``ready_line`` (then stdout is a pipe
    until :func:`announce_ready` points it at the log).  The log is removed on stop when
    ``remove_log`` (default: when it is a temporary file).
    """
    owns_log = log_path is None if remove_log is None else remove_log
    if log_path is None:
        fd, log_path = tempfile.mkstemp(prefix="drumnb-", suffix=".log")
        os.close(fd)
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(list(argv), stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE if ready_line else log_file, stderr=log_file,
                                   env=env, cwd=cwd, start_new_session=True)
    return Child(process, log_path, owns_log=owns_log)


def lifeline_argv(module: str, *args: str) -> list[str]:
    """The command that runs ``python -m module args...`` under a :class:`Lifeline` tied to this process."""
    me = str(os.getpid()) + ("" if threading.current_thread() is threading.main_thread() else ":nosig")
    return [sys.executable, "-m", "drumnb.supervisor", me, module, *args]


def pdeathsig_usable() -> bool:
    """Whether a child spawned now may use the parent-death signal (it follows the spawning thread)."""
    return threading.current_thread() is threading.main_thread()


# --- child side --------------------------------------------------------------------------------

def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """``prctl(PR_SET_PDEATHSIG, sig)`` through libc; False where unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(1, int(sig), 0, 0, 0) == 0  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


class Lifeline:
    """Ends this (child) process when its parent goes or asks: gracefully once serving, at once before.

    ``on_stop(grace)`` starts the program's own graceful stop (None: exit at once); after ``grace``
    seconds the process ends hard (:meth:`exit_now`, which runs ``on_exit`` first).  ``group``: the
    hard end takes the whole process group (forked workers) along.
    """

    def __init__(self, parent_pid: int, *, on_stop: Callable[[float], Any] | None = None, group: bool = False):
        self.parent_pid = parent_pid
        self.on_stop = on_stop
        self.group = group
        self.stopping = threading.Event()
        self.grace = GRACE_SECONDS
        self.on_exit: list[Callable[[], Any]] = []

    def attach(self, pdeathsig: bool, *, signals: bool = True, death_signal: int = signal.SIGTERM) -> bool:
        """Start the watches (and SIGTERM/SIGINT/SIGHUP handlers when ``signals``); False if the parent is gone.

        ``death_signal``: what the kernel sends this process when the parent dies (with ``pdeathsig``).
        """
        if pdeathsig:
            set_parent_death_signal(death_signal)
        if os.getppid() != self.parent_pid:  # the parent died before prctl took effect
            return False
        for target, name in ((self._watch_stdin, "drumnb-stdin"), (self._watch_parent, "drumnb-ppid")):
            threading.Thread(target=target, name=name, daemon=True).start()
        if signals:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, lambda signum, frame: self.stop(f"signal {signum}"))
        return True

    @property
    def orphaned(self) -> bool:
        return os.getppid() != self.parent_pid

    def _watch_stdin(self) -> None:
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        # only the parent writes to the pipe: it died, or it stops us after a SIGTERM we already got
        self.stop("the parent closed the pipe", orphan=True)

    def _watch_parent(self) -> None:
        while not self.stopping.is_set():
            if self.orphaned:
                self.stop("the parent is gone", orphan=True)
                return
            time.sleep(PPID_POLL_SECONDS)

    def stop(self, why: str, *, orphan: bool | None = None) -> None:
        if self.stopping.is_set():
            return
        # the parent-death signal is a SIGTERM too: by the time it arrives we were re-parented
        orphan = self.orphaned if orphan is None else orphan
        self.grace = ORPHAN_GRACE_SECONDS if orphan else GRACE_SECONDS
        self.stopping.set()
        _log(f"stopping: {why}")
        if self.on_stop is None:  # nothing started yet: nothing to finish
            self.exit_now(0)
        threading.Thread(target=self.on_stop, args=(self.grace,), name="drumnb-shutdown", daemon=True).start()
        # a request stuck in a hook must not keep the port: end hard after the grace period
        timer = threading.Timer(self.grace + 0.5, self.exit_now, args=(0,))
        timer.daemon = True
        timer.start()

    def exit_now(self, code: int) -> None:
        for fn in self.on_exit:
            try:
                fn()
            except Exception:  # noqa: BLE001
                pass
        try:
            sys.stderr.flush()
        except Exception:  # noqa: BLE001
            pass
        if self.group:
            _signal_group(os.getpgid(0), signal.SIGKILL)  # ends this process too
        os._exit(code)  # this is a supervised child, never the parent


def announce_ready(message: dict[str, Any]) -> None:
    """Write the ready line, then point stdout at the log (stderr): nobody reads the pipe after this."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()
    os.dup2(2, 1)


def _parse(line: bytes) -> dict[str, Any]:
    text = line.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    return data if isinstance(data, dict) else {"ok": False, "error": f"unexpected ready line: {text[:200]}"}


def _log(message: str) -> None:
    try:
        sys.stderr.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} drumnb.supervisor: {message}\n")
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass


def main(argv: list[str]) -> int:
    """``python -m drumnb.supervisor PARENT_PID[:nosig] MODULE ARGS...``: MODULE as __main__, on a lifeline."""
    import runpy

    parent, _, flag = argv[0].partition(":")
    module, args = argv[1], argv[2:]
    lifeline = Lifeline(int(parent), group=os.getpgid(0) == os.getpid(),
                        on_stop=lambda grace: os.kill(os.getpid(), signal.SIGINT))
    # the parent-death signal is SIGINT: the program's own quick stop (KeyboardInterrupt in Python's
    # default), bounded by the ppid watch's (short) orphan grace
    if not lifeline.attach(pdeathsig=flag != "nosig", signals=False, death_signal=signal.SIGINT):
        return 0
    sys.argv = [module, *args]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        if lifeline.stopping.is_set() or lifeline.orphaned:  # the parent went: leave no worker behind
            lifeline.exit_now(0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
