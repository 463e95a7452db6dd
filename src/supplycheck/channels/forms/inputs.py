"""Batch input from form tools, recognised by content: FHIR QuestionnaireResponses (one resource,
a Bundle, or NDJSON), REDCap raw CSV exports and ODK/KoboToolbox CSV exports.

Each yields the batch reader's Records (contract intakes, or a ParseProblem for a line or entry
that cannot be read), so scoring, per-record errors and the privacy refusal are the batch
scorer's own. Identifying data is refused as for identifying columns: a response's `subject`,
`source` or `author`, a Patient-like resource, an item or column named like identifying data.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ...privacy import normalise_column
from ..batch.columns import ColumnPlan
from ..batch.problems import IdentifyingColumnsError, InputError, ParseProblem
from ..batch.readers import Record
from . import fhir, redcap, xlsform

if TYPE_CHECKING:
    from ..batch.readers import IntakeReader

# Resources about a person: a file holding one is refused, whatever else it holds.
PERSON_RESOURCES = {"Patient", "Person", "RelatedPerson", "Practitioner", "PractitionerRole"}
_CSV_KINDS = {"redcap": redcap, "odk": xlsform}


def form_export(reader: IntakeReader) -> FormExport | None:
    """A reader for `reader`'s file when it is a form tool's export, else None."""
    try:
        with open(reader.path, encoding="utf-8-sig", errors="replace", newline="") as f:
            if reader.format == "csv":
                header = next(csv.reader(f), None)
                columns = [h.strip() for h in header or ()]
                for kind, module in _CSV_KINDS.items():
                    if module.is_export(columns, reader.rulebase):
                        return FormExport(reader, kind)
                return None
            start = f.read(4096).lstrip()
    except OSError:
        return None
    if reader.format == "json" and start.startswith("{") and '"resourceType"' in start:
        return FormExport(reader, "fhir")
    if reader.format == "jsonl" and start.startswith("{"):
        try:
            first = json.loads(start.splitlines()[0])
        except ValueError:
            return None
        if isinstance(first, dict) and "resourceType" in first:
            return FormExport(reader, "fhir-ndjson")
    return None


class FormExport:
    """Records of one form-tool export; `check()` refuses identifying data before any scoring."""

    def __init__(self, reader: IntakeReader, kind: str):
        self.reader = reader
        self.kind = kind
        self.source = reader.source
        self.rulebase = reader.rulebase
        self.drop = {normalise_column(d) for d in reader.drop_columns}

    def _warn(self, message: str) -> None:
        text = f"{self.source}: {message}"
        self.reader.warnings.append(text)
        self.reader.on_warning(text)

    def _open(self):
        try:
            return open(self.reader.path, encoding="utf-8-sig", errors="replace", newline="")
        except OSError as exc:
            raise InputError(self.source, f"cannot read: {exc.strerror or exc}") from None

    def check(self) -> None:
        for record in self:
            if record.fields is not None:
                return

    def __iter__(self) -> Iterator[Record]:
        if self.kind in _CSV_KINDS:
            yield from self._csv(_CSV_KINDS[self.kind])
        else:
            yield from self._fhir()

    # -- CSV exports (REDCap, ODK/Kobo)

    def _csv(self, module: Any) -> Iterator[Record]:
        with self._open() as f:
            rows = csv.reader(f)
            header = [h.strip() for h in next(rows, [])]
            roles = module.column_roles(header, self.rulebase)
            fields = set(self.rulebase.questions) | {"id"}
            others = [c for c, (field, _) in roles.items() if field not in fields]
            plan = ColumnPlan.for_rulebase(self.rulebase, self.reader.drop_columns)
            refused = plan.resolve(others)
            if refused:
                raise IdentifyingColumnsError(self.source, refused)
            if plan.unknown:
                self._warn(f"unknown column{'s' * (len(plan.unknown) > 1)} "
                           f"{', '.join(repr(c) for c in plan.unknown)} ignored (not an intake field)")
            roles = {c: (plan.fields.get(c) or r[0], r[1]) for c, r in roles.items()}  # `Infant Age` too
            roles = {c: r for c, r in roles.items() if r[0] in fields}
            width = len(header)
            line = rows.line_num
            for cells in rows:
                start, line = line + 1, rows.line_num
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != width:
                    yield Record(self.source, start, None,
                                 ParseProblem(self.source, start, f"{len(cells)} cells where the header has {width}"))
                    continue
                yield Record(self.source, start, module.from_row(self.rulebase, dict(zip(header, cells)), roles))

    # -- FHIR QuestionnaireResponses

    def _fhir(self) -> Iterator[Record]:
        with self._open() as f:
            if self.kind == "fhir":
                try:
                    resource = json.load(f)
                except ValueError as exc:
                    raise InputError(self.source, f"not valid JSON ({exc})") from None
                yield from self._resources(resource, 1)
                return
            for number, text in enumerate(f, 1):
                if not text.strip():
                    continue
                try:
                    resource = json.loads(text)
                except ValueError:
                    yield Record(self.source, number, None, ParseProblem(self.source, number, "not valid JSON"))
                    continue
                yield from self._resources(resource, number)

    def _resources(self, resource: Any, line: int) -> Iterator[Record]:
        """The records of one resource: a QuestionnaireResponse, or a Bundle of them (entries
        are numbered from `line`, as line numbers are for NDJSON)."""
        kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
        if kind == "Bundle":
            entries = resource.get("entry") or []
            for i, entry in enumerate(entries):
                yield from self._resources(entry.get("resource") if isinstance(entry, Mapping) else None, line + i)
            return
        if kind in PERSON_RESOURCES and normalise_column(kind) not in self.drop:
            raise IdentifyingColumnsError(self.source, [(f"a {kind} resource", "identifying resource")], line)
        if kind != "QuestionnaireResponse":
            if kind in PERSON_RESOURCES:
                return
            what = f"a {kind} resource" if kind else "not a FHIR resource"
            yield Record(self.source, line, None, ParseProblem(self.source, line, f"{what}, not a QuestionnaireResponse"))
            return
        try:
            intake, unknown = fhir.from_response(self.rulebase, resource, drop=self.drop)
        except fhir.ResponseRefused as exc:
            raise IdentifyingColumnsError(self.source, exc.found, line) from None
        if unknown:
            self._warn(f"line {line}: unknown item{'s' * (len(unknown) > 1)} "
                       f"{', '.join(repr(u) for u in unknown)} ignored (not an intake field)")
        yield Record(self.source, line, intake)
