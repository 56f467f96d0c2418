"""DataFrame columns as Java arrays: ``double[]`` for numbers (NaN = missing), ``String[]`` for categoricals."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .jvm import jvm


def _as_number_column(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _as_string_column(s: pd.Series) -> list[str | None]:
    out: list[str | None] = []
    for v in s.to_numpy(dtype=object):
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            out.append(None)
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            out.append(str(int(v)))  # 3.0 read from CSV names the level "3"
        else:
            out.append(str(v))
    return out


def java_columns(data: pd.DataFrame, names: list[str], categorical: set[str]) -> tuple[Any, Any]:
    jpype = jvm()
    JString = jpype.JClass("java.lang.String")
    cols = []
    for name in names:
        s = data[name]
        if name in categorical or not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
            if name in categorical:
                cols.append(jpype.JArray(JString)(_as_string_column(s)))
            else:  # a text column of a numeric feature: parse it, unparsable becomes missing
                cols.append(jpype.JArray(jpype.JDouble)(np.ascontiguousarray(_as_number_column(s))))
        else:
            cols.append(jpype.JArray(jpype.JDouble)(np.ascontiguousarray(_as_number_column(s))))
    return jpype.JArray(JString)(names), jpype.JArray(jpype.JObject)(cols)
