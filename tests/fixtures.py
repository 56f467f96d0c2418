"""Tiny model folders with one behaviour each, written at test time."""
from __future__ import annotations

import os
import pickle
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd


def write_folder(root: Path, name: str, custom: str | None = None, files: dict[str, object] | None = None) -> Path:
    """A model folder ``root/name`` with ``custom.py`` (dedented) and other files.

    ``files`` maps a file name to text (str), bytes, or an object to pickle.
    """
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    if custom is not None:
        (folder / "custom.py").write_text(textwrap.dedent(custom).lstrip())
    for fname, content in (files or {}).items():
        path = folder / fname
        if isinstance(content, str):
            path.write_text(textwrap.dedent(content).lstrip())
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            with open(path, "wb") as fh:
                pickle.dump(content, fh)
    return folder


def frame(n: int = 20, cols: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, cols)), columns=[f"x{i}" for i in range(cols)])


class ConstantRegressor:
    """Picklable stand-in estimator: predicts the sum of each row."""

    def predict(self, X):
        return np.asarray(X, dtype=float).sum(axis=1)


ECHO_SCORE = textwrap.dedent("""
    import pandas as pd

    def load_model(code_dir):
        return "model"

    def score(data, model, **kwargs):
        return pd.DataFrame({"Predictions": data.iloc[:, 0].astype(float)})
""")


def unnamed_binary_folder(root: Path, name: str = "unnamed") -> Path:
    """A binary model whose probabilities carry no class names (one value a row, 0.8): the output DRUM 1.18.1
    reads the other way round."""
    return write_folder(root, name, """
        import numpy as np
        class Proba:
            def predict_proba(self, X):
                return np.full(len(X), 0.8)
        def load_model(code_dir):
            return Proba()
    """)


#: Unstructured request bodies and how the runner decodes them: (Content-Type, body, what the hook gets
#: (str or bytes), mimetype, charset).  The server's and batch mode's tests share it.
UNSTRUCTURED_DECODING = [
    (None, "héllo".encode(), "str", "text/plain", "utf-8"),
    ("text/plain", "héllo".encode(), "str", "text/plain", "utf-8"),
    ("TEXT/PLAIN", "héllo".encode(), "str", "text/plain", "utf-8"),
    ("text/plain; charset=latin1", "héllo".encode("latin1"), "str", "text/plain", "latin1"),
    ('text/plain; charset="latin1"', "héllo".encode("latin1"), "str", "text/plain", "latin1"),
    ("text/csv; charset=utf-16", "a,b".encode("utf-16"), "str", "text/csv", "utf-16"),
    ("application/json", b'{"a": 1}', "str", "application/json", "utf-8"),
    ("application/json-patch+json", b"[]", "str", "application/json-patch+json", "utf-8"),
    ("application/octet-stream", b"\x00\x01", "bytes", "application/octet-stream", None),
    ("image/png", b"\x89PNG", "bytes", "image/png", None),
    ("text/plain", b"", "str", "text/plain", "utf-8"),
]
