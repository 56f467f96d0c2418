"""Pure helpers of the runtime (:mod:`drumnb.model`): archive unpacking, the unstructured result, output names.

Kept apart so that ``model.py`` holds the model object itself; ``drumnb.model`` re-exports the public names.
"""
from __future__ import annotations

import tarfile
import tempfile
from dataclasses import dataclass
from typing import Any, Callable

from .core.errors import ArtifactError


def _unpack_archive(path: str) -> tempfile.TemporaryDirectory:
    tmp = tempfile.TemporaryDirectory(prefix="drumnb-model-")
    try:
        with tarfile.open(path) as tar:
            tar.extractall(tmp.name, filter="data")
    except (tarfile.TarError, OSError) as exc:
        tmp.cleanup()
        raise ArtifactError(f"cannot unpack model archive {path}: {exc}",
                            hint="make it with: tar -czf custom_model.tar.gz -C MODEL_DIR .") from None
    return tmp




@dataclass
class UnstructuredResult:
    """One unstructured call: the response, and what the hook saw and returned."""

    decoded: Any      # core.unstructured.Decoded: data given to the hook, mimetype, charset, rule
    encoded: Any      # core.unstructured.Encoded: body, content type, rule
    returned: Any     # the hook's raw return value
    kwargs: dict      # the keyword arguments the hook received
    seconds: float

    @property
    def body(self) -> bytes:
        return self.encoded.body

    @property
    def content_type(self) -> str:
        return self.encoded.content_type

    @property
    def data(self) -> "str | bytes | None":
        """The hook's data value (str or bytes), without the tuple's kwargs."""
        return self.returned[0] if isinstance(self.returned, tuple) else self.returned


def unnamed_binary_note(predictor: str) -> str:
    """The one warning for binary probabilities that carry no class names."""
    return (f"the {predictor} model's binary output carries no class names: drumnb reads it as the seed defines "
            "(one value a row is the positive class's probability; two values are [negative, positive]) and "
            "writes the columns [positive, negative] as DRUM does; DRUM 1.18.1 would assign these probabilities "
            "the other way round for this model")


def plain_data(obj: Any) -> Any:
    """An OpenAI / pydantic object as plain JSON data, unset fields left out as DRUM answers (a page of
    them as its ``data`` list).  The chat routes use it too."""
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_unset=True)
    data = getattr(obj, "data", None)
    if isinstance(data, list) and not isinstance(obj, (dict, list)):
        return {"data": data}
    return obj


def takes_target(fn: Callable[..., Any]) -> bool:
    """Whether a transform hook takes a third positional argument (the target values)."""
    import inspect

    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    return len([p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]) >= 3


def _is_sparse(obj: Any) -> bool:
    from .core.codecs import is_sparse

    return is_sparse(obj)


def _output_names(model: Any, source: Any, width: int) -> list[str]:
    """Column names of a transformer's array output: its own names, else the input's, else 0..n-1."""
    try:
        names = [str(n) for n in model.get_feature_names_out()]
        if len(names) == width:
            return names
    except Exception:  # noqa: BLE001 - not every transformer knows its output names
        pass
    cols = [str(c) for c in getattr(source, "columns", [])]
    return cols if len(cols) == width else [str(i) for i in range(width)]


def _rows(frame: Any) -> int | None:
    shape = getattr(frame, "shape", None)
    if shape:
        return int(shape[0])
    try:
        return len(frame)
    except TypeError:
        return None


