"""FHIR R4: the intake as an SDC Questionnaire with its CodeSystems, answers as a
QuestionnaireResponse (both ways), and results as RiskAssessment resources.

Everything is generated from the loaded rule base: `linkId` is the contract's field name, answer
codes are the contract's values, and `Questionnaire.version` is the rule base's version.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ...core.intake import ID_FIELD
from ...privacy import identifying_kind, normalise_column
from ...rulebase import RuleBase
from ...rulebase.models import NONE_OF_THESE, FieldType, Question
from . import skiplogic
from .common import answer_label, choices, codes_of

ANSWERS_SYSTEM = "urn:supplycheck:fhir:CodeSystem:answers"
FINDINGS_SYSTEM = "urn:supplycheck:fhir:CodeSystem:findings"
RULEBASE_SYSTEM = "urn:supplycheck:fhir:rulebase"
INTAKE_ID_SYSTEM = "urn:supplycheck:fhir:intake-id"
QUESTIONNAIRE_URL = "urn:supplycheck:fhir:Questionnaire:intake"
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
EXT = "http://hl7.org/fhir/StructureDefinition/"
ITEM_CONTROL = "http://hl7.org/fhir/questionnaire-item-control"

# Only codes we are sure of. LOINC's own names as display.
LOINC_CODES = {
    "birth_weight_g": ("8339-4", "Birth weight Measured"),
    "current_weight_g": ("29463-7", "Body weight"),
    "gestational_age_weeks": ("76516-4", "Gestational age at birth"),
    "previous_weight_g": ("29463-7", "Body weight"),  # an earlier weighing: still a body weight
    "baby_temperature_c": ("8310-5", "Body temperature"),
}
# The rule base's unit words, in UCUM.
UCUM_UNITS = {
    "g": "g", "kg": "kg", "days": "d", "weeks": "wk", "hours": "h", "per day": "/d",
    "per week": "/wk", "°C": "Cel", "C": "Cel", "mL": "mL", "ml": "mL", "mL per day": "mL/d",
    "ml per day": "mL/d",
}


# ---------------------------------------------------------------------------- Questionnaire

def _coding(code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": ANSWERS_SYSTEM, "code": code}
    if display:
        out["display"] = display
    return out


def _control(code: str) -> dict[str, Any]:
    return {"url": EXT + "questionnaire-itemControl",
            "valueCodeableConcept": {"coding": [{"system": ITEM_CONTROL, "code": code}]}}


def _item(rulebase: RuleBase, q: Question) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": q.id, "text": q.parent}
    if q.id in LOINC_CODES:
        code, display = LOINC_CODES[q.id]
        item["code"] = [{"system": LOINC, "code": code, "display": display}]
    ext: list[dict[str, Any]] = []
    if q.is_numeric:
        integer = q.type is FieldType.integer
        item["type"] = "integer" if integer else "decimal"
        kind = "valueInteger" if integer else "valueDecimal"
        cast = int if integer else float
        ext += [{"url": EXT + "minValue", kind: cast(q.min)}, {"url": EXT + "maxValue", kind: cast(q.max)}]
        if q.unit:
            unit = {"display": q.unit}
            if q.unit in UCUM_UNITS:
                unit = {"system": UCUM, "code": UCUM_UNITS[q.unit], "display": q.unit}
            ext.append({"url": EXT + "questionnaire-unit", "valueCoding": unit})
    else:
        item["type"] = "choice"
        multi = q.type is FieldType.multi
        if multi:
            item["repeats"] = True
        ext.append(_control("check-box" if multi else "radio-button"))
        item["answerOption"] = []
        for code, label in choices(q):
            option: dict[str, Any] = {"valueCoding": _coding(code, label)}
            if multi and code == NONE_OF_THESE:
                option["extension"] = [{"url": EXT + "questionnaire-optionExclusive", "valueBoolean": True}]
            item["answerOption"].append(option)
    shown = skiplogic.shown_when(rulebase, q.id)
    if shown is not None:
        simple = skiplogic.enable_when(rulebase, shown, ANSWERS_SYSTEM)
        if simple is not None:
            item["enableWhen"] = simple
            if len(simple) > 1:
                item["enableBehavior"] = "any"
        else:
            ext.append({"url": SDC + "sdc-questionnaire-enableWhenExpression",
                        "valueExpression": {"language": "text/fhirpath",
                                            "expression": skiplogic.fhirpath(rulebase, shown)}})
    if ext:
        item["extension"] = ext
    if q.help:  # shown behind a help button (SDC itemControl "help")
        item["item"] = [{"linkId": f"{q.id}.help", "type": "display", "text": q.help, "extension": [_control("help")]}]
    return item


def questionnaire(rulebase: RuleBase) -> dict[str, Any]:
    """The intake as an SDC Questionnaire: one group per section, one item per question."""
    return {
        "resourceType": "Questionnaire",
        "id": "supplycheck-intake",
        "meta": {"profile": [SDC + "sdc-questionnaire"]},
        "url": QUESTIONNAIRE_URL,
        "version": rulebase.version,
        "name": "SupplycheckIntake",
        "title": "supplycheck intake: suspected low breast-milk supply",
        "status": "active",
        "description": (f"Generated from the {rulebase.name} {rulebase.version} rule base. Every "
                        "question may be left blank: blank and 'not sure' count as not known, and "
                        "an unknown answer never hides a question."),
        "item": [{"linkId": s.id, "text": s.title.parent, "type": "group",
                  "item": [_item(rulebase, q) for q in s.questions]}
                 for s in rulebase.sections],
    }


def code_systems(rulebase: RuleBase) -> dict[str, Any]:
    """The CodeSystems the Questionnaire and the RiskAssessments use, as a collection Bundle:
    answer codes (the contract's values) and finding codes (the rule base's codes)."""
    labels: dict[str, set[str]] = {}
    for q in rulebase.questions.values():
        for code, label in choices(q, audience="clinical"):
            labels.setdefault(code, set()).add(label)
    answers = [{"code": code, "display": next(iter(ls)) if len(ls) == 1 else code.replace("_", " ").capitalize()}
               for code, ls in labels.items()]
    c = rulebase.codes
    findings: list[dict[str, Any]] = [{"code": "screening", "display": "Screening for suspected low breast-milk supply"}]
    for table in (c.urgencies, c.supply_pictures, c.referral_targets, c.red_flags, c.factors, c.perceived_signs,
                  c.next_steps, c.safety_net):
        for code, entry in table.items():
            code = getattr(code, "value", code)
            if all(f["code"] != code for f in findings):
                findings.append({"code": code, "display": entry.clinical})
    version = rulebase.version

    def system(url: str, ident: str, name: str, title: str, concepts: list[dict[str, Any]]) -> dict[str, Any]:
        return {"resourceType": "CodeSystem", "id": ident, "url": url, "version": version, "name": name,
                "title": title, "status": "active", "content": "complete", "caseSensitive": True,
                "count": len(concepts), "concept": concepts}

    return {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": ANSWERS_SYSTEM, "resource": system(ANSWERS_SYSTEM, "supplycheck-answers", "SupplycheckAnswers",
                                                       "supplycheck answer codes", answers)},
        {"fullUrl": FINDINGS_SYSTEM, "resource": system(FINDINGS_SYSTEM, "supplycheck-findings", "SupplycheckFindings",
                                                        "supplycheck finding codes", findings)},
    ]}


# ---------------------------------------------------------------------------- QuestionnaireResponse

def _answers(q: Question, value: Any) -> list[dict[str, Any]]:
    if q.type is FieldType.integer:
        return [{"valueInteger": value}]
    if q.type is FieldType.number:
        return [{"valueDecimal": value}]
    codes = codes_of(value) if q.type is FieldType.multi else [value]
    return [{"valueCoding": _coding(c, answer_label(q, c))} for c in codes or [NONE_OF_THESE]]


def to_response(rulebase: RuleBase, intake: Mapping[str, Any]) -> dict[str, Any]:
    """A contract intake (as `parse_intake` reads it, or as a batch file holds it) as a
    completed QuestionnaireResponse. The `id` goes into `identifier`, nothing else about anyone."""
    groups = []
    for s in rulebase.sections:
        items = [{"linkId": q.id, "text": q.parent, "answer": _answers(q, intake[q.id])}
                 for q in s.questions if intake.get(q.id) not in (None, "")]
        if items:
            groups.append({"linkId": s.id, "text": s.title.parent, "item": items})
    qr: dict[str, Any] = {"resourceType": "QuestionnaireResponse",
                          "questionnaire": f"{QUESTIONNAIRE_URL}|{rulebase.version}", "status": "completed"}
    if intake.get(ID_FIELD) not in (None, ""):
        qr["identifier"] = {"system": INTAKE_ID_SYSTEM, "value": str(intake[ID_FIELD])}
    qr["item"] = groups
    return qr


class ResponseRefused(ValueError):
    """A response that carries identifying data: (what, kind) pairs, never the values."""

    def __init__(self, found: list[tuple[str, str]]):
        super().__init__(", ".join(f"{what!r} ({kind})" for what, kind in found))
        self.found = found


def _walk(items: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for item in items or ():
        if isinstance(item, Mapping):
            yield item
            yield from _walk(item.get("item") or ())
            for answer in item.get("answer") or ():
                if isinstance(answer, Mapping):
                    yield from _walk(answer.get("item") or ())


def _value(q: Question | None, answer: Mapping[str, Any]) -> Any:
    for key, value in answer.items():
        if not key.startswith("value"):
            continue
        if key == "valueCoding" and isinstance(value, Mapping):
            return value.get("code")
        if key == "valueBoolean" and q is not None and isinstance(value, bool) and "yes" in q.values:
            return "yes" if value else "no"
        return value
    return None


def from_response(rulebase: RuleBase, qr: Mapping[str, Any], *,
                  drop: Iterable[str] = ()) -> tuple[dict[str, Any], list[str]]:
    """(the contract intake, unknown linkIds) of one QuestionnaireResponse. Values are taken as
    they are (a code, a number); checking them is `parse_intake`'s job, so a bad one becomes a
    per-record error naming the field. Raises ResponseRefused when the response identifies anyone:
    a `subject`, `source`, `author` or `encounter`, a contained resource, or an item whose linkId
    reads as identifying; `drop` names (as normalised column names) what to leave out instead.
    Identifying values are the caller's to check (`answered_values`)."""
    dropped = set(drop)
    found = [(key, "a reference to a person") for key in ("subject", "source", "author") if qr.get(key)]
    found += [("encounter", "a reference to a person's visit")] if qr.get("encounter") else []
    found += [(f"contained {r.get('resourceType', 'resource')}", "a contained resource")
              for r in qr.get("contained") or () if isinstance(r, Mapping)]
    questions = rulebase.questions
    sections = {s.id for s in rulebase.sections}
    intake: dict[str, Any] = {}
    unknown: list[str] = []
    for item in _walk(qr.get("item") or ()):
        link = str(item.get("linkId", ""))
        q = questions.get(link)
        if q is None:
            if link in sections:
                continue
            kind = identifying_kind(link) or (identifying_kind(str(item.get("text", ""))) if item.get("answer") else None)
            if normalise_column(link) in dropped:
                continue
            if kind:
                found.append((link, kind))
            elif link not in unknown:
                unknown.append(link)
            continue
        values = [v for v in (_value(q, a) for a in item.get("answer") or () if isinstance(a, Mapping)) if v is not None]
        if not values:
            continue
        intake[link] = values if q.type is FieldType.multi else (values[0] if len(values) == 1 else values)
    found = [(what, kind) for what, kind in found if normalise_column(what) not in dropped]
    if found:
        raise ResponseRefused(found)
    ident = qr.get("identifier")
    idents = ident if isinstance(ident, list) else [ident] if isinstance(ident, Mapping) else []
    ours = [i.get("value") for i in idents if isinstance(i, Mapping) and i.get("system") == INTAKE_ID_SYSTEM]
    if ours:
        intake = {ID_FIELD: ours[0], **intake}
    elif isinstance(qr.get("id"), str):
        intake = {ID_FIELD: qr["id"], **intake}
    return intake, unknown


def answered_values(qr: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(linkId, value) of every answer in a response, and (`id`, value) of its identifiers and
    id: what the privacy check reads. A coding gives its code and its display."""
    ident = qr.get("identifier")
    for i in ident if isinstance(ident, list) else [ident]:
        if isinstance(i, Mapping) and i.get("value") is not None:
            yield ID_FIELD, i["value"]
    if qr.get("id") is not None:
        yield ID_FIELD, qr["id"]
    for item in _walk(qr.get("item") or ()):
        link = str(item.get("linkId", ""))
        for answer in item.get("answer") or ():
            if not isinstance(answer, Mapping):
                continue
            for key, value in answer.items():
                if not key.startswith("value"):
                    continue
                if isinstance(value, Mapping):
                    yield from ((link, v) for k, v in value.items() if k in ("code", "display", "value", "reference"))
                else:
                    yield link, value


# ---------------------------------------------------------------------------- results

def _finding(code: str, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [{"system": FINDINGS_SYSTEM, "code": code}]}
    if text:
        out["text"] = text
    return out


def risk_assessment(result: Mapping[str, Any]) -> dict[str, Any]:
    """One contract result as a RiskAssessment (or, for an error record, an OperationOutcome).

    What a clinician reads first comes first, as in the result: each red flag of the baby (high
    risk), then the urgency (how soon to be seen), then the supply picture, coded in the findings
    CodeSystem. The referrals and next steps are the mitigation; the safety net (when to call
    emergency services or get help the same day) is the first note, factors the next; `method`
    names the rule base and its version."""
    ref = result.get("rulebase") or {}
    if result.get("status") != "scored":
        return {"resourceType": "OperationOutcome", "issue": [
            {"severity": "error", "code": "invalid", "diagnostics": e["message"],
             **({"expression": [e["field"]]} if e.get("field") not in (None, "record") else {})}
            for e in result.get("errors") or [{"message": "not scored"}]]}
    ident = result.get("id")
    subject = ({"identifier": {"system": INTAKE_ID_SYSTEM, "value": str(ident)}} if ident
               else {"display": "anonymised intake"})
    high = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/risk-probability", "code": "high"}]}
    predictions = [{"outcome": _finding(flag), "qualitativeRisk": high, "rationale": "red flag of the baby"}
                   for flag in result.get("red_flags") or ()]
    predictions += [{"outcome": _finding(result["urgency"]), "rationale": "urgency: how soon to be seen"},
                    {"outcome": _finding(result["supply_picture"]), "rationale": "supply picture"}]
    referrals = "; ".join(f"{r['to']} ({r['urgency']}): {', '.join(r['reasons'])}" for r in result.get("referrals") or ())
    steps = " ".join(s["text"] for s in result.get("next_steps") or ())
    out: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "status": "final",
        "method": {"coding": [{"system": RULEBASE_SYSTEM, "code": ref.get("name", ""), "version": ref.get("version", "")}],
                   "text": f"{ref.get('name', '')} {ref.get('version', '')}".strip()},
        "code": _finding("screening", "Screening for suspected low breast-milk supply"),
        "subject": subject,
        "prediction": predictions,
    }
    if ident:
        out["identifier"] = [{"system": INTAKE_ID_SYSTEM, "value": str(ident)}]
    mitigation = " ".join(p for p in (f"Referrals: {referrals}." if referrals else "",
                                      f"Next steps: {steps}" if steps else "") if p)
    if mitigation:
        out["mitigation"] = mitigation
    notes = []
    safety_net = result.get("safety_net") or []
    if safety_net:
        notes.append({"text": "Safety net (call emergency services or get help the same day): "
                              + " ".join(f"[{s['code']}] {s['text']}" for s in safety_net)})
    factors = result.get("factors") or []
    if factors:
        notes.append({"text": "Factors: " + "; ".join(
            f"{f['id']} ({f['category']}; {', '.join(f['evidence'])})" for f in factors)})
    if notes:
        out["note"] = notes
    return out
