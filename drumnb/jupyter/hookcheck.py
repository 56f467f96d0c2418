"""Check hook code written in a cell before it becomes ``custom.py``: names and signatures.

Read with :mod:`ast`, without running anything, so every finding names its
cell line.  Errors (the file would fail when DRUM calls the hook): a syntax
error, a hook that cannot take the arguments DRUM passes.  Warnings (the file
is still written): a near-miss name such as ``scroe``, a ``score`` without
``**kwargs`` (DRUM passes the class labels as keywords).  ``fit``, helper
functions, classes and anything private are fine.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..core.hooks import ALL_HOOKS, near_miss

UNSTRUCTURED_KWARGS = ("mimetype", "charset", "query", "mlops", "headers")


@dataclass(frozen=True)
class Call:
    """How DRUM calls a hook: its positional arguments and the keywords it always passes."""

    positional: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    shown: str = ""
    keywords_optional: bool = True  # the core passes only the keywords the hook accepts


CALLS: dict[str, Call] = {
    "init": Call((), ("code_dir",), "init(code_dir=..., **kwargs)"),
    "load_model": Call(("code_dir",), (), "load_model(code_dir)"),
    "read_input_data": Call(("input_binary_data",), (), "read_input_data(input_binary_data)"),
    "transform": Call(("data", "model"), (), "transform(data, model)"),
    "score": Call(("data", "model"), ("positive_class_label", "negative_class_label", "class_labels"),
                  "score(data, model, **kwargs)"),
    "post_process": Call(("predictions", "model"), (), "post_process(predictions, model)"),
    "score_unstructured": Call(("model", "data"), UNSTRUCTURED_KWARGS, "score_unstructured(model, data, **kwargs)",
                               keywords_optional=False),
    "chat": Call(("completion_create_params", "model"), (), "chat(completion_create_params, model)"),
    "get_supported_llm_models": Call(("model",), (), "get_supported_llm_models(model)"),
}


@dataclass
class Finding:
    line: int          # line in the cell (1 = the magic's own line)
    message: str
    hook: str | None = None

    def __str__(self) -> str:
        return f"cell line {self.line}: {self.message}"


@dataclass
class Report:
    hooks: list[str] = field(default_factory=list)
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_source(source: str, *, first_line: int = 2) -> Report:
    """Check cell text; ``first_line`` is the cell line of the text's first line (2: after the magic)."""
    report = Report()
    offset = first_line - 1
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        line = (exc.lineno or 1) + offset
        report.errors.append(Finding(line, f"SyntaxError: {exc.msg}"))
        return report
    defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    defined |= {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)}
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        line = node.lineno + offset
        name = node.name
        if name in ALL_HOOKS:
            if name not in report.hooks:
                report.hooks.append(name)
            if isinstance(node, ast.AsyncFunctionDef):
                report.errors.append(Finding(line, f"'{name}' is async; DRUM calls hooks as plain functions", name))
                continue
            call = CALLS.get(name)
            if call is not None:
                problem, advice = _check_signature(name, node.args, call)
                if problem:
                    report.errors.append(Finding(line, f"{_shown(name, node.args)} {problem}; DRUM calls "
                                                       f"{call.shown}", name))
                elif advice:
                    report.warnings.append(Finding(line, advice, name))
            continue
        miss = near_miss(name)
        if miss and miss not in defined:
            report.warnings.append(Finding(line, f"'{name}' is not a hook DRUM calls; did you mean '{miss}'?"))
    report.hooks.sort(key=ALL_HOOKS.index)
    return report


def _shown(name: str, args: ast.arguments) -> str:
    parts = [a.arg for a in args.posonlyargs + args.args]
    if args.vararg:
        parts.append("*" + args.vararg.arg)
    elif args.kwonlyargs:
        parts.append("*")
    parts += [a.arg for a in args.kwonlyargs]
    if args.kwarg:
        parts.append("**" + args.kwarg.arg)
    return f"{name}({', '.join(parts)})"


def _check_signature(name: str, args: ast.arguments, call: Call) -> tuple[str | None, str | None]:
    """(error, warning) for a hook's parameters against how DRUM calls it."""
    positional = args.posonlyargs + args.args
    n_pos, n_defaults = len(positional), len(args.defaults)
    n_required = n_pos - n_defaults
    want = len(call.positional)
    if n_pos < want and args.vararg is None:
        return (f"takes {n_pos} positional argument{'s' if n_pos != 1 else ''}, but DRUM passes {want}"
                if want else None), None
    if n_required > want:
        keyword_ok = {a.arg for a in args.args}  # not positional-only: DRUM may pass them by name
        extra = [a.arg for a in positional[want:n_required] if not (a.arg in call.keywords and a.arg in keyword_ok)]
        if extra:
            return f"requires {', '.join(extra)}, which DRUM does not pass", None
    names = {a.arg for a in args.args + args.kwonlyargs}  # keyword-passable
    required_kwonly = [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
    missing_kw = [k for k in required_kwonly if k not in call.keywords]
    if missing_kw:
        return f"requires the keyword argument(s) {', '.join(missing_kw)}, which DRUM does not pass", None
    if args.kwarg is None:
        taken_positionally = {a.arg for a in positional[:want]}
        unaccepted = [k for k in call.keywords if k not in names or k in taken_positionally]
        if unaccepted and not call.keywords_optional:
            return (f"does not accept the keyword arguments {', '.join(unaccepted)} that DRUM passes "
                    "(add **kwargs)"), None
        if unaccepted and call.keywords and call.positional:  # e.g. score(data, model)
            return None, (f"{_shown(name, args)} has no **kwargs: drumnb passes only the keywords it accepts, "
                          f"but DRUM passes {', '.join(call.keywords)}; add **kwargs so the folder also runs "
                          "under DRUM")
    return None, None
