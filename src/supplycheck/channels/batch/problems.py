"""Problems found while reading input, as data: a line that cannot be read, a file that cannot
be read, identifying columns or values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ...errors import SupplycheckError
from ...privacy import DESCRIPTIONS, PrivacyError

STDIN = "-"
STDIN_NAME = "<stdin>"
RECORD_FIELD = "record"  # the `field` of an error about a whole line that cannot be parsed
INPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet"}
OUTPUT_FORMATS = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet"}
DEFAULT_CHUNK_SIZE = 500
MAX_EXAMPLES = 20  # error records kept in the summary
MAX_WARNINGS_PER_FILE = 20
# A record (a CSV record, a JSON line, a JSON array item) longer than this is an error record:
# no intake is near it, and it keeps one record from taking the memory of a whole file.
MAX_RECORD_CHARS = 1 << 20


ARROW_SOURCE = "<arrow>"  # the source of records scored from an Arrow batch in memory


def unit_of(source: str) -> str:
    """How records of a source are numbered: JSON arrays by item, Parquet and Arrow by row, the
    rest by line."""
    lower = source.lower()
    if lower.endswith(".json"):
        return "item"
    return "row" if lower.endswith(".parquet") or source == ARROW_SOURCE else "line"


@dataclass(frozen=True)
class ParseProblem:
    """A line that cannot be read as an intake at all. Never holds the line's content."""

    source: str
    line: int
    reason: str
    id: str | None = None  # the record's id, where it could still be read

    @property
    def message(self) -> str:
        return f"{self.source} {unit_of(self.source)} {self.line}: {self.reason}"

    def as_dict(self) -> dict[str, str]:
        return {"field": RECORD_FIELD, "message": self.message}


class UnreadableInput(SupplycheckError):
    """An input file that cannot be read at all (missing, wrong format, unusable header)."""

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")

    def __reduce__(self) -> tuple:  # raised in a worker process, re-raised in the main one
        return (type(self), (self.source, self.reason))


class IdentifyingColumnsError(PrivacyError):
    """A file with identifying columns: refused unless they are dropped explicitly.
    `columns` holds (column as written, kind); the values are never kept."""

    def __init__(self, source: str, columns: Sequence[tuple[str, str]], line: int | None = None):
        self.source = source
        self.columns = list(columns)
        self.line = line
        where = f"{source} {unit_of(source)} {line}" if line else source
        listing = ", ".join(f"{name!r} ({kind})" for name, kind in self.columns)
        super().__init__(f"{where}: refusing a file with identifying columns: {listing}. "
                         "An anonymised intake file must not have them.")

    def __reduce__(self) -> tuple:  # raised in a worker process, re-raised in the main one
        return (type(self), (self.source, self.columns, self.line))


class IdentifyingValuesError(PrivacyError):
    """A file with values that look identifying (an e-mail address in `contact`, an NHS number
    in `id`, ...): refused. `findings` say which column, what kind and where; never the value."""

    def __init__(self, source: str, findings: Sequence):
        self.source = source
        self.findings = list(findings)
        unit = unit_of(source)
        parts = []
        for f in self.findings:
            shown = ", ".join(str(n) for n in f.lines)
            more = f" and {f.count - len(f.lines)} more" if f.count > len(f.lines) else ""
            plural = "s" if f.count > 1 else ""
            parts.append(f"column {f.column!r} ({DESCRIPTIONS.get(f.kind, f.kind)}) at {unit}{plural} {shown}{more}")
        super().__init__(f"{source}: refusing a file with identifying values: {'; '.join(parts)}. "
                         "The values are not shown. An anonymised intake file must not have them.")

    @property
    def columns(self) -> list[tuple[str, str]]:
        return [(f.column, DESCRIPTIONS.get(f.kind, f.kind)) for f in self.findings]

    def __reduce__(self) -> tuple:  # found in a worker process, raised in the main one
        return (type(self), (self.source, self.findings))
