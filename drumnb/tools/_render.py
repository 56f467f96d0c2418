"""Plain-text and HTML tables shared by the tools' reports (no pandas styling, no Jupyter imports)."""
from __future__ import annotations

import html
from typing import Any, Sequence

STATUS_COLOURS = {"PASSED": "#1a7f37", "FAILED": "#cf222e", "SKIPPED": "#6e7781", "ERROR": "#cf222e",
                  "WARN": "#9a6700"}


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, align_right: Sequence[int] = ()) -> str:
    """A fixed-width table; columns in ``align_right`` (indexes) are right-aligned."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [(c.rjust(w) if i in align_right else c.ljust(w)) for i, (c, w) in enumerate(zip(row, widths))]
        return "  ".join(parts).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def status_html(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "inherit")
    return f'<span style="color:{colour};font-weight:bold">{esc(status)}</span>'


def html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, raw_columns: Sequence[int] = (),
               align_right: Sequence[int] = ()) -> str:
    """An HTML table; cells of ``raw_columns`` are inserted as HTML, the others escaped."""
    head = "".join(f'<th style="text-align:{"right" if i in align_right else "left"}">{esc(h)}</th>'
                   for i, h in enumerate(headers))
    body = []
    for row in rows:
        tds = []
        for i, cell in enumerate(row):
            content = cell if i in raw_columns else esc(cell)
            style = "text-align:right" if i in align_right else "text-align:left;vertical-align:top"
            tds.append(f'<td style="{style}">{content}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f'<table class="drumnb-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def frame_text(df: Any, max_rows: int = 5, max_cols: int = 12) -> str:
    """A DataFrame shown compactly (``to_string``), indented for a report."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        return str(df)
    text = df.head(max_rows).to_string(max_cols=max_cols, max_colwidth=40)
    more = f"\n... {len(df) - max_rows} more row(s)" if len(df) > max_rows else ""
    return text + more


def frame_html(df: Any, max_rows: int = 5, max_cols: int = 12) -> str:
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        return f"<pre>{esc(df)}</pre>"
    shown = df.head(max_rows)
    if shown.shape[1] > max_cols:
        shown = shown.iloc[:, :max_cols]
    more = f"<div>... {len(df) - max_rows} more row(s)</div>" if len(df) > max_rows else ""
    return shown.to_html(border=0, max_cols=max_cols) + more


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())
