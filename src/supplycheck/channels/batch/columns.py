"""Which column of an input file is which contract field; identifying columns refused unless
dropped; every cell that is read checked for identifying values (see supplycheck.privacy).

How each column's values are checked:
- a number field: e-mail, phone, NHS, record numbers, postcodes, dates (a bare count is fine);
- a coded field: the same, and a ZIP code alone;
- `id` and a column that is not an intake field ("unknown", kept out of scoring but not trusted):
  the same, and names or free text (two words of letters or more). A single word cannot be told
  from a code, so an unknown column is also warned about: drop it with --drop-columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ...core.intake import ID_FIELD
from ...privacy import DESCRIPTIONS, identifying_kind, normalise_column, value_kind
from ...rulebase import RuleBase

MAX_LINES_SHOWN = 5  # line numbers listed per column in a refusal


@dataclass
class Finding:
    """Identifying values found in one column: what they look like and where (never the values)."""

    column: str
    kind: str
    lines: list[int] = field(default_factory=list)
    count: int = 0

    def add(self, line: int) -> None:
        self.count += 1
        if len(self.lines) < MAX_LINES_SHOWN:
            self.lines.append(line)


def merge_findings(into: dict[str, Finding], found: dict[str, Finding]) -> None:
    """Add the findings of a later part of a file (found elsewhere, in a worker) to `into`."""
    for column, f in found.items():
        mine = into.setdefault(column, Finding(column, f.kind))
        mine.count += f.count
        mine.lines.extend(f.lines[:max(0, MAX_LINES_SHOWN - len(mine.lines))])


@dataclass
class ColumnPlan:
    """What to do with each column name of one file: use it (as which field), drop it, or warn
    that it is unknown, and how to check its values. Identifying columns not dropped are
    returned by `resolve` (the reader refuses the file)."""

    rulebase_fields: frozenset[str]
    numeric_fields: frozenset[str]
    drop: frozenset[str]  # normalised names to drop
    fields: dict[str, str | None] = field(default_factory=dict)  # column -> field, None = ignore
    scan: dict[str, tuple[bool, bool]] = field(default_factory=dict)  # column -> (strict, numeric)
    unknown: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    findings: dict[str, Finding] = field(default_factory=dict)

    @classmethod
    def for_rulebase(cls, rulebase: RuleBase, drop: Iterable[str] = ()) -> "ColumnPlan":
        numeric = frozenset(q.id for q in rulebase.questions.values() if q.is_numeric)
        return cls(frozenset([ID_FIELD, *rulebase.questions]), numeric,
                   frozenset(normalise_column(d) for d in drop))

    def resolve(self, columns: Iterable[str]) -> list[tuple[str, str]]:
        """Classify new column names; return the identifying ones that are not dropped."""
        refused: list[tuple[str, str]] = []
        for column in columns:
            if column in self.fields:
                continue
            norm = normalise_column(column)
            target: str | None = None
            if (kind := value_kind(column)) is not None:  # a header cell that is itself personal data
                refused.append((f"(a column whose name is not shown: it looks like {DESCRIPTIONS[kind]})", kind))
                self.fields[column] = None
                continue
            if norm in self.drop or column in self.drop:
                self.dropped.append(column)
            elif column in self.rulebase_fields or norm in self.rulebase_fields:
                target = column if column in self.rulebase_fields else norm
                self.scan[column] = (target == ID_FIELD, target in self.numeric_fields)
            elif (kind := identifying_kind(column)) is not None:
                refused.append((column, kind))
            else:
                self.unknown.append(column)
                self.scan[column] = (True, False)
            self.fields[column] = target
        return refused

    def check_value(self, column: str, value: Any, line: int) -> bool:
        """Record `value` of `column` if it looks identifying; True when it does."""
        how = self.scan.get(column)
        if how is None or value is None or value == "":
            return False
        kind = value_kind(value, strict=how[0], numeric=how[1])
        if kind is None:
            return False
        found = self.findings.get(column)
        if found is None:
            found = self.findings[column] = Finding(column, kind)
        found.add(line)
        return True
