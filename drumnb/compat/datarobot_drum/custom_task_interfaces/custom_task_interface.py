"""The base of every custom task: pickling to and from ``drum_artifact.pkl``, and ``self.secrets``.

``save(dir)`` pickles the task into ``dir/drum_artifact.pkl`` and ``load(dir)``
reads it back (override either for frameworks that serialize themselves, e.g.
keras, and call ``save_task`` / ``load_task`` for the rest).  A task class
defined in a model folder's ``custom.py`` is pickled under the module name
``custom``, as DRUM's ``drum fit`` writes it, so artifacts move between DRUM
and drumnb both ways.
"""
from __future__ import annotations

import os
import pickle
import sys
from typing import Any, Iterable

from ...tasks import as_custom_module
from ..drum.exceptions import DrumSerializationError

ARTIFACT_FILE = "drum_artifact.pkl"


class Serializable:
    default_artifact_filename = ARTIFACT_FILE

    def save(self, artifact_directory: str) -> "Serializable":
        """Write this task into ``artifact_directory``; returns self (``task.fit(X, y).save(dir)``)."""
        self.save_task(artifact_directory)
        return self

    def save_task(self, artifact_directory: str, exclude: Iterable[str] | None = None) -> None:
        """Pickle this task, leaving out the attributes named in ``exclude`` (stored as None, then restored)."""
        held: dict[str, Any] = {}
        for name in exclude or ():
            if not hasattr(self, name):
                raise DrumSerializationError(f"save_task(exclude=...): this task has no attribute {name!r}")
            held[name] = getattr(self, name)
        try:
            for name in held:
                setattr(self, name, None)
            with as_custom_module(type(self)), open(os.path.join(artifact_directory, ARTIFACT_FILE), "wb") as fh:
                pickle.dump(self, fh)
        finally:
            for name, value in held.items():
                setattr(self, name, value)

    @classmethod
    def load(cls, artifact_directory: str) -> Any:
        """The task saved in ``artifact_directory`` (override to restore what ``save`` left out)."""
        return cls.load_task(artifact_directory)

    @classmethod
    def load_task(cls, artifact_directory: str) -> Any:
        path = os.path.join(artifact_directory, ARTIFACT_FILE)
        if not os.path.isfile(path):
            raise DrumSerializationError(
                f"no trained task: {ARTIFACT_FILE} is not in {artifact_directory}. A custom task folder is "
                f"scored after training: 'drum fit --code-dir DIR --output OUT ...' writes OUT/{ARTIFACT_FILE} "
                f"(or call {cls.__name__}().fit(X, y).save(DIR) yourself); score that folder")
        with as_custom_module(cls), open(path, "rb") as fh:
            task = pickle.load(fh)
        if not isinstance(task, cls):
            raise DrumSerializationError(f"{path} holds a {type(task).__name__}, not a {cls.__name__}")
        return task


class CustomTaskInterface(Serializable):
    _secrets: dict[str, Any] | None = None

    @property
    def secrets(self) -> dict[str, Any]:
        """Credentials by key (``self.secrets["API"].api_token``); empty when none were given.

        drumnb reads them, as DRUM does, from the folder named by ``USER_SECRETS_MOUNT_PATH``
        (one JSON file a key) and from ``<USER_SECRETS_PREFIX>_<KEY>`` environment variables.
        """
        return self._secrets or {}

    @secrets.setter
    def secrets(self, value: dict[str, Any] | None) -> None:
        self._secrets = value

    def fit(self, X, y, parameters=None, row_weights=None, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define fit(X, y, **kwargs)")

    @staticmethod
    def log_message(message: Any) -> None:
        print(message)
        sys.stdout.flush()
