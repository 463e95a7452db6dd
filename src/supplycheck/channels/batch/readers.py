"""Readers: CSV, JSONL and JSON arrays, read lazily as Records in input order."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from collections import deque
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, NamedTuple

import orjson

from ...core.intake import ID_FIELD
from ...rulebase import RuleBase
from .columns import ColumnPlan, normalise_column
from .problems import (
    INPUT_FORMATS,
    MAX_WARNINGS_PER_FILE,
    STDIN,
    STDIN_NAME,
    IdentifyingColumnsError,
    InputError,
    ParseProblem,
)


class Record(NamedTuple):
    """One record read from an input: its fields, or why the line could not be read."""

    source: str
    line: int
    fields: dict[str, Any] | None
    problem: ParseProblem | None = None


class JsonLines(NamedTuple):
    """Raw JSON lines, parsed where they are scored (a worker process) rather than where they
    are read: sending bytes costs the reading process far less than sending parsed objects."""

    drop_columns: tuple[str, ...]
    lines: list[tuple[int, bytes]]  # (line number, the line as read)


class LinesSeen(NamedTuple):
    """What parsing a JsonLines chunk found that the reading process reports once per file."""

    new_keys: list[str]  # keys not seen before in the file, in order
    replaced_at: int  # the first line with bytes that are not UTF-8 (0: none)


_REPLACEMENT = "\ufffd".encode()
_ID_IN_TEXT = re.compile(rb'"id"\s*:\s*("(?:[^"\\\r\n]|\\.){0,200}"|-?\d{1,30})')


def loads(line: bytes | str) -> Any:
    """One JSON value: orjson, or the standard library for what orjson refuses (NaN, a lone
    surrogate, bytes that are not UTF-8, huge numbers), which also words the error."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line.decode("utf-8", "replace") if isinstance(line, bytes) else line)


def readable_id(line: bytes | str) -> str | None:
    """The id of a line that is not valid JSON, where it can still be read."""
    m = _ID_IN_TEXT.search(line.encode("utf-8", "replace") if isinstance(line, str) else line)
    if not m:
        return None
    try:
        value = json.loads(m.group(1).decode("utf-8", "replace"))
    except ValueError:
        return None
    return str(value) if value != "" else None


def json_line_record(plan: ColumnPlan, source: str, number: int, line: bytes | str) -> Record:
    """The Record of one JSON line (its fields, or why it cannot be read); raises for an
    identifying key that is not dropped."""
    try:
        value = loads(line)
    except ValueError as exc:
        reason = "not valid JSON"
        if isinstance(exc, json.JSONDecodeError):
            length = len(exc.doc.rstrip())
            where = "at the end of the line" if exc.pos >= length else f"at column {exc.pos + 1}"
            reason = f"not valid JSON ({exc.msg} {where})"
        return Record(source, number, None, ParseProblem(source, number, reason, readable_id(line)))
    return object_record(plan, source, value, number)


def object_record(plan: ColumnPlan, source: str, value: Any, line: int) -> Record:
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "true/false", type(None): "null"}.get(type(value), "a number")
        return Record(source, line, None, ParseProblem(source, line, f"{kind}, not an intake object"))
    return Record(source, line, plan_fields(plan, source, value, line))


def plan_fields(plan: ColumnPlan, source: str, record: dict, line: int) -> dict:
    """The record with only intake fields (renamed to their field names); raises for
    identifying keys that are not dropped."""
    fields = plan.fields
    for key in record:
        if key not in fields:
            refused = plan.resolve([k for k in record if k not in fields])
            if refused:
                raise IdentifyingColumnsError(source, refused, line)
            break
    out = {}
    for key, value in record.items():
        target = fields[key]
        if target is not None:
            out[target] = value
    return out


def parse_json_lines(plan: ColumnPlan, source: str, chunk: JsonLines) -> tuple[list[Record], LinesSeen]:
    """The Records of a chunk of raw JSON lines, and what the file's reader should report."""
    known = len(plan.fields)
    records = []
    replaced_at = 0
    for number, line in chunk.lines:
        record = json_line_record(plan, source, number, line)
        if not replaced_at and (_REPLACEMENT in line or (record.problem is None and _not_utf8(line))):
            replaced_at = number
        records.append(record)
    return records, LinesSeen(list(plan.fields)[known:], replaced_at)


def _not_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
        return False
    except UnicodeDecodeError:
        return True


def input_format(path: str | Path) -> str:
    if str(path) == STDIN:
        return "jsonl"
    fmt = INPUT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(str(path), "unknown input format; use .csv, .jsonl, .json or .parquet (or - for JSONL on standard input)")
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
        self.records = 0  # scored so far (counted by the run)
        self.empty_warned = False
        self._parquet: Any = None
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
        if self.format == "parquet":
            self.parquet()
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

    def parquet(self) -> Any:
        """The Parquet input (see arrow.ParquetInput), opened once; raises for identifying columns."""
        if self._parquet is None:
            from .arrow import ParquetInput
            self._parquet = ParquetInput(self.path, self.source, self.rulebase, self.drop_columns)
        return self._parquet

    def arrow_chunks(self, size: int) -> Iterator[Any]:
        """The rows of a Parquet input, `size` at a time, as arrow.ArrowRows."""
        parquet = self.parquet()
        self._warn_columns(parquet.plan, 0)
        self._warn_not_found(parquet.plan, parquet.plan.fields)
        yield from parquet.chunks(size)

    def position(self) -> int:
        if self._parquet is not None:
            return (self.size or 0) * self._parquet.done // max(self._parquet.rows, 1)
        try:
            return self._raw.tell() if self._raw is not None and not self.is_stdin else 0
        except (OSError, ValueError):
            return 0

    def line_chunks(self, size: int) -> Iterator[JsonLines]:
        """The non-blank lines of a JSONL input as read, `size` at a time (see JsonLines)."""
        raw = self._open_raw()
        self._raw = raw
        self._plan_seen = self._plan()
        self._replaced_at = 0
        try:
            lines: list[tuple[int, bytes]] = []
            for number, line in enumerate(raw, 1):
                if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                    line = line[3:]
                if line.isspace() or not line:
                    continue
                lines.append((number, line))
                if len(lines) >= size:
                    yield JsonLines(self.drop_columns, lines)
                    lines = []
            if lines:
                yield JsonLines(self.drop_columns, lines)
        finally:
            if not self.is_stdin:
                raw.close()

    def saw(self, seen: LinesSeen, line: int) -> None:
        """Take note of what a worker found in a chunk of this file's lines (in file order)."""
        plan = self._plan_seen
        if seen.new_keys:
            already = len(plan.unknown)
            refused = plan.resolve(seen.new_keys)
            if refused:  # the worker refuses first; kept here for safety
                raise IdentifyingColumnsError(self.source, refused, line)
            self._warn_columns(plan, already)
        if seen.replaced_at and not self._replaced_at:
            self._replaced_at = seen.replaced_at

    def finish(self) -> None:
        """The warnings of a file once all its records are scored: for JSON lines read with
        line_chunks, and for a file without any intake."""
        if hasattr(self, "_plan_seen"):
            self._warn_not_found(self._plan_seen, self._plan_seen.fields)
            if self._replaced_at:
                self._warn(f"bytes that are not UTF-8 were replaced (first at line {self._replaced_at})")
        if self.records == 0 and not self.empty_warned:
            self.empty_warned = True
            self._warn("no intakes: a header and no rows" if self.format in ("csv", "parquet") and self.size
                       else "no intakes: the file is empty")

    def __iter__(self) -> Iterator[Record]:
        if self.format == "parquet":
            from .arrow import rows
            for chunk in self.arrow_chunks(1000):
                for line, fields, _ in rows(chunk):
                    yield Record(self.source, line, fields)
            return
        with self._open() as text:
            if self.format == "csv":
                yield from self._read_csv(text)
            elif self.format == "jsonl":
                yield from self._read_jsonl(text)
            else:
                yield from self._read_json(text)

    # -- opening

    def _open(self) -> io.TextIOWrapper:
        raw = self._open_raw()
        self._raw = raw
        # Bytes that are not UTF-8 become U+FFFD (the value is then reported as not allowed).
        return _Text(raw, encoding="utf-8-sig", errors="replace", newline="" if self.format == "csv" else None,
                     close_raw=not self.is_stdin)

    def _open_raw(self) -> IO[bytes]:
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
        return raw

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
            self.empty_warned = True
            self._warn("empty file (no header row)")
            return
        self._warn_columns(plan, 0)
        self._warn_not_found(plan, names)
        width = len(names)
        source = self.source
        id_at = next((i for i, name in used if name == ID_FIELD), None)
        for line, cells in lines.records(width):
            if cells is None or isinstance(cells, str):
                # The cells before an unbalanced quote are still read as they were meant.
                before = getattr(cells, "cells_before", [])
                readable = before[id_at].strip() or None if id_at is not None and id_at < len(before) else None
                yield Record(source, line, None, ParseProblem(source, line, cells or "cannot be parsed", readable))
                continue
            if len(cells) != width:
                if not fits(cells, width):
                    reason = f"{len(cells)} cells where the header has {width}"
                    # A cell missing or extra may shift the cells after it: only a first-column id is sure.
                    readable = cells[0].strip() or None if id_at == 0 and cells else None
                    yield Record(source, line, None, ParseProblem(source, line, reason, readable))
                    continue
                cells = cells[:width]
            yield Record(source, line, {name: cells[i] for i, name in used if cells[i]})
        if lines.replaced_at:
            self._warn(f"bytes that are not UTF-8 were replaced (first at line {lines.replaced_at})")

    # -- JSON lines / JSON array

    def _check_keys(self, plan: ColumnPlan, record: dict, line: int, *, warn: bool = True) -> dict:
        """The record with only intake fields (renamed to their field names); raises for
        identifying keys that are not dropped."""
        seen_unknown = len(plan.unknown)
        out = plan_fields(plan, self.source, record, line)
        if warn and len(plan.unknown) > seen_unknown:
            self._warn_columns(plan, seen_unknown)
        return out

    def _object(self, plan: ColumnPlan, value: Any, line: int) -> Record:
        if isinstance(value, dict):
            return Record(self.source, line, self._check_keys(plan, value, line))
        return object_record(plan, self.source, value, line)

    def _read_jsonl(self, text: io.TextIOWrapper) -> Iterator[Record]:
        plan = self._plan()
        replaced_at = 0
        for number, line in enumerate(text, 1):
            if not line.strip():
                continue
            if not replaced_at and "\ufffd" in line:
                replaced_at = number
            unknown = len(plan.unknown)
            record = json_line_record(plan, self.source, number, line)
            if len(plan.unknown) > unknown:
                self._warn_columns(plan, unknown)
            yield record
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


class _Unreadable(str):
    """Why a CSV line cannot be read, with the cells before the problem (`cells_before`)."""

    cells_before: list[str]


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
                reason = _Unreadable("unbalanced quote (a quoted cell is not closed)")
                reason.cells_before = self._parse(line[:line.index('"')]) or [] if '"' in line else []
                reason.cells_before = reason.cells_before[:-1]  # the last one holds the quote
                yield number, reason


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
