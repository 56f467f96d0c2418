"""The model folder plus a ``%%drum_score`` cell's extra hooks, for one call (a folder of symbolic links)."""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from ..core.errors import ConfigurationError
from ..core.hooks import HOOK_LOADERS
from . import errors
from .hookcheck import check_source
from .workspace import HOOK_FILE, WORKSPACE, display_path


class Overlay:
    """The model folder with the cell's extra hooks appended to ``custom.py``, for one call.

    A temporary folder of symbolic links to the model's files, plus a
    ``custom.py`` that is the folder's own followed by the cell: the cell's
    definitions win, and everything else of the folder stays.
    """

    def __init__(self, folder: str, name: str, cell: str):
        if not os.path.isdir(folder):
            raise errors.error(ConfigurationError, "extra hook code in the cell needs a model folder, "
                               f"not an archive: {display_path(folder)}", "unpack the archive")
        from .. import predictors  # noqa: F401 - registers the custom.R / custom.jl hook loaders

        other = [f for f in HOOK_LOADERS if os.path.isfile(os.path.join(folder, f))]
        if other and not os.path.isfile(os.path.join(folder, HOOK_FILE)):
            raise errors.error(ConfigurationError,
                               f"this model's hooks are in {other[0]}: extra hook code in a %%drum_score cell is "
                               f"Python (a custom.py), and a folder with custom.py ignores {other[0]}",
                               f"put the change in {other[0]} and score with %drum_score (the line magic)")
        body = cell if cell.endswith("\n") else cell + "\n"
        report = check_source(body, first_line=2)
        if report.errors:
            raise errors.error(errors.HookSignatureError, "%%drum_score: " + "; ".join(map(str, report.errors)),
                               "fix the cell and run it again")
        self.warnings = report.warnings
        self.tmp = tempfile.mkdtemp(prefix="drumnb-score-")
        for entry in os.listdir(folder):
            if entry != HOOK_FILE:
                os.symlink(os.path.join(folder, entry), os.path.join(self.tmp, entry))
        original = ""
        if os.path.isfile(os.path.join(folder, HOOK_FILE)):
            with open(os.path.join(folder, HOOK_FILE), encoding="utf-8") as fh:
                original = fh.read()
            if original and not original.endswith("\n"):
                original += "\n"
        first = original.count("\n") + 1
        path = os.path.join(self.tmp, HOOK_FILE)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(original + body)
        self.cell_map = errors.CellMap(path, first, "this %%drum_score cell", 2)
        self.original_maps = [errors.CellMap(path, m.first_file_line, m.cell_label, m.cell_line_of_first,
                                             last_file_line=first - 1)
                              for m in WORKSPACE.cell_maps_for(folder)]
        self.model: Any = None
        self.name = name

    def load(self, target_type: str | None, **kwargs: Any) -> Any:
        from ..model import load_model  # the runtime and its frameworks: on the first cell that needs it

        self.model = load_model(self.tmp, target_type, **kwargs)
        return self.model

    def close(self) -> None:
        if self.model is not None:
            self.model.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

