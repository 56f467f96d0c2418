"""ONNX artifacts (``.onnx``) run by onnxruntime, as the ONNX drop-in environment does.

Inputs: a model declaring one input gets the whole frame as one tensor; a model
declaring several gets one ``[N, 1]`` tensor per column, matched by name.  Each
is cast to the element type the model declares (float64 frames feed float32
models, strings feed string inputs).

Outputs: regression takes the first output; classification prefers an output
whose name contains ``prob`` (skl2onnx puts predicted labels first), including
skl2onnx's ZipMap output, a list of ``{label: probability}`` dicts.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.contract import CLASSIFICATION
from ..core.errors import InputError
from . import Predictor

_DTYPES = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_, "tensor(string)": object,
}


class OnnxPredictor(Predictor):
    name = "onnx"

    def load(self, path: str) -> Any:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        return ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])

    def expected_columns(self, model: Any) -> list[str] | None:
        inputs = model.get_inputs()
        return [i.name for i in inputs] if len(inputs) > 1 else None

    @staticmethod
    def _cast(values: Any, onnx_type: str) -> np.ndarray:
        dtype = _DTYPES.get(onnx_type, np.float32)
        if dtype is object:
            return np.asarray(values).astype(str).astype(object)
        return np.ascontiguousarray(np.asarray(values, dtype=dtype))

    def feeds(self, model: Any, data: Any) -> dict[str, np.ndarray]:
        inputs = model.get_inputs()
        if len(inputs) == 1:
            (inp,) = inputs
            return {inp.name: self._cast(data.to_numpy(), inp.type)}
        missing = [i.name for i in inputs if i.name not in data.columns]
        if missing:
            raise InputError(f"the ONNX model takes inputs {[i.name for i in inputs]}; "
                             f"the data lacks {missing}")
        return {i.name: self._cast(data[i.name].to_numpy().reshape(-1, 1), i.type) for i in inputs}

    def predict(self, model: Any, data: Any, config: Any):
        outputs = model.get_outputs()
        index = 0
        if config.target_type in CLASSIFICATION:
            index = next((k for k, o in enumerate(outputs) if "prob" in o.name.lower()), 0)
        try:
            result = model.run([outputs[index].name], self.feeds(model, data))[0]
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for bad input
            if "INVALID_ARGUMENT" in str(exc) or "InvalidArgument" in type(exc).__name__:
                raise InputError(f"onnxruntime rejected the input: {exc}") from None
            raise
        classes = None
        if isinstance(result, list) and result and isinstance(result[0], dict):  # skl2onnx ZipMap
            classes = list(result[0].keys())
            result = np.array([[row[c] for c in classes] for row in result], dtype="float64")
        return result, classes
