"""Model tools: templates (``new``), validation, performance tests and export.

Each verb is a plain function returning a report object that prints as a
table and renders as HTML in a notebook (``_repr_html_``), so the CLI and the
magics are thin::

    from drumnb import tools
    tools.new_model("my_model", language="python", framework="sklearn")
    report = tools.validate("my_model", "my_model/example_input.csv")
    perf = tools.perf_test("my_model", "my_model/example_input.csv", sizes=(1, 100))
    exported = tools.export_model("deploy/", hooks=[score], model=estimator, data=df, tar=True)

Nothing heavy is imported until a function is called.
"""
from __future__ import annotations

from typing import Any

_EXPORTS = {
    "new_model": "templates", "TemplateResult": "templates", "LANGUAGES": "templates", "FRAMEWORKS": "templates",
    "validate": "validation", "ValidationReport": "validation", "CheckResult": "validation", "CHECKS": "validation",
    "perf_test": "perf", "PerfReport": "perf", "PerfCase": "perf",
    "export_model": "export", "ExportReport": "export", "pinned_requirements": "export_folder",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'drumnb.tools' has no attribute {name!r}")
