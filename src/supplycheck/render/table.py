"""One table renderer that knows where it is going: a terminal of some width, a pipe, a CSV
file or a JSON reader.

- On a terminal: a rich table. When it is too wide, the least important columns are dropped
  first; only then are the columns that may be shortened cut. Columns marked `keep` (a
  reference code, an urgency) are never shortened.
- Piped, or `fmt="tsv"`: plain tab-separated text with a header line, no styles, no box.
- `fmt="csv"`: CSV with a header line; `fmt="json"`: a list of objects with the raw values.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence

from rich.table import Table
from rich.text import Text

TableFormat = Literal["table", "tsv", "csv", "json"]
FORMATS: tuple[str, ...] = ("table", "csv", "json")
SEPARATOR = 3  # " │ " between two columns of a rich table without edges


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    priority: int = 0  # 0: never dropped; higher numbers are dropped first
    keep: bool = False  # never shortened (it would lose its meaning: "EMERG…", "LC-00…")
    show: Callable[[Any], str] = lambda value: "" if value is None else str(value)
    style: Callable[[Any], str] = lambda value: ""


def fit(columns: Sequence[Column], rows: Sequence[dict[str, Any]], width: int) -> list[Column]:
    """The columns to show in `width` characters: the least important dropped, one at a time,
    until the rest fit (or only undroppable columns are left)."""
    shown = list(columns)

    def natural(c: Column) -> int:
        return max([len(c.title)] + [len(c.show(r.get(c.key))) for r in rows])

    def total(cols: list[Column]) -> int:
        return sum(natural(c) for c in cols) + SEPARATOR * (len(cols) - 1)

    while total(shown) > width:
        droppable = [c for c in shown if c.priority > 0]
        if not droppable:
            break
        shown.remove(max(droppable, key=lambda c: (c.priority, shown.index(c))))
    return shown


def rich_table(columns: Sequence[Column], rows: Sequence[dict[str, Any]], width: int) -> Table:
    shown = fit(columns, rows, width)
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for c in shown:
        widest = max([len(c.title)] + [len(c.show(r.get(c.key))) for r in rows])
        table.add_column(c.title, no_wrap=True, overflow="ellipsis",
                         min_width=widest if c.keep else None)
    for r in rows:
        table.add_row(*(Text(c.show(r.get(c.key)), style=c.style(r.get(c.key))) for c in shown))
    return table


def plain(columns: Sequence[Column], rows: Sequence[dict[str, Any]], fmt: TableFormat) -> str:
    """Text for a pipe or a file: tab-separated, CSV or JSON."""
    if fmt == "json":
        return json.dumps([{c.key: r.get(c.key) for c in columns} for r in rows], indent=2,
                          ensure_ascii=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c.key for c in columns])
        writer.writerows([[c.show(r.get(c.key)) for c in columns] for r in rows])
        return out.getvalue()
    lines = ["\t".join(c.title for c in columns)]
    lines += ["\t".join(c.show(r.get(c.key)).replace("\t", " ") for c in columns) for r in rows]
    return "\n".join(lines) + "\n"
