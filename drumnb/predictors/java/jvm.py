"""The JVM, through JPype: started once per process, lazily, honouring ``DRUM_JAVA_XMX``."""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from typing import Any

from ...core.errors import ArtifactError

log = logging.getLogger("drumnb")

LOCK = threading.RLock()
_state: dict[str, Any] = {}


class JavaRuntimeUnavailable(ArtifactError):
    """No JVM, no javac, no JPype, or no genmodel jar."""


def jvm_options() -> list[str]:
    opts = []
    xmx = os.environ.get("DRUM_JAVA_XMX")
    if xmx:
        opts.append(f"-Xmx{xmx}")
    return opts


def jvm() -> Any:
    """Start the JVM once (lazily, honouring ``DRUM_JAVA_XMX``) and return the jpype module."""
    with LOCK:
        if "jpype" in _state:
            return _state["jpype"]
        try:
            import jpype
            import jpype.imports  # noqa: F401
        except ModuleNotFoundError as exc:
            raise JavaRuntimeUnavailable(f"Java models need the Python package {exc.name!r}, which is not installed",
                                         hint="pip install 'drumnb[java]' (JPype1, h2o==3.46.0.11)") from None
        if not jpype.isJVMStarted():
            try:
                path = jpype.getDefaultJVMPath()
            except Exception as exc:  # noqa: BLE001
                raise JavaRuntimeUnavailable(f"no Java runtime found: {exc}",
                                             hint="apt-get install openjdk-17-jdk-headless, or set JAVA_HOME") from None
            rt = sys.modules.get("drumnb.predictors.r.runtime")
            if rt is not None and rt.r_started():
                log.debug("starting the JVM after R (this order is safe; R models cannot load after it)")
            opts = jvm_options()
            try:
                jpype.startJVM(path, *opts, convertStrings=False)
            except Exception as exc:  # noqa: BLE001
                raise JavaRuntimeUnavailable(f"cannot start the JVM ({path} {' '.join(opts)}): {exc}",
                                             hint="check DRUM_JAVA_XMX (e.g. 512m, 2g)") from None
            log.debug("JVM started: %s %s", path, " ".join(opts))
        elif jvm_options():
            log.warning("the JVM already runs in this process; DRUM_JAVA_XMX=%s does not apply to it",
                        os.environ.get("DRUM_JAVA_XMX"))
        _state["jpype"] = jpype
        return jpype


def url_loader(paths: list[str], parent: Any = None) -> Any:
    jpype = jvm()
    File = jpype.JClass("java.io.File")
    URL = jpype.JClass("java.net.URL")
    URLClassLoader = jpype.JClass("java.net.URLClassLoader")
    ClassLoader = jpype.JClass("java.lang.ClassLoader")
    urls = jpype.JArray(URL)([File(p).toURI().toURL() for p in paths])
    return URLClassLoader(urls, parent if parent is not None else ClassLoader.getSystemClassLoader())


@contextlib.contextmanager
def context_loader(loader: Any):
    """Make ``loader`` the thread's context class loader: genmodel finds its extensions (the XGBoost MOJO
    reader) through ``ServiceLoader``, which looks there."""
    jpype = jvm()
    thread = jpype.JClass("java.lang.Thread").currentThread()
    before = thread.getContextClassLoader()
    thread.setContextClassLoader(loader)
    try:
        yield
    finally:
        thread.setContextClassLoader(before)


def java_message(exc: BaseException) -> str:
    msg = None
    for attr in ("getMessage", "toString"):
        try:
            m = getattr(exc, attr)()
            if m is not None:
                msg = str(m)
                break
        except Exception:  # noqa: BLE001
            continue
    return msg or str(exc) or type(exc).__name__


def is_java_exception(exc: BaseException) -> bool:
    jpype = _state.get("jpype")
    return bool(jpype) and isinstance(exc, jpype.JException)


def jvm_max_heap_bytes() -> int | None:
    """The running JVM's maximum heap (for checking ``DRUM_JAVA_XMX``); None if no JVM runs."""
    jpype = _state.get("jpype")
    if not jpype or not jpype.isJVMStarted():
        return None
    return int(jpype.JClass("java.lang.Runtime").getRuntime().maxMemory())
