"""Readers: CSV, JSONL, JSON arrays and Parquet, read lazily in input order.

Every record read is one Record: its fields, or why it cannot be read (a ParseProblem naming
the line, never its content, with the record's id where it can still be read). A file that
cannot be read at all (binary data, UTF-16 without a byte-order mark, a CSV header that cannot
be parsed, a broken JSON array) raises UnreadableInput. Every cell read is checked for
identifying values (see columns.py); a file holding one raises IdentifyingValuesError once the
whole file has been checked, and the record holding it is never handed on.

CSV and JSON arrays are parsed here. JSON lines are only split into lines here (`line_chunks`)
and parsed where they are scored, in the worker processes (`parse_json_lines`), and Parquet is
read here by row group and turned into records there (see arrow.py): both check every value
there as CSV does here, and report what they found (`LinesSeen`) for `IntakeReader.saw`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from collections import deque
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, NamedTuple

import ijson
import orjson

from ...core.intake import ID_FIELD
from ...privacy import all_plain, plain_values
from ...rulebase import RuleBase
from .columns import ColumnPlan, Finding, merge_findings, normalise_column
from .problems import (
    INPUT_FORMATS,
    MAX_RECORD_CHARS,
    MAX_WARNINGS_PER_FILE,
    STDIN,
    STDIN_NAME,
    IdentifyingColumnsError,
    IdentifyingValuesError,
    ParseProblem,
    UnreadableInput,
)

csv.field_size_limit(MAX_RECORD_CHARS)
SNIFF_BYTES = 1 << 13
UNBALANCED = "unbalanced quote (a quoted cell is not closed)"


class Record(NamedTuple):
    """One record read from an input: its fields, or why the line could not be read."""

    source: str
    line: int
    fields: dict[str, Any] | None
    problem: ParseProblem | None = None


class JsonLines(NamedTuple):
    """JSON lines as read, parsed where they are scored (a worker process) rather than where
    they are read: sending text costs the reading process far less than sending parsed objects."""

    drop_columns: tuple[str, ...]
    lines: list[tuple[int, str | None]]  # (line number, the line; None: over MAX_RECORD_CHARS)


class LinesSeen(NamedTuple):
    """What turning a chunk into records found that the reading process reports once per file."""

    new_keys: list[str]  # keys (columns) not seen before in the file, in order
    findings: dict[str, Finding]  # identifying values, by column (never the values)


def loads(line: str) -> Any:
    """One JSON value: orjson, or the standard library for what orjson refuses (NaN, a lone
    surrogate, huge numbers, deep nesting), which also words the error."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


_ID_IN_TEXT = re.compile(r'"id"\s*:\s*("(?:[^"\\\r\n]|\\.){0,200}"|-?\d{1,30})')


def readable_id(plan: ColumnPlan, line: str, number: int) -> str | None:
    """The id of a line that is not valid JSON, where it can still be read (and is not dropped,
    and does not look identifying: then it is a finding, and the file is refused)."""
    m = _ID_IN_TEXT.search(line)
    if not m:
        return None
    try:
        value = json.loads(m.group(1))
    except ValueError:
        return None
    return _checked_id(plan, ID_FIELD, value, number)


def _checked_id(plan: ColumnPlan, column: str, value: Any, line: int) -> str | None:
    if value in (None, "") or isinstance(value, str) and not value.strip():
        return None
    if column not in plan.fields:
        plan.resolve([column])
    if plan.fields.get(column) != ID_FIELD or plan.check_value(column, value, line):
        return None
    return str(value)


def json_line_record(plan: ColumnPlan, source: str, number: int, line: str | None) -> Record:
    """The Record of one JSON line (its fields, or why it cannot be read); raises
    IdentifyingColumnsError for an identifying key that is not dropped. Values are checked
    into `plan.findings`."""
    if line is None:
        return Record(source, number, None, ParseProblem(source, number, too_long(MAX_RECORD_CHARS)))
    try:
        value = loads(line)
    except RecursionError:
        return Record(source, number, None, ParseProblem(source, number, "nested too deeply"))
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):  # a syntax error: an id before or after it is still readable
            length = len(line.rstrip())
            where = "at the end of the line" if exc.pos >= length else f"at column {exc.pos + 1}"
            reason = f"not valid JSON ({exc.msg} {where})"
            return Record(source, number, None, ParseProblem(source, number, reason, readable_id(plan, line, number)))
        reason = "not valid JSON (a number with too many digits)" if "digits" in str(exc) else "not valid JSON"
        return Record(source, number, None, ParseProblem(source, number, reason))
    if line.count("[") + line.count("{") > MAX_DEPTH and _too_deep(value):
        return Record(source, number, None, ParseProblem(source, number, f"nested more than {MAX_DEPTH} levels deep"))
    try:
        return object_record(plan, source, value, number)
    except RecursionError:
        return Record(source, number, None, ParseProblem(source, number, "nested too deeply"))


def object_record(plan: ColumnPlan, source: str, value: Any, line: int) -> Record:
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "true/false", type(None): "null"}.get(type(value), "a number")
        return Record(source, line, None, ParseProblem(source, line, f"{kind}, not an intake object"))
    return Record(source, line, plan_fields(plan, source, value, line))


def plan_fields(plan: ColumnPlan, source: str, record: dict, line: int) -> dict:
    """The record with only intake fields (renamed to their field names); raises for
    identifying keys that are not dropped; checks every value read."""
    fields = plan.fields
    new = [k for k in record if k not in fields]
    if new:
        refused = plan.resolve(new)
        if refused:
            raise IdentifyingColumnsError(source, refused, line)
    check = plan.check_value
    out = {}
    plain = plain_values(record.values())  # most records: nothing to look at value by value
    for key, value in record.items():
        if not plain:
            check(key, value, line)
        target = fields[key]
        if target is not None:
            out[target] = value
    return out


def parse_json_lines(plan: ColumnPlan, source: str, chunk: JsonLines) -> tuple[list[Record], LinesSeen]:
    """The Records of a chunk of JSON lines, and what the file's reader should report. `plan`
    is this process's for the file: its findings are handed on, and start again empty."""
    known = len(plan.fields)
    records = [json_line_record(plan, source, number, line) for number, line in chunk.lines]
    findings, plan.findings = plan.findings, {}
    return records, LinesSeen(list(plan.fields)[known:], findings)


def input_format(path: str | Path) -> str:
    if str(path) == STDIN:
        return "jsonl"
    fmt = INPUT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise UnreadableInput(str(path), "unknown input format; use .csv, .jsonl, .json or .parquet "
                                         "(or - for JSONL on standard input)")
    return fmt


def too_long(length: int) -> str:
    return f"a record of {length:,} characters or more, over the limit of {MAX_RECORD_CHARS:,}"


def sniff_text(start: bytes) -> str | None:
    """Why the first bytes of a file are not UTF-8 text, or None."""
    if start[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "the file is UTF-16; save it as UTF-8 (\"CSV UTF-8\" in a spreadsheet)"
    if b"\x00" in start:
        even, odd = start[0::2], start[1::2]
        if len(start) >= 4 and (odd.count(0) > 0.4 * len(odd) or even.count(0) > 0.4 * len(even)):
            return "the file looks like UTF-16 without a byte-order mark; save it as UTF-8"
        return "binary data (NUL bytes), not a text file"
    text = start.decode("utf-8", errors="replace")
    bad = sum(1 for c in text if c == "\ufffd" or (ord(c) < 32 and c not in "\t\r\n\f"))
    if len(text) >= 16 and bad > 0.1 * len(text):
        return "binary data, not UTF-8 text"
    return None


class IntakeReader:
    """Reads one input file lazily, as Records in order, with constant memory.

    `check()` validates the file up front (it exists, it is text, its header or first record
    has no identifying columns) so a run can be refused before any scoring. `position()` is
    the number of bytes read so far, `size` the file size (None for standard input).

    A run reads JSON lines with `line_chunks` and Parquet with `arrow_chunks` (turned into
    records where they are scored), takes note of what was found there with `saw`, and calls
    `finish` at the end; iterating gives the Records of any format in this process.
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
        self.records = 0  # scored so far (counted by the run)
        self.empty_warned = False
        self._parquet: Any = None
        self._plan_seen: ColumnPlan | None = None  # of the records made elsewhere (`saw`)
        self.findings: dict[str, Finding] = {}  # identifying values found elsewhere (`saw`)
        if not self.is_stdin:
            try:
                self.size = os.stat(self.path).st_size
            except OSError as exc:
                raise UnreadableInput(self.source, f"cannot read: {exc.strerror or exc}") from None
            if not os.path.isfile(self.path):
                raise UnreadableInput(self.source, "not a file")
        # A form tool's export (FHIR, REDCap, ODK/Kobo), recognised by content, is read by
        # channels.forms with this reader's checks; None for a plain intake file.
        from ..forms.inputs import form_export
        self.form = None if self.format == "parquet" else form_export(self)

    # -- public

    def check(self) -> None:
        """Refuse the file now if it cannot be used (not text, identifying columns, unusable
        header). Later records are checked as they are read."""
        if self.is_stdin:
            return
        if self.format == "parquet":
            self.parquet()
            return
        if self.form is not None:
            return self.form.check(self._open, self._plan())
        with self._open() as text:
            if self.format == "csv":
                self._csv_header(CsvRecords(text, self.source), self._plan())
            elif self.format == "jsonl":
                for number, line in text_lines(text):
                    if line is not None and line.strip():
                        try:
                            record = json.loads(line)
                        except ValueError:
                            return
                        if isinstance(record, dict):
                            self._fields(self._plan(), record, number, warn=False)
                        return

    def parquet(self) -> Any:
        """The Parquet input (see arrow.ParquetInput), opened once; raises for identifying columns."""
        if self._parquet is None:
            from .arrow import ParquetInput
            self._parquet = ParquetInput(self.path, self.source, self.rulebase, self.drop_columns)
        return self._parquet

    def arrow_chunks(self, size: int) -> Iterator[Any]:
        """The rows of a Parquet input, `size` at a time, as arrow.ArrowRows."""
        parquet = self.parquet()
        self._plan_seen = parquet.plan
        self._warn_columns(parquet.plan, 0)
        yield from parquet.chunks(size)

    def line_chunks(self, size: int) -> Iterator[JsonLines]:
        """The lines of a JSON lines input that are not blank, `size` at a time (see JsonLines)."""
        self._plan_seen = self._plan()
        with self._open() as text:
            lines: list[tuple[int, str | None]] = []
            for number, line in self._json_lines(text):
                lines.append((number, line))
                if len(lines) >= size:
                    yield JsonLines(self.drop_columns, lines)
                    lines = []
            if lines:
                yield JsonLines(self.drop_columns, lines)

    def _json_lines(self, text: IO[str]) -> Iterator[tuple[int, str | None]]:
        """The lines of a JSON lines input that are not blank (None: too long to read); at the
        end, a warning if bytes that are not UTF-8 were replaced."""
        replaced_at = 0
        for number, line in text_lines(text):
            if line is not None:
                if not line.strip():
                    continue
                if not replaced_at and "\ufffd" in line:
                    replaced_at = number
            yield number, line
        if replaced_at:
            self._warn(f"bytes that are not UTF-8 were replaced (first at line {replaced_at})")

    def saw(self, seen: LinesSeen, line: int) -> None:
        """Take note of what was found in a chunk of this file's records where they were
        scored (in file order): new columns are warned about, identifying values kept."""
        plan = self._plan_seen
        assert plan is not None
        if seen.new_keys:
            already = len(plan.unknown)
            refused = plan.resolve(seen.new_keys)
            if refused:  # refused where the records were made first; kept here for safety
                raise IdentifyingColumnsError(self.source, refused, line)
            self._warn_columns(plan, already)
        merge_findings(self.findings, seen.findings)

    def finish(self) -> None:
        """At the end of the run's reading of this file: refuse it if identifying values were
        found where its records were scored; the warnings of a file without any intake."""
        if self.findings:
            raise IdentifyingValuesError(self.source, self.findings.values())
        if self._plan_seen is not None:
            self._warn_not_found(self._plan_seen)
        if self.records == 0 and not self.empty_warned:
            self.empty_warned = True
            self._warn("no intakes: a header and no rows" if self.format in ("csv", "parquet") and self.size
                       else "no intakes: an empty array" if self.format == "json" and self.size
                       else "no intakes: the file is empty")

    def position(self) -> int:
        if self._parquet is not None:
            return (self.size or 0) * self._parquet.done // max(self._parquet.rows, 1)
        try:
            return self._raw.tell() if self._raw is not None and not self.is_stdin else 0
        except (OSError, ValueError):
            return 0

    def __iter__(self) -> Iterator[Record]:
        if self.format == "parquet":
            yield from self._read_parquet()
            return
        plan = self._plan()
        with self._open(binary=self.format == "json") as stream:
            read = self.form.read if self.form is not None else {
                "csv": self._read_csv, "jsonl": self._read_jsonl, "json": self._read_json}[self.format]
            records = read(stream, plan)
            for record in records:
                if plan.findings:
                    break  # never hand on a record with identifying values; check the rest
                yield record
            if plan.findings:
                for _ in records:
                    pass
                raise IdentifyingValuesError(self.source, plan.findings.values())
        self._warn_not_found(plan)

    # -- opening

    def _open(self, binary: bool = False) -> Any:
        if self.is_stdin:
            raw = self._stdin or sys.stdin.buffer
        else:
            try:
                raw = open(self.path, "rb")
            except OSError as exc:
                raise UnreadableInput(self.source, f"cannot read: {exc.strerror or exc}") from None
        encoding = "utf-8-sig"
        if hasattr(raw, "peek"):
            start = raw.peek(SNIFF_BYTES)[:SNIFF_BYTES]
            reason = sniff_text(start)
            if reason is not None:
                if not self.is_stdin:
                    raw.close()
                raise UnreadableInput(self.source, reason)
            if not binary:
                # The byte-order mark is skipped here: utf-8-sig's decoder would hold back (and
                # at the end drop) a last line that merely starts like one.
                if start.startswith(b"\xef\xbb\xbf"):
                    raw.read(3)
                encoding = "utf-8"
        self._raw = raw
        if binary:
            return raw if not self.is_stdin else _Unclosing(raw)
        # Bytes that are not UTF-8 become U+FFFD (the value is then reported as not allowed).
        return _Text(raw, encoding=encoding, errors="replace", newline="" if self.format == "csv" else None,
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
            self._warn(f"unknown column{plural} {names} not used (each value is checked for identifying "
                       "data; drop the column with --drop-columns)")
        return len(plan.unknown)

    def _warn_not_found(self, plan: ColumnPlan) -> None:
        present = {normalise_column(c) for c in plan.fields}
        missing = [d for d in self.drop_columns if normalise_column(d) not in present]
        if missing:
            self._warn(f"--drop-columns {', '.join(repr(m) for m in missing)}: no such column")

    # -- CSV

    def _csv_header(self, records: "CsvRecords", plan: ColumnPlan) -> tuple[list[str], list[tuple[int, str]]]:
        """(column names, [(cell index, field)] of the columns used); raises for identifying
        columns and for a header that cannot be used."""
        first = next(iter(records), None)
        if first is None:
            return [], []
        number, header = first
        if isinstance(header, str):
            raise UnreadableInput(self.source, f"the header row (line {number}) cannot be read: {header}")
        if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
            sep = "semicolons" if ";" in header[0] else "tabs"
            raise UnreadableInput(self.source, f"the header is separated by {sep}; save the file as comma-separated CSV")
        names = [h.strip() for h in header]
        for i, name in enumerate(names):
            if not name:  # a spreadsheet's or pandas' unnamed index column: ignored, never read
                names[i] = f"(column {i + 1}, no name)"
                plan.fields[names[i]] = None
                plan.unknown.append(names[i])
                plan.scan[names[i]] = (True, False)
        refused = plan.resolve(names)
        if refused:
            raise IdentifyingColumnsError(self.source, refused)
        seen: dict[str, str] = {}
        for name in names:
            target = plan.fields[name]
            if target is not None:
                if target in seen:
                    raise UnreadableInput(self.source, f"columns {seen[target]!r} and {name!r} are both {target!r}")
                seen[target] = name
        if not any(t in self.rulebase.questions for t in seen):
            raise UnreadableInput(self.source, "no column of the header row is an intake field: is it the header "
                                          "of an intake file (see `supplycheck rules fields`)?")
        return names, [(i, plan.fields[n]) for i, n in enumerate(names) if plan.fields[n] is not None]

    def _read_csv(self, text: io.TextIOWrapper, plan: ColumnPlan) -> Iterator[Record]:
        records = CsvRecords(text, self.source)
        names, used = self._csv_header(records, plan)
        if not names:
            self.empty_warned = True
            self._warn("empty file (no header row)")
            return
        self._warn_columns(plan, 0)
        width = len(names)
        scanned = [(i, name) for i, name in enumerate(names) if name in plan.scan]
        source = self.source
        check = plan.check_value
        id_first = bool(used) and used[0] == (0, ID_FIELD)
        for line, cells in records.rows(width):
            if isinstance(cells, str):  # a record that cannot be parsed: no cell of it is sure, so no id
                yield Record(source, line, None, ParseProblem(source, line, cells))
                continue
            if len(cells) != width:
                if not fits(cells, width):
                    reason = f"{len(cells)} cells where the header has {width}"
                    # A cell missing or extra may shift the cells after it: only a first-column id is sure.
                    known = _checked_id(plan, names[0], cells[0].strip(), line) if id_first and cells else None
                    yield Record(source, line, None, ParseProblem(source, line, reason, known))
                    continue
                cells = cells[:width]
            if not all_plain(cells):
                for i, name in scanned:
                    if cells[i]:
                        check(name, cells[i], line)
            # NaN (pandas' and numpy's "missing") is "not known", as a JSON NaN is.
            yield Record(source, line, {field: cells[i] for i, field in used
                                        if cells[i] and cells[i].strip().lower() != "nan"})
        if records.replaced_at:
            self._warn(f"bytes that are not UTF-8 were replaced (first at line {records.replaced_at})")

    # -- JSON lines / JSON array

    def _fields(self, plan: ColumnPlan, record: dict, line: int, *, warn: bool = True) -> dict:
        """The record with only intake fields (see plan_fields), unknown columns warned about."""
        seen_unknown = len(plan.unknown)
        out = plan_fields(plan, self.source, record, line)
        if warn and len(plan.unknown) > seen_unknown:
            self._warn_columns(plan, seen_unknown)
        return out

    def _object(self, plan: ColumnPlan, value: Any, line: int) -> Record:
        if isinstance(value, dict):
            return Record(self.source, line, self._fields(plan, value, line))
        return object_record(plan, self.source, value, line)

    def _read_jsonl(self, text: io.TextIOWrapper, plan: ColumnPlan) -> Iterator[Record]:
        for number, line in self._json_lines(text):
            unknown = len(plan.unknown)
            record = json_line_record(plan, self.source, number, line)
            if len(plan.unknown) > unknown:
                self._warn_columns(plan, unknown)
            yield record

    def _read_parquet(self) -> Iterator[Record]:
        from .arrow import rows
        for chunk in self.arrow_chunks(1000):
            records, seen = rows(self._plan_seen, self.source, chunk)
            self.saw(seen, chunk.first_row)
            if not self.findings:  # never hand on a record with identifying values; check the rest
                yield from records
        if self.findings:
            raise IdentifyingValuesError(self.source, self.findings.values())
        self._warn_not_found(self._plan_seen)

    def _read_json(self, raw: IO[bytes], plan: ColumnPlan) -> Iterator[Record]:
        """The items of a JSON array, streamed (ijson's events), numbered from 1. A syntax error
        makes the rest of the array unreadable: the file is refused (JSON Lines, one intake a
        line, recovers per line). An item nested too deeply or too big is an error record."""
        stream = _DigitRunsCapped(raw)
        first = stream.first_byte()
        if first == b"":
            self.empty_warned = True
            self._warn("empty file (no JSON array)")
            return
        if first != b"[":
            raise UnreadableInput(self.source, "expected a JSON array of intake objects "
                                          "(for one object a line, name the file .jsonl)")
        for number, value, reason in _array_items(stream, self.source):
            if reason is not None:
                yield Record(self.source, number, None, ParseProblem(self.source, number, reason))
            else:
                yield self._object(plan, value, number)


def json_array_items(raw: IO[bytes], source: str) -> Iterator[tuple[int, Any, str | None]]:
    """The items of the JSON array in `raw`, streamed and numbered from 1, as (number, value,
    None) or (number, None, why it is not used); a syntax error refuses the file."""
    stream = _DigitRunsCapped(raw)
    if stream.first_byte() != b"[":
        raise UnreadableInput(source, "expected a JSON array")
    yield from _array_items(stream, source)


def _array_items(stream: _DigitRunsCapped, source: str) -> Iterator[tuple[int, Any, str | None]]:
    """A syntax error makes the rest of the array unreadable: the file is refused (JSON Lines,
    one record a line, recovers per line). An item nested too deeply or too big is not used."""
    number = 0
    items = _json_items(ijson.basic_parse(stream, use_float=False))
    while True:
        try:
            value, reason = next(items)
        except StopIteration:
            return
        except ijson.JSONError as exc:
            message = str(exc).splitlines()[0] if str(exc) else "syntax error"  # never the text itself
            raise UnreadableInput(source, f"not valid JSON after item {number}: {message}. A JSON "
                                          "array cannot be read past an error; fix it, or use JSON Lines "
                                          "(one record a line)") from None
        number += 1
        yield number, value, reason


MAX_DEPTH = 16  # an intake is two levels deep; anything far deeper is refused per item
_OPEN = {"start_map": dict, "start_array": list}
_CLOSE = ("end_map", "end_array")


def _json_items(events: Iterator[tuple[str, Any]]) -> Iterator[tuple[Any, str | None]]:
    """The items of a top-level JSON array from ijson's basic events, as (value, None) or
    (None, why it is not used). Built here rather than by ijson.items, to bound the depth (a
    deeply nested item would exhaust the stack) and the size of each item, and to give numbers
    as json.loads does (int, or float rather than Decimal)."""
    next(events)  # the array's start (checked by the caller)
    for event, value in events:
        if event == "end_array":
            for _ in events:  # anything after the array is a syntax error too
                pass
            return
        if event in _OPEN:
            yield _json_item(events, _OPEN[event]())
        else:
            yield (float(value) if isinstance(value, Decimal) else value), None


def _json_item(events: Iterator[tuple[str, Any]], root: Any) -> tuple[Any, str | None]:
    stack: list[Any] = [root]
    key: list[Any] = [None]
    size = 2
    problem: str | None = None
    level = 1
    for event, value in events:
        if event in _OPEN:
            level += 1
            if problem is None and level > MAX_DEPTH:
                problem = f"nested more than {MAX_DEPTH} levels deep"
            if problem is None:
                child = _OPEN[event]()
                _put(stack[-1], key[-1], child)
                stack.append(child)
                key.append(None)
            continue
        if event in _CLOSE:
            level -= 1
            if problem is None:
                stack.pop()
                key.pop()
            if level == 0:
                return (root, None) if problem is None else (None, problem)
            continue
        if problem is not None:
            continue
        if event == "map_key":
            key[-1] = value
            size += len(value) + 4
            continue
        if isinstance(value, Decimal):
            value = float(value)
        size += len(value) + 3 if isinstance(value, str) else 8
        _put(stack[-1], key[-1], value)
        if size > MAX_RECORD_CHARS:
            problem = too_long(size)
    return None, "the array ends inside this item"


def _too_deep(value: Any) -> bool:
    """Whether a parsed JSON value nests more than MAX_DEPTH levels (without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _put(container: Any, key: Any, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
    else:
        container.append(value)


def read_intakes(path: str | Path, rulebase: RuleBase, *, drop_columns: Iterable[str] = (),
                 on_warning: Callable[[str], None] | None = None) -> Iterator[Record]:
    """The records of one input file, in order (see IntakeReader). Raises
    IdentifyingValuesError at the end when a value looks identifying."""
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


class _Unclosing:
    """Standard input as a context manager that is not closed."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw

    def __enter__(self) -> IO[bytes]:
        return self.raw

    def __exit__(self, *exc: Any) -> None:
        pass


def text_lines(text: IO[str]) -> Iterator[tuple[int, str | None]]:
    """(line number, line) with bounded memory: a line over MAX_RECORD_CHARS is skipped to its
    end and given as None."""
    number = 0
    while True:
        line = text.readline(MAX_RECORD_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_RECORD_CHARS and not line.endswith(("\n", "\r")):
            while (rest := text.readline(MAX_RECORD_CHARS)) and not rest.endswith(("\n", "\r")):
                pass
            yield number, None
            continue
        yield number, line


_DIGITS = b"0123456789"
_LONG_DIGITS = re.compile(rb"\d{4001,}")


class _DigitRunsCapped:
    """A binary stream in which every run of more than 4,000 digits is cut to 4,000.

    ijson's C backend crashes the process on an integer Python will not convert (over 4,300
    digits). No intake value is near 4,000 digits, in a number or in text: cutting such a run
    never changes whether a record is valid, only a value that is never shown."""

    KEEP = 4000

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.run = 0  # digits at the end of what was returned so far
        self.head = b""

    def first_byte(self) -> bytes:
        """The first byte that is not blank (kept for the next read), or b"" at the end."""
        while True:
            chunk = self.raw.read(SNIFF_BYTES)
            if not chunk:
                return b""
            chunk = chunk.lstrip(b" \t\r\n") if not self.head else chunk
            if chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:].lstrip(b" \t\r\n")
            if chunk:
                self.head = chunk
                return chunk[:1]

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        while True:
            if self.head:
                data, self.head = self.head, b""
            else:
                data = self.raw.read(size)
            if not data:
                return data
            if self.run:
                rest = data.lstrip(_DIGITS)
                lead = len(data) - len(rest)
                keep = max(0, self.KEEP - self.run)
                self.run += lead
                data = data[:min(lead, keep)] + rest
                if not rest:
                    if data:
                        return data
                    continue
                self.run = 0
            data = _LONG_DIGITS.sub(lambda m: m.group()[:self.KEEP], data)
            self.run = len(data) - len(data.rstrip(_DIGITS))
            return data


def fits(cells: list[str], width: int) -> bool:
    """A row of the header's width; trailing empty cells (as some spreadsheets write) are fine."""
    return len(cells) == width or (len(cells) > width and not any(c.strip() for c in cells[width:]))


class CsvRecords:
    """CSV records with the line each starts on, by the csv module's own record boundaries (a
    quoted cell may hold line breaks). A record that spans lines but does not make a row of the
    header's width (a stray quote) spoils only its first line: reading resumes at the next."""

    MAX_SPAN = 100  # physical lines one record may span

    def __init__(self, text: IO[str], source: str):
        self.lines = text_lines(text)
        self.source = source
        self.pushed: deque[tuple[int, str | None]] = deque()
        self.taken: list[tuple[int, str | None]] = []
        self.replaced_at = 0
        self.reader = self._reader()

    def _reader(self) -> Any:
        return csv.reader(self._feed(), strict=True)

    def _next_line(self) -> tuple[int, str | None] | None:
        if self.pushed:
            return self.pushed.popleft()
        item = next(self.lines, None)
        if item is not None and not self.replaced_at and item[1] and "\ufffd" in item[1]:
            self.replaced_at = item[0]
        return item

    def _feed(self) -> Iterator[str]:
        """Lines for csv.reader: it pulls a further one only while a quoted cell is open."""
        while True:
            if len(self.taken) >= self.MAX_SPAN:
                return
            item = self._next_line()
            if item is None or item[1] is None:
                if item is not None:
                    self.pushed.appendleft(item)
                return
            self.taken.append(item)
            yield item[1]

    def __iter__(self) -> Iterator[tuple[int, list[str] | str]]:
        return self.rows(None)

    def rows(self, width: int | None) -> Iterator[tuple[int, list[str] | str]]:
        """(line, cells), or (line, reason) for a record that cannot be read."""
        while True:
            self.taken = []
            item = self._next_line()
            if item is None:
                return
            number, line = item
            if line is None:
                yield number, too_long(MAX_RECORD_CHARS)
                continue
            if not line.strip():
                continue
            self.pushed.appendleft(item)
            try:
                cells = next(self.reader)
                error = None
            except StopIteration:
                cells, error = None, UNBALANCED
            except csv.Error as exc:
                cells, error = None, _csv_reason(str(exc))
            if error is None and cells is not None and (len(self.taken) == 1 or width is None or (
                    fits(cells, width) and not self._swallows_a_row(width))):
                yield number, cells
                continue
            if error is None:
                error = UNBALANCED
            # Give back every line but the first: the next record starts on the next line.
            self.pushed.extendleft(reversed(self.taken[1:]))
            self.reader = self._reader()
            yield number, error


    def _swallows_a_row(self, width: int) -> bool:
        """Whether a record spanning lines has, between its first and last line, a line with no
        quote that is a whole row by itself: then the first line's quote is a stray one."""
        return any(line is not None and '"' not in line and fits(line.rstrip("\r\n").split(","), width)
                   for _, line in self.taken[1:-1])


def _csv_reason(message: str) -> str:
    if "field larger" in message:
        return f"a cell over the limit of {MAX_RECORD_CHARS:,} characters"
    if "NUL" in message:
        return "a NUL byte (binary data)"
    if "unexpected end of data" in message:
        return UNBALANCED
    if "expected after" in message:
        return "a quote in the middle of a quoted cell (write it as two quotes)"
    return "cannot be parsed as CSV"
