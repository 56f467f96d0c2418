"""drumnb: run DataRobot DRUM custom model folders from Python, the CLI, a server and Jupyter.

Public API::

    import drumnb
    model = drumnb.load_model("model_dir", target_type="regression")
    model.predict(df)
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["load_model", "Model", "RuntimeParameters", "__version__"]


def __getattr__(name: str) -> Any:  # lazy, so that `import drumnb` stays fast
    if name in ("load_model", "Model"):
        from .core import model

        return getattr(model, name)
    if name == "RuntimeParameters":
        from .core.params import RuntimeParameters

        return RuntimeParameters
    if name in ("DrumnbError",):
        from .core import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'drumnb' has no attribute {name!r}")
