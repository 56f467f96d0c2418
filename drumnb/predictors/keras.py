"""tf.keras artifacts (``.h5`` / ``.keras``), loaded for inference only.

``compile=False``: a model saved with a string loss (``loss="mse"``) fails to
deserialize its metrics under Keras 3; inference needs no optimizer or loss.
"""
from __future__ import annotations

import os
from typing import Any

from . import Predictor


class KerasPredictor(Predictor):
    name = "keras"

    def load(self, path: str) -> Any:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        try:
            import keras  # Keras 3 (what tf.keras is since TensorFlow 2.16), any backend
        except ImportError:
            from tensorflow import keras  # type: ignore[no-redef]  # older TensorFlow
        return keras.models.load_model(path, compile=False)

    def predict(self, model: Any, data: Any, config: Any):
        x = data.to_numpy(dtype="float32")
        out = model.predict(x, verbose=0, batch_size=max(32, min(len(x), 8192)))
        if isinstance(out, (list, tuple)):
            out = out[0]
        return out, None
