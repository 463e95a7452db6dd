"""Writers: JSONL, CSV and Parquet results (written atomically: see storage.atomic)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Mapping

import orjson

from ...errors import SupplycheckError
from ...storage.atomic import AtomicFile, OutputError  # noqa: F401 (re-exported for the batch package and cli.common)
from .problems import OUTPUT_FORMATS, STDIN

CSV_COLUMNS = (
    "id", "status", "urgency", "supply_picture", "red_flags", "primary_factors",
    "secondary_factors", "factor_evidence", "perceived_signs", "referrals", "referral_reasons",
    "next_steps", "safety_net", "error_fields", "error_messages", "rulebase.name", "rulebase.version",
    "rulebase.hash",
)
SOURCE_COLUMNS = ("source.file", "source.line")  # with --with-source
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_json_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def json_line(result: Mapping[str, Any]) -> bytes:
    """One result as a compact JSON line in UTF-8 (orjson; the standard library for text
    orjson refuses: a lone surrogate read from a JSON escape is written as that escape)."""
    try:
        return orjson.dumps(result)
    except TypeError:
        return _json_dumps(result).encode("utf-8", "backslashreplace")


def result_json_schema(codes: Any = None) -> dict[str, Any]:
    """JSON Schema of one batch result (a line of JSONL output; a row of Parquet output has
    the same fields, null where this leaves one out). With the rule base's `codes`, the codes
    are listed as enums."""
    def text_list(values: Any = None) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "string", **({"enum": sorted(values)} if values else {})}}

    urgencies = ["emergency", "same_day", "within_2_days", "routine", "none"]
    pictures = ["likely_low_supply", "possible_low_supply", "possible_oversupply", "reassuring", "unclear"]
    targets = ["emergency_services", "baby_doctor", "lactation_consultant", "mothers_doctor", "peer_support"]
    strings = {"type": "string"}
    ref = {"type": "object", "required": ["name", "version", "hash"], "additionalProperties": False,
           "properties": {"name": strings, "version": strings, "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}}
    source = {"type": "object", "required": ["file", "line"], "additionalProperties": False,
              "description": "with --with-source: the input file and line (row for Parquet)",
              "properties": {"file": strings, "line": {"type": "integer", "minimum": 1}}}
    scored = {
        "type": "object", "additionalProperties": False,
        "required": ["id", "status", "urgency", "supply_picture", "red_flags", "factors", "perceived_signs",
                     "referrals", "next_steps", "rulebase", "safety_net"],
        "properties": {
            "id": {"type": ["string", "null"]},
            "status": {"const": "scored"},
            "urgency": {"enum": urgencies},
            "supply_picture": {"enum": pictures},
            "red_flags": text_list(codes and codes.red_flags),
            "factors": {"type": "array", "items": {
                "type": "object", "required": ["id", "category", "evidence"], "additionalProperties": False,
                "properties": {"id": {"type": "string", **({"enum": sorted(codes.factors)} if codes else {})},
                               "category": {"enum": ["primary", "secondary"]}, "evidence": text_list()}}},
            "perceived_signs": text_list(codes and codes.perceived_signs),
            "referrals": {"type": "array", "items": {
                "type": "object", "required": ["to", "urgency", "reasons"], "additionalProperties": False,
                "properties": {"to": {"enum": targets}, "urgency": {"enum": urgencies}, "reasons": text_list()}}},
            "next_steps": {"type": "array", "items": {
                "type": "object", "required": ["code", "text"], "additionalProperties": False,
                "properties": {"code": {"type": "string", **({"enum": sorted(codes.next_steps)} if codes else {})},
                               "text": strings}}},
            "rulebase": ref,
            "safety_net": {"type": "array", "description": "signs to call now or get same-day help for (contract 1.1)",
                           "items": {
                "type": "object", "required": ["code", "text"], "additionalProperties": False,
                "properties": {"code": {"type": "string", **({"enum": sorted(codes.safety_net)} if codes else {})},
                               "text": strings}}},
            "source": source,
        },
    }
    error = {
        "type": "object", "additionalProperties": False, "required": ["id", "status", "errors", "rulebase"],
        "properties": {
            "id": {"type": ["string", "null"]},
            "status": {"const": "error"},
            "errors": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["field", "message"], "additionalProperties": False,
                "properties": {"field": {"type": "string", "description": "an intake field, or `record` for a line that cannot be read"},
                               "message": strings}}},
            "rulebase": ref,
            "source": source,
        },
    }
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "supplycheck batch result",
            "description": "One line of `supplycheck batch` JSONL output", "oneOf": [scored, error]}


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
        "safety_net": ";".join(s["code"] for s in result.get("safety_net") or ()),
        "error_fields": ";".join(e["field"] for e in errors),
        "error_messages": " | ".join(e["message"] for e in errors),
        "rulebase.name": ref.get("name", ""),
        "rulebase.version": ref.get("version", ""),
        "rulebase.hash": ref.get("hash", ""),
        **({"source.file": result["source"]["file"], "source.line": str(result["source"]["line"])}
           if "source" in result else {}),
    }


def render(fmt: str, results: list[dict[str, Any]]) -> Any:
    """Results, encoded where they are scored (UTF-8 bytes go between processes and to the file
    as they are), as JSONL lines, CSV rows (without the header), FHIR NDJSON (a RiskAssessment, or
    an OperationOutcome for an error record; see channels.forms.fhir), or a Parquet RecordBatch."""
    if fmt == "parquet":
        from .arrow import results_batch
        return results_batch(results)
    if fmt == "jsonl":
        return b"".join([json_line(r) + b"\n" for r in results])
    if fmt == "fhir":
        from ..forms.fhir import risk_assessment
        return b"".join([json_line(risk_assessment(r)) + b"\n" for r in results])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows([neutralise(c) for c in flatten(r).values()] for r in results)
    return buf.getvalue().encode("utf-8", "backslashreplace")


def csv_header(with_source: bool = False) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(CSV_COLUMNS + (SOURCE_COLUMNS if with_source else ()))
    return buf.getvalue().encode()


class OutputFormatError(SupplycheckError):
    """An output name whose format is not known (a usage error, not a failed write)."""


def output_format(path: str | Path) -> str:
    if str(path) == STDIN:
        return "jsonl"
    fmt = OUTPUT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise OutputFormatError(f"{path}: unknown output format; use .jsonl, .csv or .parquet")
    return fmt
