"""``drumnb validation``: checks a model author needs before deploying, each with the smallest failing example.

DRUM's one check, and the ones it lacks::

    report = validate("my_model/", "data.csv")        # or a DataFrame, or a loaded Model
    report.passed                                      # False when any check FAILED
    print(report)                                      # the PASSED / FAILED table and the examples
    report                                             # in a notebook: the same as a rich table

Checks, in the order they run (``checks=`` picks some by name):

``contract``           the input scores; predictions follow the target type's contract and the
                       typeSchema of model-metadata.yaml (when it declares one)
``null_imputation``    each feature set to missing in turn still scores (DRUM's check)
``determinism``        two calls on the same rows give the same answers
``batch_vs_single``    rows scored one by one give the answers they get in the batch
``row_order``          reversing the rows does not change any row's answer
``unseen_categories``  a row whose text/categorical value was never seen still scores

A failure comes with the smallest example found (usually one row: for a
missing feature, the row with that feature empty), the error or the two
different answers, and how it was found.  When scoring is not deterministic,
the checks that compare answers are skipped (they could not tell a cause).
Numbers are compared with ``rtol`` / ``atol`` (float32 models differ in the
last bits between batch sizes).
"""
from __future__ import annotations

import difflib
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..core import codecs
from ..core.errors import ConfigurationError, DrumnbError, InputError
from ..core.targets import TargetType
from ..model import load_model
from . import _render

PASSED, FAILED, SKIPPED, WARN = "PASSED", "FAILED", "SKIPPED", "WARN"
UNSEEN = "drumnb-unseen-category"

TITLES = {
    "contract": "Output contract and schemas",
    "null_imputation": "Null value imputation",
    "determinism": "Deterministic across calls",
    "batch_vs_single": "Single rows match the batch",
    "row_order": "Row order does not change answers",
    "unseen_categories": "Unseen categories",
    "drum_compat": "Same answer as DRUM 1.18.1",
}
CHECKS = tuple(TITLES)


@dataclass
class CheckResult:
    """One check: its status, a one-line summary and, on failure, the smallest example found."""

    name: str
    status: str
    summary: str = ""
    message: str = ""                  # why it failed (an error, or what differs)
    example: pd.DataFrame | None = None  # the smallest input that shows the failure
    example_note: str = ""             # how to read the example
    answers: pd.DataFrame | None = None  # the answers that differ, side by side
    seconds: float = 0.0
    focus: Any = None                  # the column the failure is about (shown first)

    def shown_example(self) -> pd.DataFrame | None:
        """The example with the column it is about first (for display; ``example`` keeps the input's order)."""
        if self.example is None or self.focus is None or self.focus not in self.example.columns:
            return self.example
        return self.example[[self.focus] + [c for c in self.example.columns if c != self.focus]]

    @property
    def title(self) -> str:
        return TITLES.get(self.name, self.name)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "title": self.title, "status": self.status,
                               "summary": self.summary, "seconds": round(self.seconds, 4)}
        if self.message:
            out["message"] = self.message
        if self.example is not None:
            out["example"] = _records(self.example)
            out["example_note"] = self.example_note
        if self.answers is not None:
            out["answers"] = _records(self.answers, index=True)
        return out


def _short(text: str, width: int = 110) -> str:
    return text if len(text) <= width else text[: width - 4] + " ..."


def _records(df: pd.DataFrame, index: bool = False) -> Any:
    import json

    frame = df.reset_index() if index else df
    return json.loads(frame.to_json(orient="records", date_format="iso"))


@dataclass
class ValidationReport:
    """What :func:`validate` found: ``.passed``, ``.checks``; prints as a table, renders as HTML."""

    model: str
    target_type: str
    rows: int
    checks: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not any(c.status == FAILED for c in self.checks)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == FAILED]

    def __getitem__(self, name: str) -> CheckResult:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def __bool__(self) -> bool:
        return self.passed

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "targetType": self.target_type, "rows": self.rows, "passed": self.passed,
                "seconds": round(self.seconds, 3), "checks": [c.to_dict() for c in self.checks]}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"check": c.title, "result": c.status, "details": c.summary or c.message.split("\n")[0],
                              "seconds": round(c.seconds, 3)} for c in self.checks])

    def to_text(self) -> str:
        head = (f"drumnb validation: {self.model} ({self.target_type}, {self.rows} row(s) of input) - "
                f"{'PASSED' if self.passed else 'FAILED'} in {self.seconds:.1f}s")
        rows = [(c.title, c.status, f"{c.seconds:.2f}s", _short(c.summary)) for c in self.checks]
        out = [head, "", _render.text_table(["CHECK", "RESULT", "TIME", "DETAILS"], rows, align_right=(2,))]
        for c in [c for c in self.checks if c.status == WARN]:
            out += ["", f"WARN: {c.title}", _render.indent(c.message)]
        for c in self.failed:
            out += ["", f"FAILED: {c.title}", _render.indent(c.message)]
            if c.example is not None:
                note = f": {c.example_note}" if c.example_note else ""
                out += [f"  smallest example ({len(c.example)} row(s)){note}",
                        _render.indent(_render.frame_text(c.shown_example()))]
            if c.answers is not None:
                out += ["  answers:", _render.indent(_render.frame_text(c.answers))]
        return "\n".join(out)

    __str__ = to_text

    def _repr_html_(self) -> str:
        verdict = _render.status_html(PASSED if self.passed else FAILED)
        rows = [(_render.esc(c.title), _render.status_html(c.status), f"{c.seconds:.2f}s", _render.esc(c.summary))
                for c in self.checks]
        parts = [f"<div><b>drumnb validation</b>: <code>{_render.esc(self.model)}</code> "
                 f"({_render.esc(self.target_type)}, {self.rows} row(s)) {verdict} in {self.seconds:.1f}s</div>",
                 _render.html_table(["Check", "Result", "Time", "Details"], rows, raw_columns=(0, 1, 2, 3),
                                    align_right=(2,))]
        for c in [c for c in self.checks if c.status == WARN]:
            parts.append(f"<details open><summary>{_render.status_html(WARN)} {_render.esc(c.title)}</summary>"
                         f"<pre style='white-space:pre-wrap'>{_render.esc(c.message)}</pre></details>")
        for c in self.failed:
            parts.append(f"<details open><summary>{_render.status_html(FAILED)} {_render.esc(c.title)}</summary>"
                         f"<pre>{_render.esc(c.message)}</pre>")
            if c.example is not None:
                parts.append(f"<div>Smallest example ({len(c.example)} row(s))"
                             f"{': ' + _render.esc(c.example_note) if c.example_note else ''}</div>"
                             + _render.frame_html(c.shown_example()))
            if c.answers is not None:
                parts.append("<div>Answers</div>" + _render.frame_html(c.answers))
            parts.append("</details>")
        return "\n".join(parts)

    def __repr__(self) -> str:
        return (f"<ValidationReport {self.model!r} {'PASSED' if self.passed else 'FAILED'}: "
                + ", ".join(f"{c.name}={c.status}" for c in self.checks) + ">")


# --- scoring helpers ----------------------------------------------------------------------------

def _error_text(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, DrumnbError) else f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 800 else text[:800] + " ..."


def _dense(out: Any) -> pd.DataFrame:
    """Predictions (or a transform's output) as a plain DataFrame, for comparing."""
    if isinstance(out, pd.DataFrame):
        if any(isinstance(d, pd.SparseDtype) for d in out.dtypes):
            return out.sparse.to_dense()
        return out.reset_index(drop=True)
    if hasattr(out, "toarray"):
        return pd.DataFrame(out.toarray())
    return pd.DataFrame(np.asarray(out))


class _Scorer:
    def __init__(self, model: Any):
        self.model = model
        self.calls = 0

    def __call__(self, df: pd.DataFrame) -> pd.DataFrame:
        self.calls += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _dense(self.model.predict(df.reset_index(drop=True)))

    def fails(self, df: pd.DataFrame) -> BaseException | None:
        try:
            self(df)
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            return exc
        return None


def _first_difference(a: pd.DataFrame, b: pd.DataFrame, rtol: float, atol: float) -> tuple[int, str] | None:
    """(row position, column) of the first answer that differs; (-1, reason) when the shapes differ."""
    if a.shape != b.shape:
        return -1, f"shapes differ: {a.shape} vs {b.shape}"
    if [str(c) for c in a.columns] != [str(c) for c in b.columns]:
        return -1, f"columns differ: {list(a.columns)} vs {list(b.columns)}"
    bad = np.zeros(len(a), dtype=bool)
    first_col: dict[int, str] = {}
    for i in range(a.shape[1]):
        x, y = a.iloc[:, i], b.iloc[:, i]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y) and \
                not pd.api.types.is_bool_dtype(x):
            xv, yv = x.to_numpy(dtype="float64", na_value=np.nan), y.to_numpy(dtype="float64", na_value=np.nan)
            diff = ~np.isclose(xv, yv, rtol=rtol, atol=atol, equal_nan=True)
        else:
            xs, ys = x.astype(object), y.astype(object)
            same = (xs == ys).to_numpy(dtype=bool) | (x.isna().to_numpy() & y.isna().to_numpy())
            diff = ~same
        for r in np.flatnonzero(diff & ~bad)[:1]:
            first_col.setdefault(int(r), str(a.columns[i]))
        bad |= diff
    if not bad.any():
        return None
    r = int(np.argmax(bad))
    return r, first_col.get(r, str(a.columns[0]))


def _side_by_side(labels: Sequence[str], frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    rows = [f.iloc[0] if len(f) else pd.Series(dtype=object) for f in frames]
    return pd.DataFrame(rows, index=list(labels))


@dataclass
class _Context:
    model: Any
    data: pd.DataFrame
    score: _Scorer
    rtol: float
    atol: float
    single_rows: int
    shrink_tries: int
    batch: pd.DataFrame | None = None
    skip_compare: str | None = None  # why answer-comparing checks are skipped

    def differ(self, a: pd.DataFrame, b: pd.DataFrame) -> tuple[int, str] | None:
        return _first_difference(a, b, self.rtol, self.atol)


def _fail_rows(ctx: _Context, frame: pd.DataFrame, rows: Sequence[int]) -> tuple[int, BaseException] | None:
    """The first of ``rows`` that fails on its own."""
    for i in list(rows)[: ctx.shrink_tries]:
        exc = ctx.score.fails(frame.iloc[[i]])
        if exc is not None:
            return i, exc
    return None


# --- the checks ---------------------------------------------------------------------------------

def check_contract(ctx: _Context) -> CheckResult:
    try:
        ctx.batch = ctx.score(ctx.data)
    except Exception as exc:  # noqa: BLE001
        res = CheckResult("contract", FAILED, "the input does not score", message=_error_text(exc))
        found = _fail_rows(ctx, ctx.data, range(len(ctx.data)))
        if found is not None:
            i, err = found
            res.example, res.example_note = ctx.data.iloc[[i]], f"row {i} alone: {_error_text(err).splitlines()[0]}"
        else:
            res.example, res.example_note = ctx.data, "no single row fails alone: the whole batch does"
        ctx.skip_compare = "the input does not score (see the contract check)"
        return res
    schema = getattr(getattr(ctx.model, "metadata", None), "type_schema", None)
    what = (f"typeSchema held ({len(schema.input)} input, {len(schema.output)} output requirement(s))"
            if schema else "no typeSchema declared")
    cols = [str(c) for c in ctx.batch.columns]
    shown = cols[:6] + (["..."] if len(cols) > 6 else [])
    return CheckResult("contract", PASSED, f"{len(ctx.batch)} prediction row(s), columns {shown}; {what}")


def check_null_imputation(ctx: _Context) -> CheckResult:
    if ctx.batch is None:
        return CheckResult("null_imputation", SKIPPED, ctx.skip_compare or "the input does not score")
    schema = getattr(getattr(ctx.model, "metadata", None), "type_schema", None)
    for req in getattr(schema, "input", None) or []:
        if req.field == "contains_missing" and req.value == "FORBIDDEN":
            return CheckResult("null_imputation", SKIPPED, "inputRequirements forbid missing values")
    failures = []
    for col in ctx.data.columns:
        frame = ctx.data.copy()
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype(object)
        frame[col] = np.nan
        exc = ctx.score.fails(frame)
        if exc is not None:
            failures.append((col, frame, exc))
    n = ctx.data.shape[1]
    if not failures:
        return CheckResult("null_imputation", PASSED, f"{n} feature(s) set to missing in turn: all scored")
    names = [str(c) for c, _, _ in failures]
    col, frame, exc = failures[0]
    res = CheckResult("null_imputation", FAILED,
                      f"{len(failures)} of {n} feature(s) fail when missing: {names[:8]}"
                      + (" ..." if len(names) > 8 else ""),
                      message=f"with feature {str(col)!r} missing: {_error_text(exc)}", focus=col)
    found = _fail_rows(ctx, frame, range(len(frame)))
    if found is not None:
        i, err = found
        res.example, res.example_note = frame.iloc[[i]], f"row {i} with {str(col)!r} empty"
        res.message = f"with feature {str(col)!r} missing: {_error_text(err)}"
    else:
        res.example, res.example_note = frame, f"{str(col)!r} empty in every row (no single row fails alone)"
    return res


def check_determinism(ctx: _Context) -> CheckResult:
    if ctx.batch is None:
        return CheckResult("determinism", SKIPPED, ctx.skip_compare or "the input does not score")
    try:
        again = ctx.score(ctx.data)
    except Exception as exc:  # noqa: BLE001
        ctx.skip_compare = "scoring failed on a second call"
        return CheckResult("determinism", FAILED, "a second call on the same rows failed", message=_error_text(exc),
                           example=ctx.data, example_note="the same rows as the first call")
    diff = ctx.differ(ctx.batch, again)
    if diff is None:
        return CheckResult("determinism", PASSED, f"two calls on {len(ctx.data)} row(s) agree")
    ctx.skip_compare = "scoring is not deterministic, so answers cannot be compared"
    r, col = diff
    if r < 0:
        return CheckResult("determinism", FAILED, "two calls on the same rows differ", message=col,
                           example=ctx.data, example_note="the whole input, scored twice")
    res = CheckResult("determinism", FAILED, f"two calls on the same rows differ (row {r}, column {col!r})",
                      message=f"row {r}, column {col!r}: {ctx.batch.iloc[r][col]!r} then {again.iloc[r][col]!r}")
    res.example, res.example_note = ctx.data.iloc[[r]], f"row {r} of the batch, scored twice"
    res.answers = _side_by_side(["1st call", "2nd call"], [ctx.batch.iloc[[r]], again.iloc[[r]]])
    one = ctx.data.iloc[[r]]
    for _ in range(3):  # a single row that shows it on its own?
        try:
            a, b = ctx.score(one), ctx.score(one)
        except Exception:  # noqa: BLE001
            break
        if ctx.differ(a, b) is not None:
            res.example_note = f"row {r} alone, scored twice"
            res.answers = _side_by_side(["1st call", "2nd call"], [a, b])
            break
    return res


def check_batch_vs_single(ctx: _Context) -> CheckResult:
    if ctx.batch is None or ctx.skip_compare:
        return CheckResult("batch_vs_single", SKIPPED, ctx.skip_compare or "the input does not score")
    n = min(len(ctx.data), ctx.single_rows)
    for i in range(n):
        row = ctx.data.iloc[[i]]
        try:
            alone = ctx.score(row)
        except Exception as exc:  # noqa: BLE001
            return CheckResult("batch_vs_single", FAILED, f"row {i} fails when scored alone",
                               message=f"row {i} scores in the batch but alone: {_error_text(exc)}",
                               example=row, example_note=f"row {i}, scored alone")
        in_batch = ctx.batch.iloc[[i]].reset_index(drop=True)
        diff = ctx.differ(in_batch, alone)
        if diff is None:
            continue
        col = diff[1]
        res = CheckResult("batch_vs_single", FAILED, f"row {i} gets another answer alone than in the batch "
                          f"(column {col!r})",
                          message=f"row {i}, column {col!r}: {in_batch.iloc[0].get(col)!r} in the batch of "
                                  f"{len(ctx.data)}, {alone.iloc[0].get(col)!r} alone")
        res.example, res.example_note = row, f"row {i}: alone vs in the batch of {len(ctx.data)} rows"
        res.answers = _side_by_side([f"in batch of {len(ctx.data)}", "alone"], [in_batch, alone])
        for j in [k for k in range(len(ctx.data)) if k != i][: ctx.shrink_tries]:  # a 2-row batch that shows it?
            pair = ctx.data.iloc[[i, j]]
            try:
                two = ctx.score(pair)
            except Exception:  # noqa: BLE001
                continue
            if ctx.differ(two.iloc[[0]].reset_index(drop=True), alone) is not None:
                res.example, res.example_note = pair, f"row {i} alone vs in this 2-row batch (with row {j})"
                res.answers = _side_by_side(["in the 2-row batch", "alone"], [two.iloc[[0]], alone])
                res.message = (f"row {i}, column {col!r}: {two.iloc[0].get(col)!r} in a 2-row batch with row {j}, "
                               f"{alone.iloc[0].get(col)!r} alone")
                break
        return res
    return CheckResult("batch_vs_single", PASSED, f"{n} row(s) scored one by one match the batch")


def check_row_order(ctx: _Context) -> CheckResult:
    if ctx.batch is None or ctx.skip_compare:
        return CheckResult("row_order", SKIPPED, ctx.skip_compare or "the input does not score")
    n = len(ctx.data)
    if n < 2:
        return CheckResult("row_order", SKIPPED, "needs at least 2 rows of input")
    order = np.arange(n)[::-1]
    try:
        reordered = ctx.score(ctx.data.iloc[order])
    except Exception as exc:  # noqa: BLE001
        return CheckResult("row_order", FAILED, "the rows in reverse order fail", message=_error_text(exc),
                           example=ctx.data.iloc[order], example_note="the input in reverse order")
    back = reordered.iloc[np.argsort(order)].reset_index(drop=True)
    diff = ctx.differ(ctx.batch, back)
    if diff is None:
        return CheckResult("row_order", PASSED, f"{n} rows in reverse order get the same answers")
    r, col = diff
    if r < 0:
        return CheckResult("row_order", FAILED, "reversed rows give another shape of answers", message=col,
                           example=ctx.data, example_note="the input, scored as given and reversed")
    res = CheckResult("row_order", FAILED, f"row {r} gets another answer when the rows are reversed (column {col!r})",
                      message=f"row {r}, column {col!r}: {ctx.batch.iloc[r][col]!r} in the given order, "
                              f"{back.iloc[r][col]!r} in reverse order")
    res.example, res.example_note = ctx.data, f"row {r}, in the given and the reversed order"
    res.answers = _side_by_side(["given order", "reversed"], [ctx.batch.iloc[[r]], back.iloc[[r]]])
    for j in [k for k in range(n) if k != r][: ctx.shrink_tries]:  # two rows that show it?
        try:
            ab, ba = ctx.score(ctx.data.iloc[[r, j]]), ctx.score(ctx.data.iloc[[j, r]])
        except Exception:  # noqa: BLE001
            continue
        if ctx.differ(ab.iloc[[0]].reset_index(drop=True), ba.iloc[[1]].reset_index(drop=True)) is not None:
            res.example, res.example_note = ctx.data.iloc[[r, j]], f"rows {r} and {j}, scored in both orders"
            res.answers = _side_by_side([f"row {r} first", f"row {r} second"], [ab.iloc[[0]], ba.iloc[[1]]])
            break
    return res


def _categorical_columns(df: pd.DataFrame) -> list[Any]:
    out = []
    for col in df.columns:
        dtype = df[col].dtype
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype) or \
                pd.api.types.is_string_dtype(dtype):
            out.append(col)
    return out


def check_unseen_categories(ctx: _Context) -> CheckResult:
    if ctx.batch is None:
        return CheckResult("unseen_categories", SKIPPED, ctx.skip_compare or "the input does not score")
    cols = _categorical_columns(ctx.data)
    if not cols:
        return CheckResult("unseen_categories", SKIPPED, "no text or categorical columns in the input")
    failures = []
    for col in cols:
        frame = ctx.data.copy()
        frame[col] = frame[col].astype(object)
        frame.iloc[0, list(frame.columns).index(col)] = UNSEEN
        exc = ctx.score.fails(frame)
        if exc is not None:
            failures.append((col, frame, exc))
    if not failures:
        return CheckResult("unseen_categories", PASSED, f"an unseen value in each of {len(cols)} column(s) scored")
    col, frame, exc = failures[0]
    names = [str(c) for c, _, _ in failures]
    res = CheckResult("unseen_categories", FAILED, f"an unseen value fails in {len(failures)} column(s): {names[:8]}",
                      message=f"column {str(col)!r} = {UNSEEN!r}: {_error_text(exc)}", focus=col)
    alone = frame.iloc[[0]]
    err = ctx.score.fails(alone)
    if err is not None:
        res.example, res.example_note = alone, f"row 0 with {str(col)!r} = {UNSEEN!r}"
        res.message = f"column {str(col)!r} = {UNSEEN!r}: {_error_text(err)}"
    else:
        res.example, res.example_note = frame, f"row 0 with {str(col)!r} = {UNSEEN!r}, in the batch"
    return res


def check_drum_compat(ctx: _Context) -> CheckResult:
    """WARN where DRUM 1.18.1 would answer otherwise for this model (e.g. unnamed binary probabilities)."""
    if ctx.batch is None:
        return CheckResult("drum_compat", SKIPPED, ctx.skip_compare or "the input does not score")
    notes = list(getattr(ctx.model, "compat_notes", None) or [])
    if not notes:
        return CheckResult("drum_compat", PASSED, "nothing this model returns is read differently by DRUM 1.18.1")
    return CheckResult("drum_compat", WARN, notes[0].split(":")[0] + ": DRUM 1.18.1 would answer otherwise",
                       message="\n".join(notes))


CHECK_FUNCTIONS: dict[str, Callable[[_Context], CheckResult]] = {
    "contract": check_contract,
    "null_imputation": check_null_imputation,
    "determinism": check_determinism,
    "batch_vs_single": check_batch_vs_single,
    "row_order": check_row_order,
    "unseen_categories": check_unseen_categories,
    "drum_compat": check_drum_compat,
}


# --- entry point --------------------------------------------------------------------------------

def read_data(data: Any, *, sparse_column_names: Sequence[str] | None = None) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a file path (csv / arrow / parquet / mtx) or CSV bytes."""
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True)
    if isinstance(data, (bytes, bytearray)):
        return codecs.read_frame(bytes(data), format="csv")
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if not os.path.isfile(path):
            raise InputError(f"input file not found: {path}", hint="check the path passed as --input")
        return codecs.read_frame(path, path=path, sparse_column_names=list(sparse_column_names)
                                 if sparse_column_names else None)
    raise InputError(f"cannot read input data from a {type(data).__name__}",
                     hint="pass a pandas DataFrame, a CSV/Arrow/Parquet file path, or CSV bytes")


def resolve_checks(checks: Sequence[str] | None) -> list[str]:
    if not checks:
        return list(CHECKS)
    names = []
    for name in checks:
        key = name.strip().lower().replace("-", "_")
        if key not in CHECK_FUNCTIONS:
            near = difflib.get_close_matches(key, CHECKS, n=1)
            raise ConfigurationError(f"unknown validation check {name!r}",
                                     hint=(f"did you mean {near[0]!r}? " if near else "")
                                     + f"checks: {', '.join(CHECKS)}")
        names.append(key)
    if "contract" not in names:
        names.insert(0, "contract")  # the others compare against its answers
    return [n for n in CHECKS if n in names]


def validate(model: Any, data: Any, target_type: str | None = None, *, checks: Sequence[str] | None = None,
             rows: int = 100, single_rows: int = 20, rtol: float = 1e-5, atol: float = 1e-8,
             shrink_tries: int = 10, sparse_column_names: Sequence[str] | None = None,
             **load_kwargs: Any) -> ValidationReport:
    """Run the validation checks on ``model`` with ``data``; returns a :class:`ValidationReport`.

    ``model``: a model folder (or ``custom_model.tar.gz``), or a loaded
    :class:`~drumnb.model.Model` (``load_kwargs`` are
    :func:`drumnb.load_model`'s label arguments).  ``data``: a DataFrame, a
    file path or CSV bytes; its first ``rows`` rows are used, and the first
    ``single_rows`` of them are scored one by one.  ``checks``: names from
    :data:`CHECKS` (default: all).  Never raises for a failed check: look at
    ``report.passed``.  Errors loading the model or reading the data raise.
    """
    started = time.perf_counter()
    if hasattr(model, "predict") and hasattr(model, "config"):
        loaded = model
    else:
        loaded = load_model(model, target_type, **load_kwargs)
    if loaded.target_type == TargetType.UNSTRUCTURED:
        raise ConfigurationError("validation checks structured models; this one is unstructured",
                                 hint="score it with 'drumnb score --target-type unstructured' instead")
    frame = read_data(data, sparse_column_names=sparse_column_names)
    if rows and len(frame) > rows:
        frame = frame.iloc[:rows].reset_index(drop=True)
    if len(frame) == 0:
        raise InputError("the validation input has no rows", hint="pass a file with a header and rows of data")
    ctx = _Context(loaded, frame, _Scorer(loaded), rtol, atol, single_rows, shrink_tries)
    report = ValidationReport(str(getattr(loaded, "archive", None) or loaded.code_dir), loaded.target_type, len(frame))
    for name in resolve_checks(checks):
        t0 = time.perf_counter()
        result = CHECK_FUNCTIONS[name](ctx)
        result.seconds = time.perf_counter() - t0
        report.checks.append(result)
    report.seconds = time.perf_counter() - started
    return report


__all__ = ["validate", "ValidationReport", "CheckResult", "CHECKS", "PASSED", "FAILED", "SKIPPED", "WARN"]
