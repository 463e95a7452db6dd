"""XLSForm (ODK Collect, KoboToolbox, CommCare): the intake as an .xlsx with survey, choices and
settings sheets, and the CSV export of its submissions read back as contract intakes.

One group per section (so exports prefix columns with `section/` or `section-`), choice names are
the contract's values, `relevant` says when a question is shown, constraints carry the limits.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

from ...core.intake import ID_FIELD
from ...rulebase import RuleBase
from ...rulebase.models import NONE_OF_THESE, FieldType, Question
from . import skiplogic
from .common import choices, codes_of, number_text, parse_number

FORM_ID = "supplycheck_intake"
SURVEY_COLUMNS = ("type", "name", "label", "hint", "relevant", "constraint", "constraint_message", "choice_filter")
# The submission's own id in ODK Central and KoboToolbox exports: opaque, used as the intake id.
ID_COLUMNS = ("meta/instanceID", "meta-instanceID", "instanceID", "KEY", "_uuid")
# Columns the tools add that are never intake data (ids other than the one above, times, status).
SYSTEM_COLUMNS = re.compile(
    r"^(start|end|today|__version__|_id|_uuid|_index|_parent_index|_parent_table_name|_submission_time|"
    r"_validation_status|_status|_tags|_notes|_version|_xform_id|_xform_id_string|_attachments|_duration|"
    r"meta[/-]\w+|SubmissionDate|KEY|AttachmentsPresent|AttachmentsExpected|Status|ReviewState|Edits|FormVersion|"
    r"instanceID)$")
_SEPARATOR = re.compile(r"[/-]")


def _list_name(q: Question) -> str:
    return q.type.value if q.type in (FieldType.yes_no, FieldType.yes_no_unsure) else q.id


def _choice_filter(rulebase: RuleBase, q: Question) -> str:
    """Options offered only when their `shown_when` is not definitely false (as the terminal
    does), as an XLSForm choice_filter on the choice's `name`."""
    tests = []
    for o in q.options:
        shown = skiplogic.shown_when(rulebase, f"{q.id}:{o.value}")
        if shown is not None:
            tests.append(f"(name != '{o.value}' or {skiplogic.xlsform(rulebase, shown)})")
    return " and ".join(tests)


def sheets(rulebase: RuleBase) -> dict[str, list[list[Any]]]:
    """The three sheets as rows (the first row of each is its header)."""
    survey: list[list[Any]] = [list(SURVEY_COLUMNS)]
    lists: dict[str, list[tuple[str, str]]] = {}
    for s in rulebase.sections:
        survey.append(["begin_group", s.id, s.title.parent, "", "", "", "", ""])
        for q in s.questions:
            hint = " · ".join(p for p in (q.unit, q.help) if p)
            constraint = message = ""
            if q.is_numeric:
                kind = "integer" if q.type is FieldType.integer else "decimal"
                constraint = f". >= {number_text(q.min)} and . <= {number_text(q.max)}"
                message = f"{number_text(q.min)} to {number_text(q.max)}"
            else:
                multi = q.type is FieldType.multi
                kind = f"{'select_multiple' if multi else 'select_one'} {_list_name(q)}"
                lists.setdefault(_list_name(q), choices(q))
                if multi:
                    constraint = f"not(selected(., '{NONE_OF_THESE}') and count-selected(.) > 1)"
                    message = "'None of these' cannot be ticked with other answers"
            shown = skiplogic.shown_when(rulebase, q.id)
            relevant = skiplogic.xlsform(rulebase, shown) if shown is not None else ""
            survey.append([kind, q.id, q.parent, hint, relevant, constraint, message, _choice_filter(rulebase, q)])
        survey.append(["end_group", "", "", "", "", "", "", ""])
    choice_rows: list[list[Any]] = [["list_name", "name", "label"]]
    for name, items in lists.items():
        choice_rows += [[name, code, label] for code, label in items]
    settings = [["form_title", "form_id", "version"],
                [f"supplycheck intake ({rulebase.name} {rulebase.version})", FORM_ID, rulebase.version]]
    return {"survey": survey, "choices": choice_rows, "settings": settings}


def workbook_bytes(rulebase: RuleBase) -> bytes:
    """The XLSForm as .xlsx bytes."""
    try:
        from openpyxl import Workbook
    except ImportError:
        raise skiplogic.ExportError("writing an XLSForm needs openpyxl: pip install 'supplycheck[forms]'") from None

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets(rulebase).items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------- exports read back

def _field_of(column: str, rulebase: RuleBase) -> tuple[str, str | None] | None:
    """(field, code for a split select_multiple column, else None) of an export column whose
    path ends in a question (`baby/infant_age_days`, `worries-concerns/breasts_soft`)."""
    parts = _SEPARATOR.split(column)
    questions = rulebase.questions
    if len(parts) > 1 and parts[-1] in questions:
        return parts[-1], None
    if len(parts) > 1 and parts[-2] in questions and questions[parts[-2]].type is FieldType.multi:
        return parts[-2], parts[-1]
    return None


def is_export(columns: list[str], rulebase: RuleBase) -> bool:
    """Whether a CSV header is an ODK/Kobo export of the exported form: a column named by its
    group path, or the tools' submission id column."""
    return any(c in ID_COLUMNS or (_SEPARATOR.search(c) and _field_of(c, rulebase)) for c in columns)


def column_roles(columns: list[str], rulebase: RuleBase) -> dict[str, tuple[str, str | None]]:
    """column -> (field, split code or None) for the columns that carry intake data; the tools'
    own columns are left out, anything else keeps its name (the caller decides)."""
    roles: dict[str, tuple[str, str | None]] = {}
    whole = set()
    ident = next((c for c in ID_COLUMNS if c in columns), None)
    for c in columns:
        target = _field_of(c, rulebase) if _SEPARATOR.search(c) else None
        if c == ident:
            roles[c] = (ID_FIELD, None)
        elif target is not None:
            roles[c] = target
            if target[1] is None:
                whole.add(target[0])
        elif c in rulebase.questions or not SYSTEM_COLUMNS.match(c):
            roles[c] = (c, None)
    # A select_multiple exported both ways: read the space-separated column only.
    return {c: r for c, r in roles.items() if r[1] is None or r[0] not in whole}


def from_row(rulebase: RuleBase, row: Mapping[str, str],
             roles: Mapping[str, tuple[str, str | None]] | None = None) -> dict[str, Any]:
    """One export row as a contract intake: `select_multiple` cells split on spaces (or built
    from split 1/0 columns), numbers as numbers, blanks (non-relevant questions) not known."""
    roles = roles if roles is not None else column_roles(list(row), rulebase)
    intake: dict[str, Any] = {}
    split: dict[str, list[str]] = {}
    for column, (field, code) in roles.items():
        cell = (row.get(column) or "").strip()
        if code is not None:
            if cell.lower() in ("1", "true"):
                split.setdefault(field, []).append(code)
            continue
        if not cell:
            continue
        q = rulebase.questions.get(field)
        if q is not None and q.type is FieldType.multi:
            intake[field] = cell.split()
        elif q is not None and q.is_numeric:
            intake[field] = parse_number(cell)
        else:
            intake[field] = cell
    for field, codes in split.items():
        intake.setdefault(field, codes)
    return intake


def to_row(rulebase: RuleBase, intake: Mapping[str, Any]) -> dict[str, str]:
    """A contract intake as an ODK Central CSV export row (groups joined with `-`)."""
    row = {}
    for s in rulebase.sections:
        for q in s.questions:
            value = intake.get(q.id)
            if value is None:
                text = ""
            elif q.type is FieldType.multi:
                text = " ".join(codes_of(value))
            else:
                text = number_text(value) if q.is_numeric else str(value)
            row[f"{s.id}-{q.id}"] = text
    row["meta-instanceID"] = "" if intake.get(ID_FIELD) is None else str(intake[ID_FIELD])
    return row
