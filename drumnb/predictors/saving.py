"""Saving a notebook's model object as an artifact file, framework by framework.

Each ``save_*`` function here is the ``save`` of a registry entry (``predictors/__init__.py``), each
``*_requirements`` one of its ``requirements``: ``save(obj, folder, name, example) -> file name | None``
writes ``obj`` into ``folder`` in the framework's own format (``name`` None: the framework's default file
name) and returns None when ``obj`` is not this framework's object.  The export's
:func:`drumnb.tools.savers.write_artifact` asks the entries whose ``save_modules`` the object's classes come
from, then pickles (:func:`save_pickle`).  torch and keras are imported inside their savers: heavy optional
frameworks, loaded only to save one of their objects.
"""
from __future__ import annotations

import io
import os
import pickle
import pickletools
from typing import Any

from ..core.errors import ExportError


def _pickle_globals(data: bytes) -> list[tuple[str, str]]:
    """(module, name) of every global a pickle imports (GLOBAL / INST / STACK_GLOBAL opcodes)."""
    out: list[tuple[str, str]] = []
    strings: list[Any] = []   # values pushed, as far as globals need them (strings, memo gets)
    memo: dict[int, Any] = {}
    try:
        for op, arg, _ in pickletools.genops(io.BytesIO(data)):
            name = op.name
            if name in ("GLOBAL", "INST") and isinstance(arg, str):
                module, _, attr = arg.partition(" ")
                out.append((module, attr))
                strings.append(None)
            elif name == "STACK_GLOBAL":
                if len(strings) >= 2 and isinstance(strings[-2], str) and isinstance(strings[-1], str):
                    out.append((strings[-2], strings[-1]))
                strings.append(None)
            elif "UNICODE" in name or name in ("STRING", "BINSTRING", "SHORT_BINSTRING"):
                strings.append(arg)
            elif name == "MEMOIZE":
                memo[len(memo)] = strings[-1] if strings else None
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[int(arg)] = strings[-1] if strings else None
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                strings.append(memo.get(int(arg)))
            elif name not in ("PROTO", "FRAME"):
                strings.append(None)
    except Exception:  # noqa: BLE001 - joblib files and the like: what was found so far
        pass
    return out


def pickle_modules(data: bytes) -> set[str]:
    """Top-level modules a pickle imports."""
    return {module.split(".")[0] for module, _ in _pickle_globals(data) if module}


def _pickle_main_refs(data: bytes) -> list[str]:
    return [attr for module, attr in _pickle_globals(data) if module == "__main__"]


def mro_modules(obj: Any) -> set[str]:
    return {str(k.__module__).split(".")[0] for k in type(obj).__mro__ if getattr(k, "__module__", None)}


def save_onnx(obj: Any, folder: str, name: str | None, example: Any = None) -> str | None:
    """An ONNX ``ModelProto`` -> ``model.onnx``; an onnxruntime session cannot be saved."""
    if hasattr(obj, "SerializeToString") and "onnx" in mro_modules(obj):
        name = name or "model.onnx"
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(obj.SerializeToString())
        return name
    if "onnxruntime" in mro_modules(obj):
        raise ExportError("an onnxruntime InferenceSession cannot be saved",
                          hint="pass the onnx ModelProto (or its bytes with artifact_name='model.onnx')")
    return None


def save_torch(obj: Any, folder: str, name: str | None, example: Any = None) -> str:
    """TorchScript ``model.pth`` (scripted, else traced on ``example``, else the pickled module)."""
    import torch

    name = name or "model.pth"
    path = os.path.join(folder, name)
    if isinstance(obj, torch.jit.ScriptModule):
        obj.save(path)
        return name
    module = obj.eval() if hasattr(obj, "eval") else obj
    try:
        torch.jit.script(module).save(path)
        return name
    except Exception:  # noqa: BLE001 - not scriptable (e.g. its class has no source file): trace it
        pass
    if example is not None and hasattr(example, "to_numpy"):
        try:
            x = torch.from_numpy(example.select_dtypes("number").head(8).to_numpy(dtype="float32"))
            with torch.no_grad():
                torch.jit.trace(module, x).save(path)
            return name
        except Exception:  # noqa: BLE001 - not traceable either: the whole module, pickled
            pass
    data = pickle.dumps(obj)
    _refuse_main(data, obj)
    torch.save(obj, path)
    return name


def save_keras(obj: Any, folder: str, name: str | None, example: Any = None) -> str | None:
    """A Keras model -> ``model.h5``."""
    mods = mro_modules(obj)
    if not (mods & {"keras", "tf_keras"} or ("tensorflow" in mods and hasattr(obj, "save"))):
        return None
    import warnings

    import keras

    name = name or "model.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras.saving.save_model(obj, os.path.join(folder, name))
    return name


def save_pickle(obj: Any, folder: str, name: str | None, example: Any = None) -> str:
    """Any picklable estimator -> ``model.pkl``, refused when it refers to the notebook's own classes."""
    name = name or "model.pkl"
    try:
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001
        in_main = [k.__name__ for k in type(obj).__mro__ if getattr(k, "__module__", None) == "__main__"]
        if in_main:  # a shell whose __main__ is not the notebook's namespace: the same cause as below
            _refuse_main(b"", obj, refs=in_main)
        raise ExportError(f"the model object ({type(obj).__name__}) cannot be pickled: {exc}",
                          hint="save it with its framework's own format and pass the file path as model=") from None
    _refuse_main(data, obj)
    with open(os.path.join(folder, name), "wb") as fh:
        fh.write(data)
    return name


def pickle_requirements(artifact: str) -> set[str]:
    """The top-level modules a pickled artifact imports."""
    with open(artifact, "rb") as fh:
        return pickle_modules(fh.read())


def keras_requirements(artifact: str) -> set[str]:
    """TensorFlow too, when it is Keras's backend here."""
    try:
        import keras

        return {"tensorflow"} if keras.backend.backend() == "tensorflow" else set()
    except Exception:  # noqa: BLE001
        return set()


def _refuse_main(data: bytes, obj: Any, refs: list[str] | None = None) -> None:
    refs = refs if refs is not None else _pickle_main_refs(data)
    if refs:
        raise ExportError(f"the model ({type(obj).__name__}) refers to {', '.join(sorted(set(refs)))} defined in the "
                          "notebook itself (__main__); a fresh process cannot unpickle it",
                          hint="move those classes/functions into a .py module, import them from it, refit or "
                               "re-create the object, and put the module in the model folder")
