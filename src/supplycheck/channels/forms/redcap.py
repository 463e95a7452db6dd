"""REDCap: the intake as a data dictionary (one instrument), and REDCap's raw CSV export rows
read back as contract intakes (and written, for tests and round trips).

Codes are the contract's values (REDCap allows letters, digits and `_` in choice codes), so a raw
export needs no mapping: radio fields hold the code, a checkbox field is one `field___code`
column per code holding 1 or 0. `record_id` is the opaque intake id.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from typing import Any

from ...core.intake import ID_FIELD
from ...rulebase import RuleBase
from ...rulebase.models import NONE_OF_THESE, FieldType, Question
from . import skiplogic
from .common import choices, codes_of, number_text, parse_number

FORM = "supplycheck_intake"
RECORD_ID = "record_id"
# The exact header of a REDCap data dictionary CSV.
DICTIONARY_COLUMNS = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
)
# Columns REDCap adds to an export on its own; never intake data. (Not `redcap_survey_identifier`:
# it may hold a name or an e-mail address, so it is read as an unknown column and checked.)
SYSTEM_COLUMNS = re.compile(r"^(redcap_event_name|redcap_repeat_instrument|redcap_repeat_instance|"
                            r"redcap_data_access_group|\w+_timestamp|\w+_complete)$")
CHECKBOX_COLUMN = re.compile(r"^(?P<field>[a-z][a-z0-9_]*?)___(?P<code>[a-z0-9_]+)$")


def _num(x: float | None) -> str:
    return "" if x is None else number_text(x)


def _row(q: Question, rulebase: RuleBase, section_header: str) -> dict[str, str]:
    row = dict.fromkeys(DICTIONARY_COLUMNS, "")
    row.update({"Variable / Field Name": q.id, "Form Name": FORM, "Section Header": section_header,
                "Field Label": q.parent})
    note = [q.unit] if q.unit else []
    if q.help:
        note.append(q.help)
    row["Field Note"] = " · ".join(note)
    if q.is_numeric:
        row["Field Type"] = "text"
        row["Text Validation Type OR Show Slider Number"] = "integer" if q.type is FieldType.integer else "number"
        row["Text Validation Min"], row["Text Validation Max"] = _num(q.min), _num(q.max)
    else:
        multi = q.type is FieldType.multi
        row["Field Type"] = "checkbox" if multi else "radio"
        row["Choices, Calculations, OR Slider Labels"] = " | ".join(
            f"{code}, {label.replace('|', '/')}" for code, label in choices(q))
        if multi:
            row["Field Annotation"] = f"@NONEOFTHEABOVE='{NONE_OF_THESE}'"
    shown = skiplogic.shown_when(rulebase, q.id)
    if shown is not None:
        row["Branching Logic (Show field only if...)"] = skiplogic.redcap(rulebase, shown)
    return row


def data_dictionary(rulebase: RuleBase) -> str:
    """The REDCap data dictionary CSV: `record_id`, then every question, one section header per
    section, on one instrument."""
    rows = [{**dict.fromkeys(DICTIONARY_COLUMNS, ""), "Variable / Field Name": RECORD_ID, "Form Name": FORM,
             "Field Type": "text", "Field Label": "Intake id (opaque: never a name or record number)"}]
    for s in rulebase.sections:
        for i, q in enumerate(s.questions):
            rows.append(_row(q, rulebase, s.title.parent if i == 0 else ""))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, DICTIONARY_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def export_columns(rulebase: RuleBase) -> list[str]:
    """The columns of a raw export of this project, as REDCap writes them."""
    cols = [RECORD_ID]
    for q in rulebase.questions.values():
        if q.type is FieldType.multi:
            cols += [f"{q.id}___{code}" for code, _ in choices(q)]
        else:
            cols.append(q.id)
    return [*cols, f"{FORM}_complete"]


def to_row(rulebase: RuleBase, intake: Mapping[str, Any]) -> dict[str, str]:
    """A contract intake as one row of a raw REDCap export."""
    row = {RECORD_ID: "" if intake.get(ID_FIELD) is None else str(intake[ID_FIELD])}
    for q in rulebase.questions.values():
        value = intake.get(q.id)
        if q.type is FieldType.multi:
            ticked = set(codes_of(value))
            blank = not ticked
            for code, _ in choices(q):
                row[f"{q.id}___{code}"] = "0" if blank or code not in ticked else "1"
        else:
            row[q.id] = "" if value is None else number_text(value) if q.is_numeric else str(value)
    row[f"{FORM}_complete"] = "2"
    return row


def is_export(columns: list[str], rulebase: RuleBase) -> bool:
    """Whether a CSV header is a REDCap raw export: `record_id`, REDCap's own columns, or a
    checkbox column of a many-answer question."""
    multi = {q.id for q in rulebase.questions.values() if q.type is FieldType.multi}
    for c in columns:
        m = CHECKBOX_COLUMN.match(c)
        if c == RECORD_ID or c.startswith("redcap_") or (m and m["field"] in multi):
            return True
    return False


def column_roles(columns: list[str], rulebase: RuleBase) -> dict[str, tuple[str, str | None]]:
    """column -> (field, checkbox code or None) for the columns that carry intake data;
    REDCap's own columns are left out, anything else keeps its name (the caller decides)."""
    multi = {q.id for q in rulebase.questions.values() if q.type is FieldType.multi}
    roles: dict[str, tuple[str, str | None]] = {}
    for c in columns:
        m = CHECKBOX_COLUMN.match(c)
        if c == RECORD_ID:
            roles[c] = (ID_FIELD, None)
        elif m and m["field"] in multi:
            roles[c] = (m["field"], m["code"])
        elif c in rulebase.questions or not SYSTEM_COLUMNS.match(c):
            roles[c] = (c, None)
    return roles


def from_row(rulebase: RuleBase, row: Mapping[str, str],
             roles: Mapping[str, tuple[str, str | None]] | None = None) -> dict[str, Any]:
    """One raw export row as a contract intake: checkbox columns to a list (all unticked is
    not known; `none` ticked is the known-empty list), numbers as numbers."""
    roles = roles if roles is not None else column_roles(list(row), rulebase)
    intake: dict[str, Any] = {}
    ticked: dict[str, list[str]] = {}
    for column, (field, code) in roles.items():
        cell = (row.get(column) or "").strip()
        if code is not None:
            if cell not in ("", "0"):
                ticked.setdefault(field, []).append(code if cell == "1" else f"{code}={cell}")
            continue
        if not cell:
            continue
        q = rulebase.questions.get(field)
        intake[field] = parse_number(cell) if q is not None and q.is_numeric else cell
    for field, codes in ticked.items():
        intake[field] = codes
    return intake
