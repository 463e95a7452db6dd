"""Batch input from form tools, recognised by content: FHIR QuestionnaireResponses (one resource,
a Bundle, or NDJSON), REDCap raw CSV exports and ODK/KoboToolbox CSV exports.

The batch reader (channels.batch.readers.IntakeReader) hands such a file here: `read` yields its
Records (contract intakes, or a ParseProblem for a line or entry that cannot be read) and checks
every value read with the reader's ColumnPlan, so scoring, per-record errors and the privacy
refusals are the batch scorer's own. Identifying data is refused: a response's `subject` (or any
reference to a person or their record), a Patient-like resource, an item or column named like
identifying data, and an identifying value in any item or column (the id included), named by
field and record, never echoed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

from ...core.intake import ID_FIELD
from ...privacy import normalise_column
from ..batch.columns import ColumnPlan
from ..batch.problems import MAX_RECORD_CHARS, IdentifyingColumnsError, UnreadableInput, ParseProblem
from ..batch.readers import Record, CsvRecords, fits, json_array_items, text_lines, too_long
from . import fhir, redcap, xlsform

if TYPE_CHECKING:
    from ..batch.readers import IntakeReader

# Resources about a person: a file holding one is refused, whatever else it holds.
PERSON_RESOURCES = {"Patient", "Person", "RelatedPerson", "Practitioner", "PractitionerRole"}
_CSV_KINDS = {"redcap": redcap, "odk": xlsform}
_SNIFF = 1 << 13
def form_export(reader: IntakeReader) -> FormExport | None:
    """A reader for `reader`'s file when it is a form tool's export, else None. Never raises:
    a file that cannot be read is the batch reader's to report."""
    if reader.is_stdin:
        return None
    try:
        with open(reader.path, "rb") as f:
            start = f.read(_SNIFF).decode("utf-8-sig", errors="replace")
    except OSError:
        return None
    if reader.format == "csv":
        try:
            header = next(csv.reader(start.splitlines()[:1]), None)
        except csv.Error:
            return None
        columns = [h.strip() for h in header or ()]
        for kind, module in _CSV_KINDS.items():
            if module.is_export(columns, reader.rulebase):
                return FormExport(reader, kind)
        return None
    start = start.lstrip()
    if reader.format == "json" and '"resourceType"' in start and (
            start.startswith("{") or start.startswith("[") and start[1:].lstrip().startswith("{")):
        return FormExport(reader, "fhir-array" if start.startswith("[") else "fhir")
    if reader.format == "jsonl" and start.startswith("{"):
        try:
            first = json.loads(start.splitlines()[0])
        except (ValueError, IndexError, RecursionError):
            return None
        if isinstance(first, dict) and "resourceType" in first:
            return FormExport(reader, "fhir-ndjson")
    return None


class FormExport:
    """Records of one form-tool export, read with the batch reader's checks."""

    def __init__(self, reader: IntakeReader, kind: str):
        self.reader = reader
        self.kind = kind
        self.source = reader.source
        self.rulebase = reader.rulebase

    def _warn(self, message: str) -> None:
        self.reader._warn(message)

    def check(self, open_stream: Callable[..., Any], plan: ColumnPlan) -> None:
        """Refuse the file now for identifying columns or resources: read up to its first
        intake (values are checked as the run reads them)."""
        with open_stream(binary=self.reader.format == "json") as stream:
            for record in self.read(stream, plan, warn=False):
                if record.fields is not None:
                    return

    def read(self, stream: IO[Any], plan: ColumnPlan, *, warn: bool = True) -> Iterator[Record]:
        if self.kind in _CSV_KINDS:
            return self._csv(stream, plan, _CSV_KINDS[self.kind], warn)
        return self._fhir(stream, plan, warn)

    # -- CSV exports (REDCap, ODK/Kobo)

    def _columns(self, header: list[str], plan: ColumnPlan, module: Any, line: int) -> dict[str, tuple[str, str | None]]:
        """column -> (field, checkbox code or None) of the columns read; the tool's own system
        columns (times, status) are never read. Every column read is scanned for identifying
        values: the id strictly, a column that is not an intake field strictly (names too)."""
        roles = module.column_roles(header, self.rulebase)
        for column in [c for c in roles if c in plan.drop or normalise_column(c) in plan.drop]:
            del roles[column]  # --drop-columns: never read
            plan.dropped.append(column)
        fields = set(self.rulebase.questions) | {ID_FIELD}
        known = {c: r for c, r in roles.items() if r[0] in fields}
        for column, (field, _) in known.items():
            plan.fields[column] = field
            plan.scan[column] = (field == ID_FIELD, field in plan.numeric_fields and roles[column][1] is None)
        for column in header:
            if column not in roles:
                plan.fields[column] = None  # the tool's own column: never read
        refused = plan.resolve([c for c in roles if c not in known])
        if refused:
            raise IdentifyingColumnsError(self.source, refused, line)
        for column, field in plan.fields.items():  # `Infant Age` for `infant_age_days`, as plain batch reads it
            if column in roles and column not in known and field is not None:
                known[column] = (field, None)
        return known

    def _csv(self, text: IO[str], plan: ColumnPlan, module: Any, warn: bool) -> Iterator[Record]:
        records = CsvRecords(text, self.source)
        first = next(iter(records), None)
        if first is None:
            return
        number, header = first
        if isinstance(header, str):
            raise UnreadableInput(self.source, f"the header row (line {number}) cannot be read: {header}")
        header = [h.strip() for h in header]
        roles = self._columns(header, plan, module, number)
        if warn and plan.unknown:
            self.reader._warn_columns(plan, 0)
        width = len(header)
        scanned = [(i, c) for i, c in enumerate(header) if c in plan.scan]
        read = [(i, c) for i, c in enumerate(header) if c in roles]
        for line, cells in records.rows(width):
            if isinstance(cells, str):
                yield Record(self.source, line, None, ParseProblem(self.source, line, cells))
                continue
            if len(cells) != width:
                if not fits(cells, width):
                    yield Record(self.source, line, None,
                                 ParseProblem(self.source, line, f"{len(cells)} cells where the header has {width}"))
                    continue
                cells = cells[:width]
            for i, column in scanned:
                plan.check_value(column, cells[i], line)
            yield Record(self.source, line, module.from_row(self.rulebase, {c: cells[i] for i, c in read}, roles))

    # -- FHIR QuestionnaireResponses

    def _fhir(self, stream: IO[Any], plan: ColumnPlan, warn: bool) -> Iterator[Record]:
        if self.kind == "fhir-array":  # as a FHIR server's search results are often saved: streamed
            for number, resource, reason in json_array_items(stream, self.source):
                if reason is not None:
                    yield Record(self.source, number, None, ParseProblem(self.source, number, reason))
                else:
                    yield from self._resources(resource, number, plan, warn)
            return
        if self.kind == "fhir":
            try:
                resource = json.load(stream)
            except (ValueError, RecursionError) as exc:
                message = str(exc).splitlines()[0] if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
                raise UnreadableInput(self.source, f"not valid JSON ({message})") from None
            yield from self._resources(resource, 1, plan, warn)
            return
        for number, text in text_lines(stream):
            if text is None:
                yield Record(self.source, number, None, ParseProblem(self.source, number, too_long(MAX_RECORD_CHARS)))
                continue
            if not text.strip():
                continue
            try:
                resource = json.loads(text)
            except (ValueError, RecursionError):
                yield Record(self.source, number, None, ParseProblem(self.source, number, "not valid JSON"))
                continue
            yield from self._resources(resource, number, plan, warn)

    def _resources(self, resource: Any, line: int, plan: ColumnPlan, warn: bool) -> Iterator[Record]:
        """The records of one resource: a QuestionnaireResponse, or a Bundle of them (entries
        are numbered from `line`, as line numbers are for NDJSON)."""
        kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
        if kind == "Bundle":
            entries = resource.get("entry") or []
            for i, entry in enumerate(entries if isinstance(entries, list) else []):
                yield from self._resources(entry.get("resource") if isinstance(entry, Mapping) else None,
                                           line + i, plan, warn)
            return
        if kind in PERSON_RESOURCES:
            if normalise_column(kind) in plan.drop:
                return
            raise IdentifyingColumnsError(self.source, [(f"(a {kind} resource)", "about a person")], line)
        if kind != "QuestionnaireResponse":
            what = f"a {kind} resource" if isinstance(kind, str) else "not a FHIR resource"
            yield Record(self.source, line, None, ParseProblem(self.source, line, f"{what}, not a QuestionnaireResponse"))
            return
        try:
            intake, unknown = fhir.from_response(self.rulebase, resource, drop=plan.drop)
        except fhir.ResponseRefused as exc:
            raise IdentifyingColumnsError(self.source, exc.found, line) from None
        seen = len(plan.unknown)
        refused = plan.resolve([u for u in unknown if u not in plan.fields])
        if refused:
            raise IdentifyingColumnsError(self.source, refused, line)
        new = plan.unknown[seen:]
        if warn and new:
            self._warn(f"line {line}: unknown item{'s' * (len(new) > 1)} {', '.join(repr(u) for u in new)} "
                       "not used (each answer is checked for identifying data)")
        for link, value in fhir.answered_values(resource):
            if link not in plan.scan:
                plan.scan[link] = (link == ID_FIELD, link in plan.numeric_fields)
            plan.check_value(link, value, line)
        yield Record(self.source, line, intake)
