"""PyTorch artifacts (``.pth``): TorchScript archives and whole pickled modules.

``weights_only``: PyTorch >= 2.6 loads with ``weights_only=True`` by default,
which refuses a pickled ``nn.Module``.  A whole module cannot be restored
without running its pickle, and a model folder is already trusted code (its
``custom.py`` is executed), so drumnb loads with ``weights_only=False``; only
load model folders you trust.  TorchScript archives need no pickle of user
classes and are tried first.  A plain ``state_dict`` cannot be scored without
its class: define ``load_model`` for it.
"""
from __future__ import annotations

import zipfile
from typing import Any

from ..core.contract import CLASSIFICATION
from ..core.errors import ArtifactError
from . import Predictor


def _is_torchscript(path: str) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.endswith("constants.pkl") or "/code/" in n for n in zf.namelist())
    except zipfile.BadZipFile:
        return False


class TorchPredictor(Predictor):
    name = "torch"

    def load(self, path: str) -> Any:
        import torch

        if _is_torchscript(path):
            model = torch.jit.load(path, map_location="cpu")
        else:
            model = torch.load(path, map_location="cpu", weights_only=False)
        if isinstance(model, dict):
            raise ArtifactError(f"{path} holds a state_dict (a dict of tensors), not a model",
                                hint="save the whole module (torch.save(model)) or TorchScript, or define "
                                     "load_model in custom.py to build the module and load the state_dict")
        if hasattr(model, "eval"):
            model.eval()
        return model

    def predict(self, model: Any, data: Any, config: Any):
        import numpy as np
        import torch

        x = torch.from_numpy(np.ascontiguousarray(data.to_numpy(dtype="float32")))
        with torch.inference_mode():
            out = model(x)
        if isinstance(out, (tuple, list)):
            out = out[0]
        out = out.detach().cpu().numpy()
        if config.target_type in CLASSIFICATION and out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        return out, None
