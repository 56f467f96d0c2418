"""``drumnb perf-test --compare previous.json``: this run against a saved one, as ratios now / before.

Concurrency levels are matched by (concurrency, rows per request), size cases
by name.  For each: p50 / p90 / p99 latency (lower is better) and requests/s,
rows/s (higher is better).  A change within ``SAME`` (5 %) counts as the same:
timings of two runs on a shared machine differ by that much anyway.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import ConfigurationError
from . import _render

SAME = 0.05
LOWER_BETTER = ("p50", "p90", "p99")
HIGHER_BETTER = ("requests_per_s", "rows_per_s")
LABELS = {"p50": "P50 ms", "p90": "P90 ms", "p99": "P99 ms", "requests_per_s": "REQ/S", "rows_per_s": "ROWS/S"}
GREEN, RED, RESET = "\x1b[32m", "\x1b[31m", "\x1b[0m"
HTML_COLOURS = {"better": "#1a7f37", "worse": "#cf222e", "same": "#6e7781"}


def load(previous: Any) -> dict[str, Any]:
    """A saved report: a path to its JSON (``--json PATH``), a dict, or a PerfReport."""
    if hasattr(previous, "to_dict"):
        return previous.to_dict()
    if isinstance(previous, dict):
        return previous
    path = os.fspath(previous)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ConfigurationError(f"no saved perf-test run at {path}",
                                 hint="save one with: drumnb perf-test ... --json run.json") from None
    except ValueError as exc:
        raise ConfigurationError(f"{path} is not a perf-test JSON report: {exc}",
                                 hint="compare with a file written by perf-test --json PATH") from None
    if not isinstance(data, dict) or not ("levels" in data or "cases" in data):
        raise ConfigurationError(f"{path} is not a perf-test JSON report (no levels or cases in it)",
                                 hint="compare with a file written by perf-test --json PATH")
    return data


@dataclass
class Change:
    metric: str
    before: float
    now: float

    @property
    def ratio(self) -> float:
        return self.now / self.before if self.before else float("inf")

    @property
    def verdict(self) -> str:
        if abs(self.ratio - 1.0) <= SAME:
            return "same"
        up = self.ratio > 1.0
        return "better" if up == (self.metric in HIGHER_BETTER) else "worse"

    def cell(self, colour: bool = False) -> str:
        arrow = "=" if self.verdict == "same" else ("\u2191" if self.ratio > 1 else "\u2193")
        text = f"{self.ratio:.2f}x {arrow}" + ("" if colour or self.verdict != "worse" else "!")
        if colour and self.verdict != "same":
            return f"{GREEN if self.verdict == 'better' else RED}{text}{RESET}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "before": self.before, "now": self.now, "ratio": round(self.ratio, 4),
                "verdict": self.verdict}


@dataclass
class Comparison:
    """Per level / case, the changes of each metric; ``text`` / ``html`` tables, ``to_dict`` for JSON."""

    source: str
    levels: list[tuple[str, list[Change]]] = field(default_factory=list)
    cases: list[tuple[str, list[Change]]] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)

    @property
    def worse(self) -> list[str]:
        return [f"{name} {c.metric}" for name, changes in self.levels + self.cases for c in changes
                if c.verdict == "worse"]

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "levels": {n: [c.to_dict() for c in ch] for n, ch in self.levels},
                "cases": {n: [c.to_dict() for c in ch] for n, ch in self.cases}, "unmatched": self.unmatched}

    def _tables(self, colour: bool) -> list[tuple[str, list[str], list[list[str]]]]:
        out = []
        for title, group in (("concurrency", self.levels), ("case", self.cases)):
            if not group:
                continue
            metrics = [m for m in LOWER_BETTER + HIGHER_BETTER if any(c.metric == m for _, ch in group for c in ch)]
            rows = []
            for name, changes in group:
                by = {c.metric: c for c in changes}
                rows.append([name] + [by[m].cell(colour) if m in by else "-" for m in metrics])
            out.append((title, [title.upper()] + [LABELS[m] for m in metrics], rows))
        return out

    def to_text(self, colour: bool = False) -> str:
        lines = [f"compared with {self.source} (ratio now / before; \u2193 latency and \u2191 throughput are "
                 f"better{'' if colour else ', ! marks worse'}; within {SAME:.0%} is =)"]
        for _, headers, rows in self._tables(colour):
            lines += ["", _render.text_table(headers, rows, align_right=tuple(range(1, len(headers))))]
        if self.unmatched:
            lines += ["", "not in both runs: " + ", ".join(self.unmatched)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        parts = [f"<div>compared with <code>{_render.esc(self.source)}</code> (ratio now / before; green "
                 f"better, red worse, within {SAME:.0%} grey)</div>"]
        for title, group in (("concurrency", self.levels), ("case", self.cases)):
            if not group:
                continue
            _, headers, rows = next(t for t in self._tables(False) if t[0] == title)
            metrics = [m for m in LOWER_BETTER + HIGHER_BETTER if LABELS[m] in headers]
            html_rows = []
            for (name, changes), _row in zip(group, rows):
                by = {c.metric: c for c in changes}
                cells = [_render.esc(name)]
                for m in metrics:
                    c = by.get(m)
                    cells.append("-" if c is None else f'<span style="color:{HTML_COLOURS[c.verdict]}">'
                                                       f'{_render.esc(c.cell())}</span>')
                html_rows.append(cells)
            parts.append(_render.html_table(headers, html_rows, raw_columns=tuple(range(1, len(headers))),
                                            align_right=tuple(range(1, len(headers)))))
        return "".join(parts)


def _metrics(entry: dict[str, Any]) -> dict[str, float]:
    out = {k: v for k, v in (entry.get("latency_ms") or {}).items() if k in LOWER_BETTER and v}
    out.update({k: entry[k] for k in HIGHER_BETTER if entry.get(k)})
    return out


def compare(now: dict[str, Any], before: dict[str, Any], source: str = "the previous run") -> Comparison:
    """``now`` and ``before`` are ``PerfReport.to_dict()`` outputs."""
    result = Comparison(source)

    def level_key(d: dict[str, Any]) -> tuple[int, int]:
        return int(d["concurrency"]), int(d["rows"])

    old_levels = {level_key(d): d for d in before.get("levels") or []}
    old_cases = {d["name"]: d for d in before.get("cases") or []}
    for d in now.get("levels") or []:
        key = level_key(d)
        name = f"{key[0]}" + (f" ({key[1]:,} rows)" if key[1] != 1 else "")
        if key not in old_levels:
            result.unmatched.append(f"concurrency {name}")
            continue
        a, b = _metrics(old_levels[key]), _metrics(d)
        result.levels.append((name, [Change(m, a[m], b[m]) for m in LOWER_BETTER + HIGHER_BETTER
                                     if m in a and m in b]))
    for d in now.get("cases") or []:
        if d["name"] not in old_cases:
            result.unmatched.append(d["name"])
            continue
        a, b = _metrics(old_cases[d["name"]]), _metrics(d)
        result.cases.append((d["name"], [Change(m, a[m], b[m]) for m in LOWER_BETTER if m in a and m in b]))
    return result


__all__ = ["Comparison", "Change", "compare", "load"]
