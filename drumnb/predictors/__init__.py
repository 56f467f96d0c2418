"""The predictors: the registry's machinery is :mod:`drumnb.predictors.registry` (read its notes for what an
entry holds); the built-in entries follow, one :func:`register` call per framework.  A framework's classes
(``"module:Class"``), savers and templates are imported only when one of its models is used.
"""
from __future__ import annotations

from ..core.hooks import register_hook_loader
from .registry import (Predictor, PredictorSpec, env_frameworks, extension_of, find_artifacts, for_artifact,
                       for_object, register, registered, savers, template_languages, templates)

__all__ = ["Predictor", "PredictorSpec", "register", "registered", "templates", "template_languages",
           "env_frameworks", "savers", "extension_of", "find_artifacts", "for_artifact", "for_object"]

_SAVE = "drumnb.predictors.saving:"
_TEMPLATES = "drumnb.tools:model_templates/"

register("sklearn", [".pkl", ".joblib"], "drumnb.predictors.sklearn:PicklePredictor",
         modules=["sklearn", "xgboost", "lightgbm", "catboost", "imblearn"], save=_SAVE + "save_pickle",
         requirements=[_SAVE + "pickle_requirements"],
         extra="sklearn", template=_TEMPLATES + "sklearn", artifact="model.pkl", template_needs=["sklearn"])
# xgboost models are pickles read by the sklearn predictor: this entry adds their template and extra only
register("xgboost", [], "drumnb.predictors.sklearn:PicklePredictor", extra="xgboost",
         template=_TEMPLATES + "xgboost", artifact="model.pkl", template_needs=["xgboost", "sklearn"])
register("torch", [".pth", ".pt"], "drumnb.predictors.torch:TorchPredictor", modules=["torch"],
         save=_SAVE + "save_torch", save_modules=["torch"], requirements=["torch"], extra="torch",
         template=_TEMPLATES + "torch", artifact="model.pth", template_needs=["torch"])
register("keras", [".h5", ".keras"], "drumnb.predictors.keras:KerasPredictor", modules=["keras", "tensorflow", "tf_keras"],
         save=_SAVE + "save_keras", save_modules=["keras", "tf_keras", "tensorflow"], requirements=["keras", "h5py", _SAVE + "keras_requirements"],
         extra="tensorflow", template=_TEMPLATES + "keras", artifact="model.h5", template_needs=["keras"])
register("onnx", [".onnx"], "drumnb.predictors.onnx:OnnxPredictor", modules=["onnxruntime"],
         save=_SAVE + "save_onnx", save_modules=["onnx", "onnxruntime"], requirements=["onnxruntime", "numpy"],
         extra="onnx", env_keep=["onnxruntime"],  # scoring needs the runtime only, not the converters
         template=_TEMPLATES + "onnx", artifact="model.onnx", template_needs=["sklearn", "skl2onnx", "onnxruntime"])

# --- other languages: R (rpy2), Java (JPype), Julia (juliacall); imported only when used ---------
register("r", [".rds"], "drumnb.predictors.r:RPredictor", modules=["rpy2"], language="R",
         template=_TEMPLATES + "r", artifact="model.rds")
register("java", [".jar", ".java", ".zip", ".mojo"], "drumnb.predictors.java:JavaPredictor",
         modules=["jpype", "_jpype"], language="Java", template=_TEMPLATES + "java", artifact="model.jar")
register("julia", [".jlso"], "drumnb.predictors.julia:JuliaPredictor", modules=["juliacall"], language="Julia",
         template=_TEMPLATES + "julia", artifact="model.jlso")


def _register_hook_loaders() -> None:
    # string targets: nothing of R or Julia is imported until a folder needs it
    register_hook_loader("custom.R", "drumnb.predictors.r:load_r_hooks")
    register_hook_loader("custom.r", "drumnb.predictors.r:load_r_hooks")
    register_hook_loader("custom.jl", "drumnb.predictors.julia:load_julia_hooks")


_register_hook_loaders()
