"""Which column of an input file is which contract field; identifying columns refused unless dropped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from ...core.intake import ID_FIELD
from ...privacy import identifying_kind, normalise_column
from ...rulebase import RuleBase


@dataclass
class ColumnPlan:
    """What to do with each column name of one file: use it (as which field), drop it, or warn
    that it is unknown. Raises IdentifyingColumnsError for identifying columns not dropped."""

    rulebase_fields: frozenset[str]
    drop: frozenset[str]  # normalised names to drop
    fields: dict[str, str | None] = field(default_factory=dict)  # column -> field, None = ignore
    unknown: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @classmethod
    def for_rulebase(cls, rulebase: RuleBase, drop: Iterable[str] = ()) -> "ColumnPlan":
        return cls(frozenset([ID_FIELD, *rulebase.questions]), frozenset(normalise_column(d) for d in drop))

    def resolve(self, columns: Iterable[str]) -> list[tuple[str, str]]:
        """Classify new column names; return the identifying ones that are not dropped."""
        refused: list[tuple[str, str]] = []
        for column in columns:
            if column in self.fields:
                continue
            norm = normalise_column(column)
            target: str | None = None
            if norm in self.drop:
                self.dropped.append(column)
            elif column in self.rulebase_fields or norm in self.rulebase_fields:
                target = column if column in self.rulebase_fields else norm
            elif (kind := identifying_kind(column)) is not None:
                refused.append((column, kind))
            else:
                self.unknown.append(column)
            self.fields[column] = target
        return refused
