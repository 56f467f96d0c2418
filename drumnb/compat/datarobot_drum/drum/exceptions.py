"""Exceptions a hook may raise or catch, under the names DRUM gives them.

:class:`CustomHTTPError` is the one with a meaning for drumnb: raised by a hook
while a request is scored, the server answers with its ``status_code`` and the
JSON body ``{"message": <message>}``; the CLI prints the message and exits 1.
Raised while the model loads (``load_model``), it is a load failure like any
other (513 from the error server), as in DRUM.  It is a :class:`DrumnbError`,
so drumnb's front ends render it in their one error path.
"""
from __future__ import annotations

from typing import Any

from ....core.errors import DrumnbError


class DrumException(Exception):
    """Base of DRUM's own exception names (plain exceptions: a hook raising one fails as any error does)."""


class DrumCommonException(DrumException):
    pass


class DrumSerializationError(DrumException):
    """A custom task could not be saved or loaded."""


class DrumTransformException(DrumException):
    pass


class DrumPredException(DrumException):
    pass


class DrumSchemaValidationException(DrumException):
    pass


class DrumFormatSchemaException(DrumException):
    pass


class DrumRootComponentException(DrumException):
    pass


class DrumPerfTestTimeout(DrumException):
    pass


class DrumPerfTestOOM(DrumException):
    pass


class UnrecoverableError(DrumException):
    pass


class UnrecoverableConfigurationError(UnrecoverableError):
    pass


class BaseCustomUserError(DrumnbError):
    """An error a model author raises on purpose: its message reaches the client as it is."""

    status = 400
    #: DRUM marks these answers so that a client can tell the author's error from the server's.
    http_headers = {"X-Drum-User-Http-Error": "true"}

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message}

    def render(self) -> str:
        return f"{self.message} ({type(self).__name__}, HTTP status {self.status})"


class CustomHTTPError(BaseCustomUserError):
    """``raise CustomHTTPError("quota exceeded", status_code=429)`` in a hook: the server answers 429."""

    def __init__(self, message: Any = "User's HTTP error in custom model", status_code: int = 400):
        if isinstance(status_code, bool) or not isinstance(status_code, int) or not 100 <= status_code <= 599:
            raise TypeError(f"CustomHTTPError(message, status_code): status_code must be an HTTP status "
                            f"code (an int from 100 to 599), got {status_code!r}")
        super().__init__(str(message), status=status_code)
        self.status_code = status_code
