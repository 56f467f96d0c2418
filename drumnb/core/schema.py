"""DRUM's type schema (``typeSchema`` in ``model-metadata.yaml``): parse it, check data against it.

A schema is two optional lists of requirements, one for the data a model is
given and one for what it returns::

    typeSchema:
      input_requirements:
        - {field: data_types, condition: IN, value: [NUM, CAT]}
        - {field: number_of_columns, condition: NOT_LESS_THAN, value: 3}
        - {field: contains_missing, condition: EQUALS, value: FORBIDDEN}
        - {field: sparse, condition: EQUALS, value: SUPPORTED}
      output_requirements:
        - {field: data_types, condition: EQUALS, value: NUM}

The lists are also read at the top level of the file, as ``inputRequirements``
/ ``outputRequirements`` (or ``input_requirements`` / ``output_requirements``),
and inside ``typeSchema`` in camelCase.  Friendly spellings of the values are
accepted (``numeric``, ``text``, ``categorical``, ``date``, ``image``...).

Fields, conditions and values:

* ``data_types``: ``EQUALS`` (exactly these types are present), ``IN`` (only
  these), ``NOT_EQUALS`` / ``NOT_IN`` (none of these); values ``NUM``,
  ``TXT``, ``CAT``, ``DATE``, ``DATE_DURATION``, ``IMG``, ``COUNT_DICT``,
  ``GEO``.  A column's type is inferred from its values (see
  :func:`column_types`); a string column between clearly categorical and
  clearly text counts as either.
* ``number_of_columns``: ``EQUALS``, ``IN``, ``NOT_EQUALS``, ``GREATER_THAN``,
  ``LESS_THAN``, ``NOT_GREATER_THAN``, ``NOT_LESS_THAN`` (several entries make
  a range).
* ``contains_missing``: input ``FORBIDDEN`` / ``SUPPORTED``; output ``NEVER`` /
  ``DYNAMIC``.
* ``sparse``: input ``FORBIDDEN`` / ``SUPPORTED`` / ``REQUIRED``; output
  ``NEVER`` / ``DYNAMIC`` / ``ALWAYS`` / ``IDENTITY`` (sparse exactly when
  the input was).

A malformed schema is a :class:`~drumnb.core.errors.ConfigurationError` when
the model loads; data that breaks it is an :class:`InputSchemaError` (HTTP
422) or an :class:`OutputSchemaError` (500), each naming the field, the
column and what was expected.  Checks cost one pass over the columns; string
columns are typed from a sample of their values.
"""
from __future__ import annotations

import difflib
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .codecs import is_sparse
from .errors import ConfigurationError, DrumnbError, InputError

FILENAME = "model-metadata.yaml"

DATA_TYPES = ("NUM", "TXT", "CAT", "DATE", "DATE_DURATION", "IMG", "COUNT_DICT", "GEO")
TYPE_ALIASES = {
    "NUMERIC": "NUM", "NUMBER": "NUM", "NUMBERS": "NUM", "FLOAT": "NUM", "INT": "NUM", "INTEGER": "NUM",
    "TEXT": "TXT", "STRING": "TXT", "CATEGORICAL": "CAT", "CATEGORY": "CAT", "CATEGORIES": "CAT",
    "DATETIME": "DATE", "TIMESTAMP": "DATE", "DURATION": "DATE_DURATION", "TIMEDELTA": "DATE_DURATION",
    "IMAGE": "IMG", "IMAGES": "IMG",
}
TYPE_NAMES = {"NUM": "numeric", "TXT": "text", "CAT": "categorical", "DATE": "date", "DATE_DURATION": "duration",
              "IMG": "image", "COUNT_DICT": "count dictionary", "GEO": "geospatial"}

FIELDS = ("data_types", "number_of_columns", "contains_missing", "sparse")
FIELD_ALIASES = {"datatypes": "data_types", "types": "data_types", "n_columns": "number_of_columns",
                 "num_columns": "number_of_columns", "columns": "number_of_columns", "missing": "contains_missing"}
CONDITIONS = {
    "data_types": ("EQUALS", "IN", "NOT_EQUALS", "NOT_IN"),
    "number_of_columns": ("EQUALS", "IN", "NOT_EQUALS", "GREATER_THAN", "LESS_THAN", "NOT_GREATER_THAN",
                          "NOT_LESS_THAN"),
    "contains_missing": ("EQUALS",),
    "sparse": ("EQUALS",),
}
VALUES = {
    ("contains_missing", "input"): ("FORBIDDEN", "SUPPORTED"),
    ("contains_missing", "output"): ("NEVER", "DYNAMIC"),
    ("sparse", "input"): ("FORBIDDEN", "SUPPORTED", "REQUIRED"),
    ("sparse", "output"): ("NEVER", "DYNAMIC", "ALWAYS", "IDENTITY"),
}
ENTRY_KEYS = ("field", "condition", "value")
#: Where each direction's list may sit: (container, key); container None is the top level.
LOCATIONS = {
    "input": ((("typeSchema",), "input_requirements"), (("typeSchema",), "inputRequirements"),
              ((), "inputRequirements"), ((), "input_requirements")),
    "output": ((("typeSchema",), "output_requirements"), (("typeSchema",), "outputRequirements"),
               ((), "outputRequirements"), ((), "output_requirements")),
}
#: String values looked at per column to infer its type.
SAMPLE = 200

_DATE_RE = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
    r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp][Mm])?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$")
_IMG_PREFIXES = ("/9j/", "iVBORw0KGgo", "R0lGOD", "Qk", "UklGR")


# --- errors -------------------------------------------------------------------------------------

class SchemaError(DrumnbError):
    """Data breaks the model's type schema.  ``direction`` is "input" or "output"."""

    direction = "input"

    def __init__(self, message: str, *, field: str, expected: str, column: Any = None, actual: Any = None,
                 row: Any = None, hint: str | None = None):
        key = "inputRequirements" if self.direction == "input" else "outputRequirements"
        text = f"{self.direction} schema ({FILENAME} {key}), field '{field}': {message}"
        if row is not None:
            text += f"\n  offending row: {row}"
        super().__init__(text, hint=hint)
        self.field, self.column, self.expected, self.actual, self.row = field, column, expected, actual, row

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["schema"] = {"direction": self.direction, "field": self.field, "expected": self.expected,
                         **({"column": str(self.column)} if self.column is not None else {}),
                         **({"actual": self.actual} if self.actual is not None else {})}
        return out


class InputSchemaError(SchemaError, InputError):
    """The data sent to the model breaks ``inputRequirements`` (HTTP 422)."""

    direction = "input"
    status = 422
    default_hint = f"send data that meets the model's inputRequirements, or relax them in {FILENAME}"


class OutputSchemaError(SchemaError):
    """The model's predictions break ``outputRequirements`` (HTTP 500)."""

    direction = "output"
    status = 500
    default_hint = f"fix the score/post_process hooks, or the outputRequirements in {FILENAME}"


# --- parsing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Requirement:
    field: str
    condition: str
    value: Any  # a type list (data_types), an int or int list (number_of_columns), a keyword

    def describe(self) -> str:
        value = ", ".join(map(str, self.value)) if isinstance(self.value, (list, tuple)) else str(self.value)
        return f"{self.field} {self.condition} {value}"


@dataclass
class TypeSchema:
    """The parsed ``input`` and ``output`` requirement lists (either may be empty)."""

    input: list[Requirement] = field(default_factory=list)
    output: list[Requirement] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.input or self.output)

    def check_input(self, data: Any) -> None:
        """Raise :class:`InputSchemaError` when ``data`` (a DataFrame or sparse matrix) breaks the schema."""
        if self.input:
            _check(self.input, data, "input", None)

    def check_output(self, data: Any, *, input_data: Any = None) -> None:
        """Raise :class:`OutputSchemaError` when predictions ``data`` break the schema."""
        if self.output:
            _check(self.output, data, "output", input_data)

    def to_dict(self) -> dict[str, Any]:
        def one(r: Requirement) -> dict[str, Any]:
            return {"field": r.field, "condition": r.condition, "value": r.value}

        return {"input_requirements": [one(r) for r in self.input],
                "output_requirements": [one(r) for r in self.output]}


def _near(word: str, choices: Iterable[str]) -> str:
    near = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f"did you mean {near[0]!r}? " if near else ""


def _where(direction: str, i: int) -> str:
    return f"{FILENAME}: {direction}_requirements[{i}]"


def _flatten(value: Any) -> Any:
    """DRUM's documents show the lists as single-key mappings in a list: accept both shapes."""
    if isinstance(value, list) and value and all(isinstance(x, dict) and len(x) == 1 for x in value) and \
            all(next(iter(x)) not in ENTRY_KEYS for x in value):
        merged: dict[str, Any] = {}
        for x in value:
            merged.update(x)
        return merged
    return value


def _find(raw: dict[str, Any], direction: str) -> tuple[str, Any] | None:
    found = []
    for path, key in LOCATIONS[direction]:
        container: Any = raw
        for part in path:
            container = _flatten(container.get(part)) if isinstance(container, dict) else None
        if isinstance(container, dict) and key in container:
            found.append(("typeSchema." if path else "") + key)
            value = container[key]
    if not found:
        return None
    if len(found) > 1:
        raise ConfigurationError(f"{FILENAME}: the {direction} requirements are given twice ({', '.join(found)})",
                                 hint="keep one of them")
    return found[0], value


def _parse_types(value: Any, where: str) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise ConfigurationError(f"{where}: data_types needs at least one type",
                                 hint=f"types: {', '.join(DATA_TYPES)}")
    out = []
    for item in items:
        name = str(item).strip().upper().replace(" ", "_")
        name = TYPE_ALIASES.get(name, name)
        if name not in DATA_TYPES:
            raise ConfigurationError(f"{where}: unknown data type {item!r}",
                                     hint=_near(name, list(DATA_TYPES) + list(TYPE_ALIASES)) +
                                     f"types: {', '.join(DATA_TYPES)}")
        if name not in out:
            out.append(name)
    return out


def _parse_count(value: Any, condition: str, where: str) -> Any:
    def one(x: Any) -> int:
        if isinstance(x, bool) or not isinstance(x, (int, float, str)) or not str(x).strip().lstrip("-").isdigit():
            raise ConfigurationError(f"{where}: number_of_columns needs whole numbers, got {x!r}")
        n = int(str(x).strip())
        if n < 0:
            raise ConfigurationError(f"{where}: number_of_columns cannot be negative, got {n}")
        return n

    if condition == "IN":
        items = value if isinstance(value, (list, tuple)) else [value]
        return [one(x) for x in items]
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ConfigurationError(f"{where}: number_of_columns {condition} takes one number, got {value!r}",
                                     hint="use condition IN for a list of allowed counts")
        value = value[0]
    return one(value)


def parse_requirements(items: Any, direction: str, *, source: str = "") -> list[Requirement]:
    """One requirement list (``direction`` "input" or "output"); ConfigurationError when malformed."""
    if items is None:
        return []
    if isinstance(items, dict):  # a single entry written as a mapping
        items = [items]
    if not isinstance(items, list):
        raise ConfigurationError(f"{FILENAME}: {source or direction + '_requirements'} must be a list of "
                                 f"{{field, condition, value}} entries, got {type(items).__name__}")
    out: list[Requirement] = []
    seen: set[str] = set()
    for i, entry in enumerate(items):
        where = _where(direction, i)
        if not isinstance(entry, dict):
            raise ConfigurationError(f"{where} must be a mapping with field, condition and value, got {entry!r}")
        for key in entry:
            if key not in ENTRY_KEYS:
                warnings.warn(f"{where}: unknown key {key!r}; {_near(str(key), ENTRY_KEYS)}"
                              "entries have field, condition and value", stacklevel=4)
        missing = [k for k in ENTRY_KEYS if k not in entry]
        if missing:
            raise ConfigurationError(f"{where} lacks {', '.join(missing)}",
                                     hint="write e.g. {field: data_types, condition: IN, value: [NUM, CAT]}")
        name = str(entry["field"]).strip().lower()
        name = FIELD_ALIASES.get(name, name)
        if name not in FIELDS:
            raise ConfigurationError(f"{where}: unknown field {entry['field']!r}",
                                     hint=_near(name, FIELDS) + f"fields: {', '.join(FIELDS)}")
        cond = str(entry["condition"]).strip().upper().replace(" ", "_")
        if cond not in CONDITIONS[name]:
            all_conditions = sorted({c for cs in CONDITIONS.values() for c in cs})
            raise ConfigurationError(f"{where}: condition {entry['condition']!r} is not allowed for {name}",
                                     hint=(_near(cond, all_conditions) if cond not in all_conditions else "") +
                                     f"{name} takes: {', '.join(CONDITIONS[name])}")
        if name != "number_of_columns":
            if name in seen:
                raise ConfigurationError(f"{where}: {name} is given twice in the {direction} requirements",
                                         hint=f"one {name} entry per list (number_of_columns may repeat)")
            seen.add(name)
        value = entry["value"]
        if name == "data_types":
            parsed: Any = _parse_types(value, where)
            if cond in ("NOT_EQUALS",) and len(parsed) != 1:
                raise ConfigurationError(f"{where}: data_types NOT_EQUALS takes one type, got {parsed}",
                                         hint="use NOT_IN for several types")
        elif name == "number_of_columns":
            parsed = _parse_count(value, cond, where)
        else:
            allowed = VALUES[(name, direction)]
            word = str(value).strip().upper()
            if word not in allowed:
                other = "output" if direction == "input" else "input"
                extra = (f"{word} is a value for {other} requirements; " if word in VALUES[(name, other)] else
                         _near(word, allowed))
                raise ConfigurationError(f"{where}: {name} cannot be {value!r} in {direction} requirements",
                                         hint=f"{extra}{direction} {name} takes: {', '.join(allowed)}")
            parsed = word
        out.append(Requirement(name, cond, parsed))
    return out


def parse_type_schema(raw: dict[str, Any]) -> TypeSchema | None:
    """The schema of a parsed ``model-metadata.yaml`` mapping; None when it declares none."""
    if not isinstance(raw, dict):
        return None
    ts = raw.get("typeSchema")
    if ts is not None and not isinstance(_flatten(ts), dict):
        raise ConfigurationError(f"{FILENAME}: typeSchema must be a mapping with input_requirements and/or "
                                 "output_requirements")
    if isinstance(_flatten(ts), dict):
        for key in _flatten(ts):
            if key not in ("input_requirements", "output_requirements", "inputRequirements", "outputRequirements"):
                warnings.warn(f"{FILENAME}: unknown key {key!r} in typeSchema; "
                              f"{_near(str(key), ['input_requirements', 'output_requirements'])}", stacklevel=3)
    schema = TypeSchema()
    for direction in ("input", "output"):
        found = _find(raw, direction)
        if found is not None:
            source, items = found
            setattr(schema, direction, parse_requirements(items, direction, source=source))
    return schema if schema else None


# --- inferring column types ---------------------------------------------------------------------

def _is_sparse_frame(data: Any) -> bool:
    return is_sparse(data)


def _string_types(values: pd.Series) -> frozenset[str]:
    sample = values.dropna()
    if len(sample) > SAMPLE:
        sample = sample.sample(SAMPLE, random_state=0)
    if sample.empty:
        return frozenset()
    if not all(isinstance(v, str) for v in sample):
        if all(isinstance(v, dict) for v in sample):
            return frozenset({"COUNT_DICT"})
        if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in sample):
            return frozenset({"NUM"})
        return frozenset({"CAT"})
    text = sample.astype(str)
    if text.map(lambda s: bool(_DATE_RE.match(s))).all():
        return frozenset({"DATE"})
    if text.map(lambda s: len(s) > 200 and s.startswith(_IMG_PREFIXES) and " " not in s).all():
        return frozenset({"IMG"})
    words = text.str.split().str.len().fillna(0)
    mean_words, mean_len = float(words.mean()), float(text.str.len().mean())
    if mean_words >= 4 or mean_len >= 40:
        return frozenset({"TXT"})
    if mean_words < 1.5:
        return frozenset({"CAT"})
    return frozenset({"CAT", "TXT"})  # a few words a value: could be either


def column_types(data: Any) -> dict[Any, frozenset[str]]:
    """The plausible schema types of each column: ``{column: {"NUM"}}``, ``{"CAT", "TXT"}``...

    Numbers and booleans are NUM; datetimes DATE; timedeltas DATE_DURATION;
    pandas categoricals CAT.  Strings: dates (``2024-01-31``, ``01/31/2024
    10:00``) are DATE, base64 images IMG, long or many-word values TXT,
    single tokens CAT, and a few words a value either CAT or TXT.  A column
    with no values has no type (an empty set).
    """
    if not isinstance(data, pd.DataFrame):
        width = data.shape[1] if getattr(data, "ndim", 0) == 2 else 1
        return {i: frozenset({"NUM"}) for i in range(width)}
    out: dict[Any, frozenset[str]] = {}
    for i, col in enumerate(data.columns):
        s = data.iloc[:, i]
        dtype = s.dtype
        if isinstance(dtype, pd.SparseDtype):
            out[col] = frozenset({"NUM"})
        elif isinstance(dtype, pd.CategoricalDtype):
            out[col] = frozenset({"CAT"})
        elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            out[col] = frozenset({"NUM"})
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            out[col] = frozenset({"DATE"})
        elif pd.api.types.is_timedelta64_dtype(dtype):
            out[col] = frozenset({"DATE_DURATION"})
        else:
            out[col] = _string_types(s)
    return out


def _show(types: frozenset[str]) -> str:
    return " or ".join(sorted(types)) if types else "empty"


# --- checking -----------------------------------------------------------------------------------

def _width(data: Any) -> int:
    shape = getattr(data, "shape", None)
    if shape is not None and len(shape) == 2:
        return int(shape[1])
    return 1


def _row_text(data: Any, i: int) -> str | None:
    if not isinstance(data, pd.DataFrame):
        return None
    row = data.iloc[i]
    items = [(c, v.item() if isinstance(v, np.generic) else v) for c, v in row.items()]
    shown = ", ".join(f"{c!r}: {v!r}" for c, v in items[:12])
    return "{" + shown + (", ..." if len(items) > 12 else "") + "}"


def _checkable(data: Any) -> bool:
    """A DataFrame, a 2-D array or a scipy sparse matrix; anything else a hook returned is not typed here."""
    return isinstance(data, pd.DataFrame) or (getattr(data, "ndim", 0) == 2 and hasattr(data, "shape"))


def _check(reqs: list[Requirement], data: Any, direction: str, input_data: Any) -> None:
    if not _checkable(data):
        return
    error = InputSchemaError if direction == "input" else OutputSchemaError
    what = "the input" if direction == "input" else "the predictions"
    sparse = _is_sparse_frame(data)
    types: dict[Any, frozenset[str]] | None = None
    for req in reqs:
        if req.field == "number_of_columns":
            _check_count(req, _width(data), data, what, error)
        elif req.field == "sparse":
            _check_sparse(req, sparse, input_data, what, error)
        elif req.field == "contains_missing":
            if req.value in ("FORBIDDEN", "NEVER"):
                _check_missing(req, data, what, error)
        elif req.field == "data_types":
            if types is None:
                types = column_types(data)
            _check_types(req, types, what, error)


def _check_count(req: Requirement, n: int, data: Any, what: str, error: type[SchemaError]) -> None:
    c, v = req.condition, req.value
    ok = {"EQUALS": lambda: n == v, "IN": lambda: n in v, "NOT_EQUALS": lambda: n != v,
          "GREATER_THAN": lambda: n > v, "LESS_THAN": lambda: n < v, "NOT_GREATER_THAN": lambda: n <= v,
          "NOT_LESS_THAN": lambda: n >= v}[c]()
    if ok:
        return
    words = {"EQUALS": f"exactly {v}", "IN": f"one of {v}", "NOT_EQUALS": f"any number but {v}",
             "GREATER_THAN": f"more than {v}", "LESS_THAN": f"fewer than {v}",
             "NOT_GREATER_THAN": f"at most {v}", "NOT_LESS_THAN": f"at least {v}"}[c]
    cols = [str(x) for x in getattr(data, "columns", [])]
    listed = f" ({cols[:15]}{' ...' if len(cols) > 15 else ''})" if cols else ""
    raise error(f"{what} has {n} column(s){listed}; expected {words} ({req.describe()})",
                field=req.field, expected=f"{c} {v}", actual=n)


def _check_sparse(req: Requirement, sparse: bool, input_data: Any, what: str, error: type[SchemaError]) -> None:
    v = req.value
    kind = "sparse" if sparse else "dense"
    if v in ("FORBIDDEN", "NEVER") and sparse:
        expected = "dense data" if v == "FORBIDDEN" else "dense predictions"
    elif v in ("REQUIRED", "ALWAYS") and not sparse:
        expected = "sparse data (Matrix Market)" if v == "REQUIRED" else "sparse output"
    elif v == "IDENTITY" and input_data is not None and sparse != _is_sparse_frame(input_data):
        expected = f"{'sparse' if not sparse else 'dense'} output, as the input was"
    else:
        return
    raise error(f"{what} is {kind}; expected {expected} ({req.describe()})", field=req.field,
                expected=f"EQUALS {v}", actual=kind)


def _check_missing(req: Requirement, data: Any, what: str, error: type[SchemaError]) -> None:
    if not isinstance(data, pd.DataFrame):
        arr = getattr(data, "data", None)  # scipy sparse: stored values only
        if arr is not None and np.issubdtype(np.asarray(arr).dtype, np.floating) and np.isnan(arr).any():
            raise error(f"{what} holds missing values; expected none ({req.describe()})", field=req.field,
                        expected=f"EQUALS {req.value}")
        return
    mask = data.isna()
    cols = mask.any(axis=0)
    if not cols.any():
        return
    col = cols.index[int(np.argmax(cols.to_numpy()))]
    position = list(data.columns).index(col)
    i = int(np.argmax(mask.iloc[:, position].to_numpy()))
    n = int(mask.iloc[:, position].sum())
    others = [str(c) for c in cols.index[cols.to_numpy()] if c != col]
    also = f" (also missing in {others[:10]})" if others else ""
    raise error(f"column {str(col)!r} has {n} missing value(s), first in row {i}; expected no missing values"
                f"{also} ({req.describe()})", field=req.field, column=col, expected=f"EQUALS {req.value}",
                actual="missing", row=_row_text(data, i))


def _check_types(req: Requirement, types: dict[Any, frozenset[str]], what: str, error: type[SchemaError]) -> None:
    c, allowed = req.condition, set(req.value)
    expected = f"{c} {', '.join(req.value)}"
    if c in ("IN", "EQUALS"):
        for col, ts in types.items():
            if ts and not ts & allowed:
                raise error(f"column {str(col)!r} is {_show(ts)} ({', '.join(TYPE_NAMES[t] for t in sorted(ts))}); "
                            f"expected {'one of ' if len(allowed) > 1 else ''}{', '.join(req.value)} "
                            f"({req.describe()})", field=req.field, column=col, expected=expected, actual=_show(ts))
        if c == "EQUALS":
            present = set().union(*types.values()) if types else set()
            absent = [t for t in req.value if t not in present]
            if absent:
                raise error(f"{what} has no {', '.join(absent)} column; expected columns of each of "
                            f"{', '.join(req.value)} ({req.describe()})", field=req.field, expected=expected,
                            actual=sorted(present))
    else:  # NOT_EQUALS / NOT_IN: a column whose every plausible type is forbidden
        for col, ts in types.items():
            if ts and ts <= allowed:
                raise error(f"column {str(col)!r} is {_show(ts)} ({', '.join(TYPE_NAMES[t] for t in sorted(ts))}); "
                            f"expected no {', '.join(req.value)} column ({req.describe()})", field=req.field,
                            column=col, expected=expected, actual=_show(ts))


__all__ = ["TypeSchema", "Requirement", "SchemaError", "InputSchemaError", "OutputSchemaError",
           "parse_type_schema", "parse_requirements", "column_types"]
