"""Problems found while reading input, as data: a line that cannot be read, a file that cannot be read, identifying columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ...errors import SupplycheckError

STDIN = "-"
STDIN_NAME = "<stdin>"
RECORD_FIELD = "record"  # the `field` of an error about a whole line that cannot be parsed
INPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet"}
OUTPUT_FORMATS = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet"}
DEFAULT_CHUNK_SIZE = 500
MAX_EXAMPLES = 20  # error records kept in the summary
MAX_WARNINGS_PER_FILE = 20



@dataclass(frozen=True)
class ParseProblem:
    """A line that cannot be read as an intake at all. Never holds the line's content."""

    source: str
    line: int
    reason: str
    id: str | None = None  # the record's id, where it could still be read

    @property
    def message(self) -> str:
        return f"{self.source} line {self.line}: {self.reason}"

    def as_dict(self) -> dict[str, str]:
        return {"field": RECORD_FIELD, "message": self.message}


class InputError(SupplycheckError):
    """An input file that cannot be read at all (missing, wrong format, unusable header)."""

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")

    def __reduce__(self) -> tuple:  # raised in a worker process, re-raised in the main one
        return (type(self), (self.source, self.reason))


class IdentifyingColumnsError(SupplycheckError):
    """A file with identifying columns: refused unless they are dropped explicitly.
    `columns` holds (column as written, kind); the values are never kept."""

    def __init__(self, source: str, columns: Sequence[tuple[str, str]], line: int | None = None):
        self.source = source
        self.columns = list(columns)
        self.line = line
        where = f"{source} line {line}" if line else source
        listing = ", ".join(f"{name!r} ({kind})" for name, kind in self.columns)
        super().__init__(f"{where}: refusing a file with identifying columns: {listing}. "
                         "An anonymised intake file must not have them.")

    def __reduce__(self) -> tuple:  # raised in a worker process, re-raised in the main one
        return (type(self), (self.source, self.columns, self.line))
