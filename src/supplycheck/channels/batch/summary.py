"""The run's summary: counts by urgency and supply picture, and the error rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping

from ...rulebase.models import SupplyPicture, Urgency
from .problems import MAX_EXAMPLES, RECORD_FIELD


@dataclass
class Summary:
    """What a batch run found: counts by status, urgency, supply picture, red flag, factor and
    bad field, a few error records with their line, and the warnings. Summaries add up."""

    records: int = 0
    scored: int = 0
    errors: int = 0
    unreadable: int = 0  # lines that could not be parsed at all (counted in `errors` too)
    urgency: Counter = field(default_factory=Counter)
    supply_picture: Counter = field(default_factory=Counter)
    red_flags: Counter = field(default_factory=Counter)
    factors: Counter = field(default_factory=Counter)
    error_fields: Counter = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    empty_inputs: list[str] = field(default_factory=list)  # files without any intake
    ids: list[tuple[int, str | None]] = field(default_factory=list)  # (line, id) of one chunk; never merged

    def add(self, result: Mapping[str, Any], source: str = "", line: int | None = None) -> None:
        self.records += 1
        counts = self.files.get(source)
        if counts is None:
            counts = self.files[source] = {"records": 0, "errors": 0}
        counts["records"] += 1
        if result["status"] == "scored":
            self.scored += 1
            self.urgency[result["urgency"]] += 1
            self.supply_picture[result["supply_picture"]] += 1
            self.red_flags.update(result["red_flags"])
            self.factors.update(f["id"] for f in result["factors"])
            return
        self.errors += 1
        counts["errors"] += 1
        fields = [e["field"] for e in result["errors"]]
        self.unreadable += RECORD_FIELD in fields
        self.error_fields.update(fields)
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append({"source": source, "line": line, "id": result.get("id"),
                                  "errors": list(result["errors"])})

    def merge(self, other: "Summary") -> None:
        self.records += other.records
        self.scored += other.scored
        self.errors += other.errors
        self.unreadable += other.unreadable
        for mine, theirs in ((self.urgency, other.urgency), (self.supply_picture, other.supply_picture),
                             (self.red_flags, other.red_flags), (self.factors, other.factors),
                             (self.error_fields, other.error_fields)):
            mine.update(theirs)
        self.examples.extend(other.examples[:MAX_EXAMPLES - len(self.examples)])
        for source, counts in other.files.items():
            mine = self.files.setdefault(source, {"records": 0, "errors": 0})
            mine["records"] += counts["records"]
            mine["errors"] += counts["errors"]
        self.warnings.extend(other.warnings)

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, urgencies and supply pictures in their fixed order, the rest most
        common first."""
        return {
            "records": self.records,
            "scored": self.scored,
            "errors": self.errors,
            "unreadable_lines": self.unreadable,
            "urgency": {u.value: self.urgency.get(u.value, 0) for u in Urgency},
            "supply_picture": {p.value: self.supply_picture.get(p.value, 0) for p in SupplyPicture},
            "red_flags": dict(self.red_flags.most_common()),
            "factors": dict(self.factors.most_common()),
            "error_fields": dict(self.error_fields.most_common()),
            "error_examples": self.examples,
            "files": [{"source": s, **c} for s, c in self.files.items()],
            "warnings": self.warnings,
            "empty_inputs": self.empty_inputs,
            "seconds": round(self.seconds, 3),
            "records_per_second": round(self.records_per_second, 1),
        }


class IdCheck:
    """Ids used more than once, and records without an id, across a whole run (warnings, not
    errors). Keeps one hash per distinct id, not the ids themselves."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.repeated = 0
        self.first_repeated: tuple[str, int] | None = None
        self.blank = 0
        self.first_blank: tuple[str, int] | None = None

    def add(self, source: str, ids: list[tuple[int, str | None]]) -> None:
        seen = self.seen
        for line, intake_id in ids:
            if intake_id is None or not intake_id.strip():
                self.blank += 1
                self.first_blank = self.first_blank or (source, line)
                continue
            h = hash(intake_id)
            if h in seen:
                self.repeated += 1
                self.first_repeated = self.first_repeated or (source, line)
            else:
                seen.add(h)

    def warnings(self) -> list[str]:
        out = []
        if self.repeated:
            source, line = self.first_repeated  # type: ignore[misc]
            out.append(f"{self.repeated:,} record{'s repeat' if self.repeated > 1 else ' repeats'} an id used earlier "
                       f"(first at {source} line {line}); results are still one per record, in order")
        if self.blank:
            source, line = self.first_blank  # type: ignore[misc]
            out.append(f"{self.blank:,} record{'s have' if self.blank > 1 else ' has'} no id "
                       f"(first at {source} line {line})")
        return out
