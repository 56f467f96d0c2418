"""Writing the model object given to ``drumnb export`` as the folder's artifact file.

Bytes and file paths are written as they are; an object is saved by the first registry entry whose
``save_modules`` its classes come from (the savers are in :mod:`drumnb.predictors.saving`, beside the
predictors that read what they write), else pickled.
"""
from __future__ import annotations

import os
import shutil
from typing import Any

from .. import predictors
from ..core.errors import ExportError
from ..predictors.saving import mro_modules, pickle_modules, save_pickle

__all__ = ["write_artifact", "ExportError", "pickle_modules", "mro_modules"]


def write_artifact(obj: Any, folder: str, name: str | None = None, example: Any = None) -> str:
    """Serialize ``obj`` into ``folder`` in its framework's own format; returns the file name.

    ``example`` (a DataFrame of features) lets a torch module that TorchScript cannot compile (a class
    defined in a notebook) be traced instead.
    """
    if isinstance(obj, (bytes, bytearray)):
        if name is None:
            raise ExportError("an artifact given as bytes needs a file name", hint="pass artifact_name='model.onnx'")
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(bytes(obj))
        return name
    if isinstance(obj, (str, os.PathLike)):
        if not os.path.isfile(obj):
            raise ExportError(f"artifact file not found: {os.fspath(obj)}",
                              hint="pass the model object itself, or the path of its saved file")
        name = name or os.path.basename(os.fspath(obj))
        shutil.copy2(obj, os.path.join(folder, name))
        return name
    mods = mro_modules(obj)
    for spec in predictors.savers():
        if mods & set(spec.save_modules):
            written = spec.saver()(obj, folder, name, example)
            if written:
                return written
    return save_pickle(obj, folder, name, example)
