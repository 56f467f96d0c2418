"""How the server calls the model: which calls may overlap, on which threads, for how long.

* A model with a per-request hook (``read_input_data``, ``transform``,
  ``score``, ``post_process``, ``score_unstructured``, ``chat``) or a predictor
  not known to be thread-safe has its calls **serialized**: one at a time, on
  one long-lived model thread per worker process (hooks written for DRUM never
  saw two calls at once, and frameworks keep per-thread state).
* A built-in scikit-learn, ONNX or TorchScript model without such hooks is
  **thread-safe**: its calls run at once on a small pool of model threads (as
  many as the worker's request threads), and what releases the GIL runs in
  parallel.
* Every call is bounded by the **request timeout** (``--request-timeout``,
  DRUM's ``DRUM_CLIENT_REQUEST_TIMEOUT``): past it the request answers 504
  naming the limit, and the worker asks to be replaced (a thread cannot be
  stopped; a fresh process can).  Meanwhile the next calls go to a fresh model
  thread, so they are not queued behind the stuck one.  The one exception:
  the fast path's predictions (a built-in scikit-learn estimator, a numeric
  CSV body of at most 4 MB) run on the request thread (:meth:`ModelCalls.inline`);
  one that outlives the timeout is answered, and the worker is replaced after it.

Requests that do not call the model (``/ping/``, ``/health/``, ``/info/``,
``/stats/``, ``/metrics``) never wait for it.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from ..core.errors import DrumnbError
from . import lifecycle

#: Hooks called per request: a model with any of them has its calls run one at a time.
PER_REQUEST_HOOKS = ("read_input_data", "transform", "score", "post_process", "score_unstructured", "chat")
#: Built-in predictors whose predict may run on several threads at once.
THREAD_SAFE_PREDICTORS = ("sklearn", "onnx", "torch")
TIMEOUT_FLAG = "--request-timeout"
TIMEOUT_ENV = "DRUM_CLIENT_REQUEST_TIMEOUT"


class RequestTimeout(DrumnbError):
    """A model call did not finish within the request timeout (504)."""

    status = 504


def needs_serializing(model: Any) -> bool:
    """Whether calls into ``model`` must not overlap: hooks written for DRUM never saw two at once."""
    if model is None:
        return False
    hooks = getattr(model, "hooks", ())
    if any(name in hooks for name in PER_REQUEST_HOOKS):
        return True
    return getattr(getattr(model, "predictor", None), "name", None) not in THREAD_SAFE_PREDICTORS


class ModelCalls:
    """Runs model calls on model threads: one (serialized) or ``threads``, each call bounded by ``timeout``.

    ``timeout`` is in seconds (None or 0: unbounded).  ``threads`` only matters for unserialized calls.
    """

    def __init__(self, serialize: bool = True, *, timeout: float | None = None, threads: int = 4):
        self.serialize = serialize
        self.timeout = timeout or None
        self.threads = 1 if serialize else max(1, threads)
        self._lock = threading.Lock()
        self._pool = self._new_pool()
        self.timed_out = 0

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(self.threads, thread_name_prefix="drumnb-model")

    def __call__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        pool = self._pool
        future = pool.submit(fn, *args, **kwargs)
        try:
            return future.result(self.timeout)
        except FutureTimeout:
            if future.done():  # finished just now
                return future.result()
            self._abandon(pool)
            raise RequestTimeout(
                f"the model did not answer within the request timeout of {self.timeout:g} s; "
                "this worker is being replaced",
                hint=f"raise the limit with {TIMEOUT_FLAG} SECONDS (or the environment variable {TIMEOUT_ENV}), "
                     "or send fewer rows per request") from None

    def inline(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on the caller's thread, for a thread-safe model's short calls (the fast path: no
        hand-over to a model thread, which costs as much as a small prediction).  A call that still outlives
        the timeout gets its answer, and the worker is replaced after it."""
        if self.serialize:
            return self(fn, *args)
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            if self.timeout and time.perf_counter() - started > self.timeout:
                lifecycle.request_recycle(f"a model call outlived the request timeout of {self.timeout:g} s")

    def _abandon(self, pool: ThreadPoolExecutor) -> None:
        """Leave the stuck thread(s) behind: later calls get fresh ones; the worker asks to be replaced."""
        with self._lock:
            self.timed_out += 1
            if self._pool is pool:
                self._pool = self._new_pool()
        pool.shutdown(wait=False, cancel_futures=True)
        lifecycle.request_recycle(f"a model call outlived the request timeout of {self.timeout:g} s")

    def close(self) -> None:
        self._pool.shutdown(wait=False)
