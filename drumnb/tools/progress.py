"""Progress bars: a widget inside a Jupyter kernel, text on a terminal's stderr elsewhere.

``tqdm.auto`` also picks its notebook bar in a plain IPython shell (a test
session, a terminal IPython), where that bar prints text lines to stdout; this
module picks it only when a kernel (ipykernel) is running this code.
"""
from __future__ import annotations

import sys
from typing import Any


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
