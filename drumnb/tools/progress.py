"""Progress bars: a widget inside a Jupyter kernel, text on a terminal's stderr elsewhere.

``tqdm.auto`` also picks its notebook bar in a plain IPython shell (a test
session, a terminal IPython), where that bar prints text lines to stdout; this
module picks it only when a kernel (ipykernel) is running this code.
"""
from __future__ import annotations

import contextlib
import sys
import threading
import time
from typing import Any, Iterator


def in_kernel() -> bool:
    """True when this code runs in a Jupyter kernel (the front end can show widgets)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and getattr(shell, "kernel", None) is not None


def bar(**kwargs: Any) -> Any:
    """A ``tqdm`` bar (same arguments): the notebook widget in a kernel, else text on ``file``/stderr."""
    if in_kernel():
        from tqdm.notebook import tqdm

        kwargs.pop("file", None)
        if kwargs.get("disable") is None:
            kwargs["disable"] = False
        return tqdm(**kwargs)
    from tqdm import tqdm

    kwargs.setdefault("file", sys.stderr)
    return tqdm(**kwargs)


class WorkBar:
    """A bar over known amounts of work (MB to process, seconds of load) that moves during a long step too.

    ``with bar.step(weight): ...`` wraps one unit of work of that weight (e.g.
    one request, in MB).  While a step runs, a thread advances the bar at the
    rate (weight per second) of the last step at least a tenth as heavy, never
    past 90% of the step's weight; the rest is added when the step ends.  So
    the bar shows how far the real work is, also during a single request that
    takes minutes, without guessing a large request's speed from small ones
    (their time is mostly fixed costs: a first heavy step moves when it ends).
    ``rate`` fixes the rate instead (1.0 for a step measured in seconds).
    """

    TICK = 0.2

    def __init__(self, total: float, *, unit: str, desc: str, show: bool, file: Any = None):
        self.bar = bar(total=total, unit=unit, desc=desc, file=file, disable=not show, leave=False,
                       bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} " + unit
                                  + " [{elapsed}<{remaining}]{postfix}")
        self._lock = threading.Lock()
        self._done: list[tuple[float, float]] = []  # (weight, seconds) of the steps that ended
        self._step: list[float] | None = None  # [start, weight, credited, rate or 0]
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="drumnb-progress", daemon=True)
        if show:
            self._thread.start()

    def describe(self, text: str) -> None:
        with self._lock:
            self.bar.set_description(text)

    def postfix(self, text: str) -> None:
        with self._lock:
            self.bar.set_postfix_str(text, refresh=True)

    @contextlib.contextmanager
    def step(self, weight: float, rate: float | None = None) -> Iterator[None]:
        start = time.monotonic()
        with self._lock:
            self._step = [start, weight, 0.0, rate or 0.0]
        try:
            yield
        finally:
            with self._lock:
                credited = self._step[2] if self._step else 0.0
                self._step = None
                self._add(weight - credited)
                self._done.append((weight, time.monotonic() - start))

    def skip(self, weight: float) -> None:
        with self._lock:
            self._add(weight)

    def shrink(self, weight: float) -> None:
        """Work that will not be done after all (a time budget ends a case early): the total drops."""
        with self._lock:
            self.bar.total = max(self.bar.n, (self.bar.total or 0) - weight)
            self.bar.refresh()

    def _add(self, amount: float) -> None:  # under the lock; float sums never pass the total
        amount = min(amount, (self.bar.total or 0) - self.bar.n)
        if amount > 0:
            self.bar.update(amount)

    def _tick(self) -> None:
        while not self._closed.wait(self.TICK):
            with self._lock:
                step = self._step
                if step is None:
                    continue
                rate = step[3] or self._rate(step[1])
                target = min(0.9 * step[1], rate * (time.monotonic() - step[0]))
                if target > step[2]:
                    self._add(target - step[2])
                    step[2] = target

    def _rate(self, weight: float) -> float:
        for done, seconds in reversed(self._done):
            if done >= 0.1 * weight and seconds > 0:
                return done / seconds
        return 0.0

    def close(self) -> None:
        self._closed.set()
        if self._thread.is_alive():
            self._thread.join(1)
        self.bar.close()


@contextlib.contextmanager
def elapsed(desc: str, *, delay: float = 1.0, file: Any = None) -> Iterator[None]:
    """For one call whose progress cannot be counted: after ``delay`` seconds, a line with ``desc`` and the
    time so far, refreshed twice a second until the block ends (however it ends, Ctrl-C included)."""
    done = threading.Event()
    shown: list[Any] = []

    def tick() -> None:
        if done.wait(delay):
            return
        line = bar(total=None, desc=desc, file=file, leave=False, bar_format="{desc} {elapsed}")
        shown.append(line)
        while not done.wait(0.5):
            line.refresh()

    thread = threading.Thread(target=tick, name="drumnb-elapsed", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(2)
        for line in shown:
            line.close()
