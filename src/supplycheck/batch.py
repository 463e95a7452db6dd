"""Batch scoring of anonymised intake files: read, check privacy, score in parallel worker
processes (in input order), write atomically, summarise.

Every piece is a plain Python call; `supplycheck batch` only parses options and prints::

    from supplycheck import load_rulebase
    from supplycheck.batch import read_intakes, score_records

    rulebase = load_rulebase()
    for result in score_records(rulebase, read_intakes("intakes.csv", rulebase), workers=2):
        print(result["id"], result["status"], result.get("urgency"))

`score_records` also takes plain mappings (one intake each). Each result is the contract's
result object (`Result.contract_dict()`), one per record, in input order.

Input (by extension): `.csv` (a header row, any column order, UTF-8 with or without BOM, lists
as `a;b`), `.jsonl` (one object a line), `.json` (an array of objects), `-` (JSONL on standard
input). A line that cannot be parsed becomes an error result naming the file and line; a record
with bad values becomes an error result naming each field, the value and what is allowed.
A file with identifying columns (name, e-mail, phone, address, postcode, date of birth, health
service or record numbers, free text) is refused unless those columns are dropped explicitly.

CSV output columns (`CSV_COLUMNS`; lists are joined with `;`)::

    id, status, urgency, supply_picture,
    red_flags            codes, most urgent first
    primary_factors      factor codes of category primary
    secondary_factors    factor codes of category secondary
    factor_evidence      factor:field,field;...   (the input fields behind each factor)
    perceived_signs      codes
    referrals            to:urgency;...           (most urgent first)
    referral_reasons     to:reason,reason;...
    next_steps           codes (the wording is in the JSONL output)
    error_fields         fields of an error result (`record` for a line that cannot be parsed)
    error_messages       the messages, joined with " | " (a message may contain ';')
    rulebase.name, rulebase.version, rulebase.hash

Cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
carriage return) are prefixed with `'`.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import itertools
import json
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, Mapping, NamedTuple, Sequence

from .consult.privacy import identifying_details
from .errors import EngineError, FieldError, IntakeError, SupplycheckError
from .evaluate import evaluate_intake, rulebase_ref
from .intake import ID_FIELD, parse_intake
from .result import Result
from .rulebase import RuleBase, load_rulebase
from .rulebase.models import SupplyPicture, Urgency

STDIN = "-"
STDIN_NAME = "<stdin>"
RECORD_FIELD = "record"  # the `field` of an error about a whole line that cannot be parsed
INPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
OUTPUT_FORMATS = {".jsonl": "jsonl", ".csv": "csv"}
DEFAULT_CHUNK_SIZE = 500
MAX_EXAMPLES = 20  # error records kept in the summary
MAX_WARNINGS_PER_FILE = 20


# ----------------------------------------------------------------------------- errors (data)

@dataclass(frozen=True)
class ParseProblem:
    """A line that cannot be read as an intake at all. Never holds the line's content."""

    source: str
    line: int
    reason: str

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


# ----------------------------------------------------------------------------- columns

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^0-9a-zA-Z]+")

# (kind, whole tokens, substrings of the name without separators). Matched against the
# normalised column name; a field the rule base knows is never identifying.
_IDENTIFYING: tuple[tuple[str, frozenset[str], tuple[str, ...]], ...] = (
    ("name", frozenset({"name", "names", "initials", "nickname", "username"}),
     ("firstname", "lastname", "surname", "forename", "fullname", "givenname", "familyname",
      "maidenname", "middlename", "mothersname", "babysname", "patientname")),
    ("email", frozenset({"email", "mail", "emails"}), ("email", "emailaddress")),
    ("phone", frozenset({"phone", "tel", "telephone", "mobile", "cellphone", "fax", "phones"}),
     ("phone", "telephone", "mobileno", "mobilenumber", "contactnumber", "contactno")),
    ("address", frozenset({"address", "addr", "street", "addresses"}),
     ("address", "streetname", "housenumber", "addressline")),
    ("postcode", frozenset({"zip", "postcode", "postal", "eircode", "zipcode"}),
     ("postcode", "postalcode", "zipcode")),
    ("date of birth", frozenset({"dob", "birthday", "birthdate"}),
     ("dateofbirth", "birthdate", "birthday", "datebirth")),
    ("health-service or record number",
     frozenset({"nhs", "chi", "mrn", "ssn", "nino", "nhi", "urn", "ohip", "medicare", "medicaid",
                "passport", "hcn", "upi"}),
     ("nhsnumber", "nhsno", "healthnumber", "healthcard", "healthservice", "healthid",
      "insurancenumber", "insuranceno", "socialsecurity", "medicalrecord", "recordnumber",
      "recordno", "hospitalnumber", "hospitalno", "hospitalid", "patientid", "patientnumber",
      "patientno", "casenumber", "chartnumber", "nationalid", "nationalinsurance", "mrn")),
    ("free text", frozenset({"note", "notes", "comment", "comments", "remark", "remarks", "text",
                             "memo", "narrative", "description", "details", "freetext"}),
     ("freetext", "comment", "notes", "remarks", "narrative")),
)


def normalise_column(name: str) -> str:
    """`Infant Age (days)` -> `infant_age_days`, `DateOfBirth` -> `date_of_birth`."""
    return _NON_WORD.sub("_", _CAMEL.sub("_", name.strip())).strip("_").lower()


def identifying_kind(column: str) -> str | None:
    """What kind of identifying data a column name suggests (`name`, `email`, ...), or None."""
    norm = normalise_column(column)
    tokens = set(norm.split("_"))
    compact = norm.replace("_", "")
    for kind, whole, parts in _IDENTIFYING:
        if tokens & whole or compact in whole or any(p in compact for p in parts):
            return kind
    return None


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


# ----------------------------------------------------------------------------- readers

class Record(NamedTuple):
    """One record read from an input: its fields, or why the line could not be read."""

    source: str
    line: int
    fields: dict[str, Any] | None
    problem: ParseProblem | None = None


def input_format(path: str | Path) -> str:
    if str(path) == STDIN:
        return "jsonl"
    fmt = INPUT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(str(path), "unknown input format; use .csv, .jsonl or .json (or - for JSONL on standard input)")
    return fmt


class IntakeReader:
    """Reads one input file lazily, as Records in order, with constant memory.

    `check()` validates the file up front (it exists, its header or first record has no
    identifying columns) so a run can be refused before any scoring. `position()` is the number
    of bytes read so far, `size` the file size (None for standard input): for progress.
    """

    def __init__(self, path: str | Path, rulebase: RuleBase, *, drop_columns: Iterable[str] = (),
                 on_warning: Callable[[str], None] | None = None, stdin: IO[bytes] | None = None):
        self.path = str(path)
        self.is_stdin = self.path == STDIN
        self.source = STDIN_NAME if self.is_stdin else self.path
        self.format = input_format(self.path)
        self.rulebase = rulebase
        self.drop_columns = tuple(drop_columns)
        self.on_warning = on_warning or (lambda message: None)
        self._stdin = stdin
        self._raw: IO[bytes] | None = None
        self.size: int | None = None
        self.warnings: list[str] = []
        if not self.is_stdin:
            try:
                self.size = os.stat(self.path).st_size
            except OSError as exc:
                raise InputError(self.source, f"cannot read: {exc.strerror or exc}") from None
            if not os.path.isfile(self.path):
                raise InputError(self.source, "not a file")

    # -- public

    def check(self) -> None:
        """Refuse the file now if it cannot be used (identifying columns, unusable header)."""
        if self.is_stdin:
            return
        with self._open() as text:
            if self.format == "csv":
                self._csv_header(_CsvLines(text, self.source))
            elif self.format == "jsonl":
                plan = self._plan()
                for number, line in enumerate(text, 1):
                    if line.strip():
                        try:
                            record = json.loads(line)
                        except ValueError:
                            return
                        if isinstance(record, dict):
                            self._check_keys(plan, record, number, warn=False)
                        return
            else:
                plan = self._plan()
                for number, value in _JsonArray(text, self.source):
                    if isinstance(value, dict):
                        self._check_keys(plan, value, number, warn=False)
                        return

    def position(self) -> int:
        try:
            return self._raw.tell() if self._raw is not None and not self.is_stdin else 0
        except (OSError, ValueError):
            return 0

    def __iter__(self) -> Iterator[Record]:
        with self._open() as text:
            if self.format == "csv":
                yield from self._read_csv(text)
            elif self.format == "jsonl":
                yield from self._read_jsonl(text)
            else:
                yield from self._read_json(text)

    # -- opening

    def _open(self) -> io.TextIOWrapper:
        if self.is_stdin:
            raw = self._stdin or sys.stdin.buffer
        else:
            try:
                raw = open(self.path, "rb")
            except OSError as exc:
                raise InputError(self.source, f"cannot read: {exc.strerror or exc}") from None
            start = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
            if start[:2] in (b"\xff\xfe", b"\xfe\xff"):
                raw.close()
                raise InputError(self.source, "the file is UTF-16; save it as UTF-8 (\"CSV UTF-8\" in a spreadsheet)")
        self._raw = raw
        # Bytes that are not UTF-8 become U+FFFD (the value is then reported as not allowed).
        return _Text(raw, encoding="utf-8-sig", errors="replace", newline="" if self.format == "csv" else None,
                     close_raw=not self.is_stdin)

    def _plan(self) -> ColumnPlan:
        return ColumnPlan.for_rulebase(self.rulebase, self.drop_columns)

    def _warn(self, message: str) -> None:
        text = f"{self.source}: {message}"
        self.warnings.append(text)
        self.on_warning(text)

    def _warn_columns(self, plan: ColumnPlan, already: int) -> int:
        """Warn once per file about unknown columns found since the last call."""
        new = plan.unknown[already:]
        if new and already < MAX_WARNINGS_PER_FILE:
            shown = new[:MAX_WARNINGS_PER_FILE - already]
            more = len(new) - len(shown)
            names = ", ".join(repr(c) for c in shown) + (f" and {more} more" if more else "")
            plural = "s" if len(new) > 1 else ""
            self._warn(f"unknown column{plural} {names} ignored (not an intake field)")
        return len(plan.unknown)

    def _warn_not_found(self, plan: ColumnPlan, columns: Iterable[str]) -> None:
        present = {normalise_column(c) for c in columns}
        missing = [d for d in self.drop_columns if normalise_column(d) not in present]
        if missing:
            self._warn(f"--drop-columns {', '.join(repr(m) for m in missing)}: no such column")

    # -- CSV

    def _csv_header(self, lines: "_CsvLines") -> tuple[list[str], list[tuple[int, str]], ColumnPlan]:
        """(column names, [(cell index, field)] of the columns used, the plan); raises for
        identifying columns and for a header that cannot be used."""
        plan = self._plan()
        header = lines.header()
        if header is None:
            return [], [], plan
        if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
            sep = "semicolons" if ";" in header[0] else "tabs"
            raise InputError(self.source, f"the header is separated by {sep}; save the file as comma-separated CSV")
        names = [h.strip() for h in header]
        for i, name in enumerate(names):
            if not name:  # a spreadsheet's or pandas' unnamed index column: ignored, never read
                names[i] = f"(column {i + 1}, no name)"
                plan.fields[names[i]] = None
                plan.unknown.append(names[i])
        refused = plan.resolve(names)
        if refused:
            raise IdentifyingColumnsError(self.source, refused)
        seen: dict[str, str] = {}
        for name in names:
            target = plan.fields[name]
            if target is not None:
                if target in seen:
                    raise InputError(self.source, f"columns {seen[target]!r} and {name!r} are both {target!r}")
                seen[target] = name
        return names, [(i, plan.fields[n]) for i, n in enumerate(names) if plan.fields[n] is not None], plan

    def _read_csv(self, text: io.TextIOWrapper) -> Iterator[Record]:
        lines = _CsvLines(text, self.source)
        names, used, plan = self._csv_header(lines)
        if not names:
            self._warn("empty file (no header row)")
            return
        self._warn_columns(plan, 0)
        self._warn_not_found(plan, names)
        width = len(names)
        source = self.source
        for line, cells in lines.records(width):
            if cells is None or isinstance(cells, str):
                yield Record(source, line, None, ParseProblem(source, line, cells or "cannot be parsed"))
                continue
            if len(cells) != width:
                if not fits(cells, width):
                    reason = f"{len(cells)} cells where the header has {width}"
                    yield Record(source, line, None, ParseProblem(source, line, reason))
                    continue
                cells = cells[:width]
            yield Record(source, line, {name: cells[i] for i, name in used if cells[i]})
        if lines.replaced_at:
            self._warn(f"bytes that are not UTF-8 were replaced (first at line {lines.replaced_at})")

    # -- JSON lines / JSON array

    def _check_keys(self, plan: ColumnPlan, record: dict, line: int, *, warn: bool = True) -> dict:
        """The record with only intake fields (renamed to their field names); raises for
        identifying keys that are not dropped."""
        new = [k for k in record if k not in plan.fields]
        if new:
            seen_unknown = len(plan.unknown)
            refused = plan.resolve(new)
            if refused:
                raise IdentifyingColumnsError(self.source, refused, line)
            if warn:
                self._warn_columns(plan, seen_unknown)
        fields = plan.fields
        out = {}
        for key, value in record.items():
            target = fields[key]
            if target is not None:
                out[target] = value
        return out

    def _object(self, plan: ColumnPlan, value: Any, line: int) -> Record:
        if not isinstance(value, dict):
            kind = {list: "an array", str: "a string", bool: "true/false", type(None): "null"}.get(type(value), "a number")
            return Record(self.source, line, None, ParseProblem(self.source, line, f"{kind}, not an intake object"))
        return Record(self.source, line, self._check_keys(plan, value, line))

    def _read_jsonl(self, text: io.TextIOWrapper) -> Iterator[Record]:
        plan = self._plan()
        loads = json.loads
        replaced_at = 0
        for number, line in enumerate(text, 1):
            if not line.strip():
                continue
            if not replaced_at and "\ufffd" in line:
                replaced_at = number
            try:
                value = loads(line)
            except ValueError as exc:
                reason = "not valid JSON"
                if isinstance(exc, json.JSONDecodeError):
                    length = len(line.rstrip())
                    where = "at the end of the line" if exc.pos >= length else f"at column {exc.pos + 1}"
                    reason = f"not valid JSON ({exc.msg} {where})"
                yield Record(self.source, number, None, ParseProblem(self.source, number, reason))
                continue
            yield self._object(plan, value, number)
        self._warn_not_found(plan, plan.fields)
        if replaced_at:
            self._warn(f"bytes that are not UTF-8 were replaced (first at line {replaced_at})")

    def _read_json(self, text: io.TextIOWrapper) -> Iterator[Record]:
        plan = self._plan()
        for line, value in _JsonArray(text, self.source):
            if isinstance(value, ParseProblem):
                yield Record(self.source, line, None, value)
            else:
                yield self._object(plan, value, line)
        self._warn_not_found(plan, plan.fields)


def read_intakes(path: str | Path, rulebase: RuleBase, *, drop_columns: Iterable[str] = (),
                 on_warning: Callable[[str], None] | None = None) -> Iterator[Record]:
    """The records of one input file, in order (see IntakeReader)."""
    reader = IntakeReader(path, rulebase, drop_columns=drop_columns, on_warning=on_warning)
    reader.check()
    return iter(reader)


class _Text(io.TextIOWrapper):
    """A text wrapper that can leave standard input open when closed."""

    def __init__(self, raw: IO[bytes], *, close_raw: bool, **kwargs: Any):
        super().__init__(raw, **kwargs)
        self._close_raw = close_raw
        self._detached = False

    def close(self) -> None:
        if self._close_raw:
            super().close()
        elif not self._detached:
            self._detached = True
            self.detach()


def fits(cells: list[str], width: int) -> bool:
    """A row of the header's width; trailing empty cells (as some spreadsheets write) are fine."""
    return len(cells) == width or (len(cells) > width and not any(c.strip() for c in cells[width:]))


class _Feed:
    """An iterator that csv.reader pulls one logical line from at a time; it may run dry and
    be refilled, so one reader parses a whole file line by line under our control."""

    def __init__(self) -> None:
        self.items: deque[str] = deque()

    def __iter__(self) -> "_Feed":
        return self

    def __next__(self) -> str:
        if self.items:
            return self.items.popleft()
        raise StopIteration


class _CsvLines:
    """CSV records with the line each starts on. A quoted cell may span lines; an unbalanced
    quote spoils only its own line (it never swallows the rest of the file)."""

    MAX_SPAN = 50  # physical lines one record may span

    def __init__(self, text: Iterable[str], source: str):
        self.lines = iter(text)
        self.source = source
        self.number = 0
        self.pushed: deque[tuple[int, str]] = deque()
        self.feed = _Feed()
        self.reader = csv.reader(self.feed)
        self.replaced_at = 0

    def _next_line(self) -> tuple[int, str] | None:
        if self.pushed:
            return self.pushed.popleft()
        line = next(self.lines, None)
        if line is None:
            return None
        self.number += 1
        if not self.replaced_at and "\ufffd" in line:
            self.replaced_at = self.number
        return self.number, line

    def _parse(self, text: str) -> list[str] | None:
        self.feed.items.append(text)
        try:
            return next(self.reader)
        except (csv.Error, StopIteration):
            self.feed.items.clear()
            return None

    def _is_record(self, line: str, width: int) -> bool:
        """Whether a line is a whole record by itself (then it does not continue a quoted cell
        of the line before, whose quote is a stray one)."""
        cells = self._parse(line)
        return cells is not None and fits(cells, width)

    def header(self) -> list[str] | None:
        for _, cells in self.records(None):
            return cells if isinstance(cells, list) else None
        return None

    def records(self, width: int | None) -> Iterator[tuple[int, list[str] | str | None]]:
        """(line, cells), or (line, reason) for a line that cannot be parsed."""
        while (item := self._next_line()) is not None:
            number, line = item
            if not line.strip():
                continue
            if '"' not in line or line.count('"') % 2 == 0:
                yield number, self._parse(line)
                continue
            # An odd number of quotes: a quoted cell that goes on over the next lines, or a
            # stray quote. Join lines until the quotes balance; keep the join only if it gives
            # a well-formed record of the right width.
            taken: list[tuple[int, str]] = [item]
            quotes = line.count('"')
            while quotes % 2 and len(taken) < self.MAX_SPAN:
                following = self._next_line()
                if following is None:
                    break
                taken.append(following)
                quotes += following[1].count('"')
            if quotes % 2 == 0 and len(taken) > 1:
                cells = self._parse("".join(t[1] for t in taken))
                if cells is not None and (width is None or (
                        fits(cells, width) and not any(self._is_record(t[1], width) for t in taken[1:]))):
                    yield number, cells
                    continue
            self.pushed.extendleft(reversed(taken[1:]))
            cells = self._parse(line)
            if cells is not None and width is not None and fits(cells, width):
                yield number, cells  # a literal quote inside an unquoted cell: the value decides
            else:
                yield number, "unbalanced quote (a quoted cell is not closed)"


class _JsonArray:
    """Objects of a JSON array, read incrementally: (line, value) or (line, ParseProblem).
    After a broken element, reading resumes at the next element that starts with `{`."""

    CHUNK = 1 << 16  # an element must fit in this many characters
    _WS = re.compile(r"\s*")
    _NEXT = re.compile(r",\s*(?=\{)|\]")

    def __init__(self, text: IO[str], source: str):
        self.text = text
        self.source = source
        self.decoder = json.JSONDecoder()
        self.buf = ""
        self.pos = 0
        self.mark = 0  # a position in buf whose line number is known ...
        self.mark_line = 1  # ... and that line number
        self.eof = False

    def _more(self) -> bool:
        """Read another chunk; the buffer is shifted so that self.pos becomes 0."""
        if self.eof:
            return False
        chunk = self.text.read(self.CHUNK)
        if not chunk:
            self.eof = True
            return False
        self._line_at(self.pos)
        self.buf = self.buf[self.pos:] + chunk
        self.pos = self.mark = 0
        return True

    def _line_at(self, pos: int) -> int:
        self.mark_line += self.buf.count("\n", self.mark, pos)
        self.mark = pos
        return self.mark_line

    def _skip_ws(self) -> str:
        """The next non-blank character ('' at the end), with self.pos on it."""
        while True:
            self.pos = self._WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def _problem(self, reason: str) -> tuple[int, ParseProblem]:
        line = self._line_at(self.pos)
        return line, ParseProblem(self.source, line, reason)

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        first = self._skip_ws()
        if first == "":
            return
        if first != "[":
            raise InputError(self.source, "expected a JSON array of intake objects "
                                          "(for one object a line, name the file .jsonl)")
        self.pos += 1
        expect_value = True
        while True:
            ch = self._skip_ws()
            if ch == "":
                yield self._problem("the array is not closed with ]")
                return
            if ch == "]":
                return
            if not expect_value and ch != "{":  # a missing comma between objects is forgiven
                if ch == ",":
                    self.pos += 1
                    expect_value = True
                else:
                    yield self._problem("expected ',' or ']' after an intake")
                    self._resync(self.pos + 1)
                continue
            line = self._line_at(self.pos)
            while True:
                try:
                    value, end = self.decoder.raw_decode(self.buf, self.pos)
                except json.JSONDecodeError as exc:
                    if len(self.buf) - self.pos < self.CHUNK and self._more():
                        continue
                    yield line, ParseProblem(self.source, line, f"not valid JSON ({exc.msg})")
                    self._resync(self.pos + 1)
                    expect_value = True
                else:
                    yield line, value
                    self.pos = end
                    expect_value = False
                break

    def _resync(self, pos: int) -> None:
        """Move to the next element that starts with `{`, or onto the closing `]`."""
        self.pos = pos
        while True:
            m = self._NEXT.search(self.buf, self.pos)
            if m:
                self.pos = m.end() if m.group() != "]" else m.start()
                return
            self.pos = max(self.pos, len(self.buf) - 256)  # a ',' and blanks may end the chunk
            if not self._more():
                self.pos = len(self.buf)
                return


# ----------------------------------------------------------------------------- scoring

# Seven digits or more, however grouped: a phone, date or record number.
_MANY_DIGITS = re.compile(r"(?:\d\D{0,2}){7}")
MAX_SHOWN_VALUE = 40  # longer values are never echoed (they may be free text)


def value_may_identify(value: Any) -> bool:
    """Whether a bad value must not be echoed in an error message: long text, or something
    that looks like an e-mail address, phone number, date or record number."""
    text = value if isinstance(value, str) else repr(value)
    return (len(text) > MAX_SHOWN_VALUE or "@" in text or _MANY_DIGITS.search(text) is not None
            or bool(identifying_details(text)))


def field_error_item(error: FieldError) -> dict[str, str]:
    """The error item of one bad field, as `evaluate` makes it, unless the value may identify
    someone: then the value is left out of the message."""
    if value_may_identify(error.value):
        return {"field": error.field,
                "message": f"{error.field}: the value is not shown (it may be personal data); expected {error.allowed}"}
    return error.as_dict()


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


def contract_dict(result: Result) -> dict[str, Any]:
    """`result.contract_dict()` built directly from the model's attributes: the same dict,
    several times faster than pydantic's serializer (tests/test_batch.py checks they agree)."""
    if result.status != "scored":
        return result.contract_dict()
    ref = result.rulebase
    return {
        "id": result.id,
        "status": result.status,
        "urgency": _value(result.urgency),
        "supply_picture": _value(result.supply_picture),
        "red_flags": list(result.red_flags),
        "factors": [{"id": f.id, "category": _value(f.category), "evidence": list(f.evidence)}
                    for f in result.factors],
        "perceived_signs": list(result.perceived_signs),
        "referrals": [{"to": _value(r.to), "urgency": _value(r.urgency), "reasons": list(r.reasons)}
                      for r in result.referrals],
        "next_steps": [{"code": s.code, "text": s.text} for s in result.next_steps],
        "rulebase": {"name": ref.name, "version": ref.version, "hash": ref.hash},
    }


class Scorer:
    """Scores records in this process: the same steps as `evaluate(..., explain=False)`,
    returning the contract's result dict."""

    def __init__(self, rulebase: RuleBase):
        self.rulebase = rulebase
        self.ref = rulebase_ref(rulebase).model_dump(mode="json")

    def error(self, raw_id: Any, items: list[dict[str, str]]) -> dict[str, Any]:
        return {"id": None if raw_id in (None, "") else str(raw_id), "status": "error",
                "errors": items, "rulebase": dict(self.ref)}

    def score(self, fields: Mapping[str, Any] | None, problem: ParseProblem | None = None) -> dict[str, Any]:
        if problem is not None or fields is None:
            return self.error(None, [problem.as_dict() if problem else {"field": RECORD_FIELD, "message": "no record"}])
        try:
            intake = parse_intake(self.rulebase, fields)
        except IntakeError as exc:
            return self.error(fields.get(ID_FIELD), [field_error_item(e) for e in exc.errors])
        try:
            return contract_dict(evaluate_intake(self.rulebase, intake, explain=False))
        except EngineError as exc:  # the engine failed on this intake: report it, score the rest
            return self.error(intake.id, [{"field": RECORD_FIELD, "message": f"could not be scored ({exc})"}])

    def chunk(self, fmt: str, source: str, items: list[tuple[int, Any, Any]]) -> tuple[Any, "Summary"]:
        """Score one chunk of (line, fields, problem): (rendered output or result dicts, summary)."""
        results = [self.score(fields, problem) for _, fields, problem in items]
        summary = Summary()
        for (line, _, _), result in zip(items, results):
            summary.add(result, source, line)
        return (results if fmt == "dicts" else render(fmt, results)), summary


# ----------------------------------------------------------------------------- summary

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
            "seconds": round(self.seconds, 3),
            "records_per_second": round(self.records_per_second, 1),
        }


# ----------------------------------------------------------------------------- output

CSV_COLUMNS = (
    "id", "status", "urgency", "supply_picture", "red_flags", "primary_factors",
    "secondary_factors", "factor_evidence", "perceived_signs", "referrals", "referral_reasons",
    "next_steps", "error_fields", "error_messages", "rulebase.name", "rulebase.version",
    "rulebase.hash",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, made inert with a leading `'`."""
    return "'" + cell if cell[:1] in _FORMULA_START else cell


def flatten(result: Mapping[str, Any]) -> dict[str, str]:
    """One result as a flat row of CSV_COLUMNS (see the module docstring)."""
    factors = result.get("factors") or []
    referrals = result.get("referrals") or []
    errors = result.get("errors") or []
    ref = result.get("rulebase") or {}
    return {
        "id": result.get("id") or "",
        "status": result["status"],
        "urgency": result.get("urgency") or "",
        "supply_picture": result.get("supply_picture") or "",
        "red_flags": ";".join(result.get("red_flags") or ()),
        "primary_factors": ";".join(f["id"] for f in factors if f["category"] == "primary"),
        "secondary_factors": ";".join(f["id"] for f in factors if f["category"] == "secondary"),
        "factor_evidence": ";".join(f"{f['id']}:{','.join(f['evidence'])}" for f in factors),
        "perceived_signs": ";".join(result.get("perceived_signs") or ()),
        "referrals": ";".join(f"{r['to']}:{r['urgency']}" for r in referrals),
        "referral_reasons": ";".join(f"{r['to']}:{','.join(r['reasons'])}" for r in referrals),
        "next_steps": ";".join(s["code"] for s in result.get("next_steps") or ()),
        "error_fields": ";".join(e["field"] for e in errors),
        "error_messages": " | ".join(e["message"] for e in errors),
        "rulebase.name": ref.get("name", ""),
        "rulebase.version": ref.get("version", ""),
        "rulebase.hash": ref.get("hash", ""),
    }


def render(fmt: str, results: Iterable[Mapping[str, Any]]) -> str:
    """Results as JSONL lines or CSV rows (without the header)."""
    if fmt == "jsonl":
        return "".join([_dumps(r) + "\n" for r in results])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows([neutralise(c) for c in flatten(r).values()] for r in results)
    return buf.getvalue()


def csv_header() -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(CSV_COLUMNS)
    return buf.getvalue()


class OutputError(SupplycheckError):
    """The output cannot be written where asked (unknown format, missing folder, an input)."""


def output_format(path: str | Path) -> str:
    if str(path) == STDIN:
        return "jsonl"
    fmt = OUTPUT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise OutputError(f"{path}: unknown output format; use .jsonl or .csv")
    return fmt


class AtomicFile:
    """A text file that appears under its name only once it is complete: it is written to a
    hidden temporary file in the same folder, which replaces the target at the end; on any
    error or interruption the temporary file is removed and the target is left untouched."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        self.file: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        if not self.path.parent.is_dir():
            raise OutputError(f"{self.path}: the folder {str(self.path.parent)!r} does not exist")
        try:
            fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write: {exc.strerror or exc}") from None
        self.file = open(fd, "w", encoding="utf-8", newline="")
        return self.file

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.file is not None
        done = False
        try:
            if exc_type is None:
                self.file.flush()
                os.fsync(self.file.fileno())
                self.file.close()
                os.replace(self.temp, self.path)
                done = True
        finally:
            if not done:
                self.file.close()
                try:
                    os.unlink(self.temp)
                except FileNotFoundError:
                    pass


class _Unclosed:
    """Standard output as a context manager that is flushed, never closed."""

    def __init__(self, stream: IO[str]):
        self.stream = stream

    def __enter__(self) -> IO[str]:
        return self.stream

    def __exit__(self, *exc: Any) -> None:
        self.stream.flush()


# ----------------------------------------------------------------------------- parallel

_worker: Scorer | None = None
_worker_error: Exception | None = None


def _init_worker(rules_dir: str, content_hash: str) -> None:
    """Once per worker process: ignore Ctrl-C (the main process stops the run), load the rule
    base, check it is the one the run started with."""
    global _worker, _worker_error
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        rulebase = load_rulebase(rules_dir)
        if rulebase.content_hash != content_hash:
            raise SupplycheckError(f"{rules_dir}: the rule base changed on disk during the run")
        _worker = Scorer(rulebase)
    except SupplycheckError as exc:
        _worker_error = exc
    # The rule base lives as long as the process: keep it out of garbage collection, and collect
    # less often (scoring makes many short-lived objects and no reference cycles).
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _score_chunk(fmt: str, source: str, items: list) -> tuple[Any, Summary]:
    if _worker is None:
        raise _worker_error or SupplycheckError("worker process not initialised")
    return _worker.chunk(fmt, source, items)


def _mp_context() -> multiprocessing.context.BaseContext:
    """`fork` where there is one: workers start at once and never re-run the caller's main
    module (spawn would, from a script without a `__main__` guard or from standard input).
    Workers are started before this module starts any thread, and each loads its own rule base."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while worker processes are started (from the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _chunks(records: Iterable[Record | Mapping[str, Any]], size: int) -> Iterator[tuple[str, list]]:
    """Consecutive records of one source as (source, [(line, fields, problem), ...]).
    A plain mapping is a record of source `<records>`, numbered from 1."""
    source: str | None = None
    items: list = []
    for number, record in enumerate(records, 1):
        if isinstance(record, Record):
            src, item = record.source, (record.line, record.fields, record.problem)
        else:
            src, item = "<records>", (number, dict(record), None)
        if src != source or len(items) >= size:
            if items:
                yield source or "", items
            source, items = src, []
        items.append(item)
    if items:
        yield source or "", items


def _score_chunks(rulebase: RuleBase, chunks: Iterator[tuple[str, list, Any]], fmt: str,
                  workers: int) -> Iterator[tuple[Any, int, Any, Summary]]:
    """(tag, number of records, output, summary) per chunk, in input order.

    The first chunk is scored in this process (a small input never starts worker processes);
    the rest go to `workers` processes, each loading the rule base once, with a bounded number
    of chunks in flight so memory does not grow with the input.
    """
    local: Scorer | None = None
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None) if workers > 1 else None
    if second is None:
        local = Scorer(rulebase)
        for source, items, tag in itertools.chain([first], chunks):
            output, summary = local.chunk(fmt, source, items)
            yield tag, len(items), output, summary
        return
    executor = ProcessPoolExecutor(
        max_workers=workers, mp_context=_mp_context(),
        initializer=_init_worker, initargs=(str(rulebase.directory), rulebase.content_hash))
    try:
        pending: deque[tuple[Any, int, Future]] = deque()

        def submit(chunk: tuple[str, list, Any]) -> None:
            source, items, tag = chunk
            pending.append((tag, len(items), executor.submit(_score_chunk, fmt, source, items)))

        with _sigint_ignored():  # the workers start now and inherit it (no traceback on Ctrl-C)
            submit(second)
        # Score the first chunk here while the workers start.
        local = Scorer(rulebase)
        output, summary = local.chunk(fmt, first[0], first[1])
        yield first[2], len(first[1]), output, summary
        limit = 4 * workers
        for chunk in chunks:
            submit(chunk)
            while len(pending) >= limit:
                tag, n, future = pending.popleft()
                yield (tag, n, *future.result())
        while pending:
            tag, n, future = pending.popleft()
            yield (tag, n, *future.result())
    except BrokenProcessPool as exc:
        raise SupplycheckError(f"a worker process stopped unexpectedly ({exc}); no output was written") from None
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def score_records(rulebase: RuleBase, records: Iterable[Record | Mapping[str, Any]], *,
                  workers: int = 1, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[dict[str, Any]]:
    """The contract's result of each record, in order, lazily: records are mappings of intake
    fields, or Records from `read_intakes`. With `workers` > 1, scoring runs in that many
    processes (each loads the rule base from `rulebase.directory` once)."""
    chunks = ((source, items, None) for source, items in _chunks(records, chunk_size))
    for _, _, results, _ in _score_chunks(rulebase, chunks, "dicts", workers):
        yield from results


# ----------------------------------------------------------------------------- a whole run

Progress = Callable[[int, int, "int | None"], None]  # (records done, bytes done, total bytes)


def score_files(inputs: Sequence[str | Path], output: str | Path, rulebase: RuleBase, *,
                workers: int | None = None, drop_columns: Iterable[str] = (),
                chunk_size: int = DEFAULT_CHUNK_SIZE, on_warning: Callable[[str], None] | None = None,
                on_progress: Progress | None = None, stdin: IO[bytes] | None = None,
                stdout: IO[str] | None = None) -> Summary:
    """Score every record of `inputs` into `output` (`.jsonl`, `.csv`, or `-` for JSONL on
    standard output), one result per record, in order, and return the summary.

    Every input is checked first (readable, no identifying columns): a refused run writes
    nothing. The output file appears only when complete (see AtomicFile).
    """
    if not inputs:
        raise InputError("(no input)", "give at least one input file")
    fmt = output_format(output)
    if sum(str(p) == STDIN for p in inputs) > 1:
        raise InputError(STDIN_NAME, "standard input can be read only once")
    drop = tuple(drop_columns)
    readers = [IntakeReader(p, rulebase, drop_columns=drop, on_warning=on_warning, stdin=stdin)
               for p in inputs]
    if str(output) != STDIN:
        target = Path(output).resolve()
        for reader in readers:
            if not reader.is_stdin and Path(reader.path).resolve() == target:
                raise OutputError(f"{output}: the output would overwrite an input")
    for reader in readers:
        reader.check()
    total = None if any(r.is_stdin for r in readers) else sum(r.size or 0 for r in readers)
    workers = default_workers() if workers is None else max(1, workers)

    def chunks() -> Iterator[tuple[str, list, int]]:
        before = 0
        for reader in readers:
            for source, items in _chunks(reader, chunk_size):
                yield source, items, before + reader.position()
            before += reader.size or 0

    summary = Summary()
    started = time.perf_counter()
    sink = _Unclosed(stdout or sys.stdout) if str(output) == STDIN else AtomicFile(output)
    with sink as out, contextlib.closing(_score_chunks(rulebase, chunks(), fmt, workers)) as scored:
        if fmt == "csv":
            out.write(csv_header())
        done = 0
        for position, n, text, part in scored:
            out.write(text)
            summary.merge(part)
            done += n
            if on_progress is not None:
                on_progress(done, position, total)
        summary.seconds = time.perf_counter() - started
    summary.warnings = [w for r in readers for w in r.warnings]
    return summary
