"""The embedded R: started once per process, lazily, with drumnb's R helpers (``support.R``) loaded.

Starting R leaves the process environment as it was (except R's own location), never blocks on stdin,
and is refused once a JVM runs in this process (R loading packages after the JVM started crashes it).
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import warnings
from importlib import resources
from typing import Any

from ...core.errors import ArtifactError

log = logging.getLogger("drumnb")


class RWarning(UserWarning):
    """A warning raised by R code (``warning(...)`` in R), with R's message."""


class RRuntimeUnavailable(ArtifactError):
    """R (or rpy2) cannot run in this process."""


# --- the embedded R -----------------------------------------------------------------------------

R_LOCK = threading.RLock()  # R is single-threaded: every call into it holds this lock
_state: dict[str, Any] = {}


def _support_source() -> str:
    """drumnb's R helpers, the package data file ``support.R`` beside this module."""
    return resources.files(__package__).joinpath("support.R").read_text(encoding="utf-8")


def _jvm_started() -> bool:
    jpype = sys.modules.get("jpype")
    try:
        return bool(jpype and jpype.isJVMStarted())
    except Exception:  # noqa: BLE001
        return False


def refuse_after_jvm(what: str) -> None:
    if _jvm_started():
        raise RRuntimeUnavailable(
            f"cannot load {what}: a Java virtual machine already runs in this process (a Java/H2O model was "
            "loaded first), and R loading its packages after the JVM started crashes the process",
            hint="score R and Java models in separate processes (one 'drumnb score' or 'drumnb server' per "
                 "model; in a notebook, %drum_serve the R model: it runs in its own process), or load the R "
                 "model before any Java model in the same process")


def _console(text: str) -> None:
    try:
        sys.stderr.write(text)
    except Exception:  # noqa: BLE001 - never let R's console output break a call
        pass


_RPY2_ENV_WARNING = r'Environment variable "[^"]*" redefined by R'
#: Variables R's start sets that the running R still reads (``R.home("share")`` and the like).  They
#: name this R installation, so a child process that inherits them is not misled; all the others
#: (LD_LIBRARY_PATH with R's and the JVM's library folders, R_SESSION_TMPDIR, PAGER, EDITOR, TAR,
#: R_LIBS_*, PWD, PYTHON_SESSION_INITIALIZED...) are put back as they were, so that no process
#: drumnb (or the user) starts afterwards inherits them.
_R_LOCATION_VARS = frozenset({"R_HOME", "R_SHARE_DIR", "R_INCLUDE_DIR", "R_DOC_DIR"})


def _c_environ() -> dict[str, str] | None:
    """The C library's environment (R's own ``setenv`` calls land there, not in ``os.environ``)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        env = ctypes.POINTER(ctypes.c_char_p).in_dll(libc, "environ")
        out: dict[str, str] = {}
        i = 0
        while env[i]:
            key, sep, value = os.fsdecode(env[i]).partition("=")
            if sep:
                out[key] = value
            i += 1
        return out
    except Exception:  # noqa: BLE001 - not a glibc-like platform: os.environ is all we can see
        return None


def _restore_environ(before: dict[str, str]) -> list[str]:
    """Undo what starting R put in the process environment (both views), except R's location."""
    c_env = _c_environ() or {}
    undone = []
    for key in set(c_env) | set(os.environ):
        if key in _R_LOCATION_VARS:
            continue
        old = before.get(key)
        if old is None:
            os.environ.pop(key, None)
            try:
                os.unsetenv(key)
            except OSError:  # pragma: no cover
                continue
            undone.append(key)
        elif os.environ.get(key) != old or c_env.get(key, old) != old:
            os.environ[key] = old  # putenv too
            undone.append(key)
    return undone


def r_env() -> Any:
    """Start the embedded R once (lazily) and return drumnb's R support environment."""
    with R_LOCK:
        if "support" in _state:
            return _state["support"]
        refuse_after_jvm("an R model")
        os.environ.setdefault("TZ", "UTC")
        before = {**(_c_environ() or {}), **os.environ}
        try:
            import rpy2.rinterface as ri
            import rpy2.rinterface_lib.callbacks as ri_callbacks
        except ModuleNotFoundError as exc:
            raise RRuntimeUnavailable(
                f"R models need the Python package {exc.name!r}, which is not installed",
                hint="pip install 'drumnb[r]' (rpy2==3.5.17 for Debian 12's R 4.2), with R itself from "
                     "'apt-get install r-base-core r-cran-caret'") from None
        except Exception as exc:  # noqa: BLE001 - rpy2 raises plain errors when R is absent
            raise RRuntimeUnavailable(
                f"cannot start R through rpy2: {type(exc).__name__}: {exc}",
                hint="install R (apt-get install r-base-core r-cran-caret) and make 'R RHOME' work, "
                     "or set R_HOME") from None
        ri_callbacks.consolewrite_print = _console
        ri_callbacks.consolewrite_warnerror = _console
        ri_callbacks.consoleread = lambda prompt: ""  # never block on stdin
        ri_callbacks.showmessage = _console
        try:
            with warnings.catch_warnings():
                # rpy2 copies R's start-up variables into os.environ and warns for each one it
                # overrides ('Environment variable "PWD" redefined by R ...'): noise for users
                warnings.filterwarnings("ignore", message=_RPY2_ENV_WARNING, category=UserWarning)
                ri.initr_checkenv(interactive=False)
        except Exception as exc:  # noqa: BLE001
            _restore_environ(before)
            raise RRuntimeUnavailable(f"cannot start the embedded R: {type(exc).__name__}: {exc}",
                                      hint="check that R starts with 'R --version'") from None
        undone = _restore_environ(before)
        if undone:
            log.debug("removed R's start-up variables from the environment: %s", ", ".join(sorted(undone)))
        env = ri.baseenv["new.env"]()
        # one EXPRSXP: as an argument it stays unevaluated until eval() runs it in env
        ri.baseenv["eval"](ri.parse(_support_source()), env)
        _state["ri"] = ri
        _state["support"] = env
        log.debug("embedded R started")
        return env


def support_fn(name: str) -> Any:
    """The R function ``name`` of ``support.R`` (R starts first if it has not)."""
    return r_env()[name]


def rinterface() -> Any:
    """rpy2's ``rinterface`` module, once R runs (``r_env()`` starts it)."""
    return _state["ri"]


def r_started() -> bool:
    """Whether this process already runs an embedded R (started by drumnb)."""
    return "support" in _state

