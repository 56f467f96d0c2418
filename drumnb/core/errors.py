"""One hierarchy of errors for the whole of drumnb.

Every error knows the HTTP status a server should answer with and carries a
short *hint* telling the user what to do next.  Front ends render them once:
the CLI prints ``message`` + ``hint`` and exits non-zero, the server answers
``{"message": "ERROR: ..."}`` with ``status``, the notebook shows a short
coloured message.  Nothing here imports HTTP or Jupyter code.
"""
from __future__ import annotations

import os
import traceback
from typing import Any


class DrumnbError(Exception):
    """Base class.  ``status`` is the HTTP status; ``hint`` a next step."""

    status: int = 500
    default_hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        if status is not None:
            self.status = status

    def __str__(self) -> str:  # the message alone; front ends add the hint
        return self.message

    def __reduce__(self):  # picklable whatever a subclass's __init__ takes (Dask workers, subprocesses)
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": f"ERROR: {self.message}", "error": type(self).__name__}
        if self.hint:
            out["hint"] = self.hint
        return out

    def render(self) -> str:
        """Message and hint as the CLI and the notebook show them."""
        return self.message + (f"\nhint: {self.hint}" if self.hint else "")


class ConfigurationError(DrumnbError):
    """Wrong or missing settings: target type, labels, flags."""

    status = 400


class UsageError(ConfigurationError):
    """Flags that do not go together, or a missing one: the CLI exits 2 for it, as for any usage error."""

    exit_code = 2


class UnsupportedError(ConfigurationError):
    """A target type or feature drumnb does not (yet) run."""

    status = 501


class InputError(DrumnbError):
    """The data sent to the model cannot be read or does not fit it."""

    status = 422
    default_hint = "send CSV with a header row (or Arrow / Parquet / Matrix Market) holding the model's feature columns"


class PayloadTooLarge(InputError):
    status = 413


class ModelLoadError(DrumnbError):
    """The model folder could not be loaded: the server answers 513 for it."""

    status = 513


class ArtifactError(ModelLoadError):
    """No artifact, more than one, or one no predictor can read."""


class HookError(DrumnbError):
    """A hook in ``custom.py`` raised or returned something it may not."""

    status = 500

    def __init__(self, hook: str, message: str, *, file: str | None = None, line: int | None = None,
                 cause_type: str | None = None, hint: str | None = None, status: int | None = None,
                 root: str | None = None):
        where = ""
        if hook == "import":
            where = f" (line {line})" if line else ""
        elif file:
            where = f" ({os.path.basename(file)}" + (f", line {line}" if line else "") + ")"
        prefix = f"{cause_type}: " if cause_type else ""
        what = (f"{os.path.basename(file) if file else 'the hooks file'} could not be imported" if hook == "import"
                else f"'{hook}' hook failed")
        super().__init__(f"{what}{where}: {prefix}{message}", hint=hint, status=status)
        self.hook, self.file, self.line, self.cause_type = hook, file, line, cause_type
        self.root = root  # the model folder, when known
        self.detail = message

    @property
    def relative_file(self) -> str | None:
        """``file`` relative to the model folder (``custom.py``, ``lib/util.py``), else its base name:
        what an HTTP client may see (never the server's absolute paths)."""
        if not self.file:
            return None
        root = getattr(self, "root", None)  # errors pickled before ``root`` existed lack it
        if root:
            rel = os.path.relpath(os.path.realpath(self.file), os.path.realpath(root))
            if rel != os.pardir and not rel.startswith(os.pardir + os.sep):
                return rel
        return os.path.basename(self.file)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update({k: v for k, v in (("hook", self.hook), ("file", self.relative_file), ("line", self.line))
                    if v})
        return out


class HookLoadError(HookError, ModelLoadError):
    """``custom.py`` (or ``init`` / ``load_model``) failed while the model loaded."""

    status = 513


class ExportError(DrumnbError):
    """The objects given cannot be written as a model folder (``drumnb export``, ``%drum_export``)."""

    status = 400


class ContractError(DrumnbError):
    """Predictions break the output contract of the target type."""

    status = 500

    def __init__(self, rule: str, message: str, *, row: Any = None, hint: str | None = None):
        text = f"output contract broken ({rule}): {message}"
        if row is not None:
            text += f"\n  offending row: {row}"
        super().__init__(text, hint=hint or "fix the score/post_process hook, or the labels and target type given")
        self.rule = rule
        self.row = row


def _rebuild(cls: type, args: tuple, state: dict) -> DrumnbError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


def locate(exc: BaseException, roots: list[str]) -> tuple[str | None, int | None]:
    """The innermost traceback frame whose file lies under one of ``roots``.

    Used to name the file and line of user code (``custom.py``, a cell, a helper
    module) that raised, without showing the framework's own frames.
    """
    roots = [os.path.realpath(r) for r in roots if r]
    found: tuple[str | None, int | None] = (None, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        path = os.path.realpath(frame.filename)
        if any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots):
            found = (frame.filename, frame.lineno)
    return found
