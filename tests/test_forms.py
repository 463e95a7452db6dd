"""Form exports (FHIR SDC Questionnaire, REDCap data dictionary, XLSForm) checked with the tools'
own validators, their skip logic compared with the terminal interview's, and answers round-tripped
through each tool's data format. The browser test is tests/test_forms_browser.py."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplycheck import load_rulebase
from supplycheck.channels.forms import fhir, redcap, skiplogic, xlsform
from supplycheck.core import interview
from supplycheck.rulebase import conditions as C
from supplycheck.rulebase.models import NONE_OF_THESE, UNSURE, FieldType

fhirpathpy = pytest.importorskip("fhirpathpy", reason="pip install '.[forms]'")
R4B = pytest.importorskip("fhir.resources.R4B.questionnaire", reason="pip install '.[forms]'")
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.riskassessment import RiskAssessment
from fhirpathpy.models import models

R4_MODEL = models["r4"]  # choice types (answer[x]) resolve only with the model

RB = load_rulebase()
QUESTIONS = RB.questions
QUESTIONNAIRE = fhir.questionnaire(RB)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# The Questionnaire item invariants of FHIR R4/R4B, as the specification states them.
ITEM_INVARIANTS = {
    "que-1": "(type='group' implies item.empty().not()) and (type.trace('type')='display' implies item.trace('item').empty())",
    "que-3": "type!='display' or code.empty()",
    "que-4": "answerOption.empty() or answerValueSet.empty()",
    "que-5": "(type ='choice' or type = 'open-choice' or type = 'decimal' or type = 'integer' or type = 'date' "
             "or type = 'dateTime' or type = 'time' or type = 'string' or type = 'quantity') "
             "or (answerValueSet.empty() and answerOption.empty())",
    "que-6": "type!='display' or (required.empty() and repeats.empty())",
    "que-8": "(type!='group' and type!='display') or initial.empty()",
    "que-9": "type!='display' or readOnly.empty()",
    "que-10": "(type in ('boolean' | 'decimal' | 'integer' | 'string' | 'text' | 'url' | 'open-choice')) or maxLength.empty()",
    "que-11": "answerOption.empty() or initial.empty()",
    "que-12": "enableWhen.count() > 1 implies enableBehavior.exists()",
    "que-13": "repeats=true or initial.count() <= 1",
}
RESOURCE_INVARIANTS = {
    "que-0": "name.matches('[A-Z]([A-Za-z0-9_]){0,254}')",
    "que-2": "descendants().linkId.isDistinct()",
    "que-7": "Questionnaire.repeat(item).enableWhen.all(operator = 'exists' implies (answer is boolean))",
}


# ---------------------------------------------------------------------------- strategies

def _thresholds() -> dict[str, list[float]]:
    """Numbers the skip logic compares each field with: the boundaries worth trying."""
    out: dict[str, list[float]] = {}
    for cond in RB.ask_when.values():
        for leaf in C.leaves(cond, RB.definitions):
            if leaf.field in QUESTIONS and QUESTIONS[leaf.field].is_numeric and leaf.op in C.NUMERIC_OPS + ("eq", "ne"):
                out.setdefault(leaf.field, []).extend(v for v in (leaf.value - 1, leaf.value, leaf.value + 1))
    return out


THRESHOLDS = _thresholds()


def value_of(q) -> st.SearchStrategy[Any]:
    """A valid contract value of one question, as a batch file would hold it."""
    if q.is_numeric:
        lo, hi = int(q.min), int(q.max)
        near = [v for v in THRESHOLDS.get(q.id, []) if lo <= v <= hi]
        ints = st.integers(lo, hi) | (st.sampled_from(near) if near else st.nothing())
        if q.type is FieldType.integer:
            return ints.map(int)
        return ints | st.floats(q.min, q.max, allow_nan=False).map(lambda x: round(x, 1))
    if q.type is FieldType.multi:
        codes = q.values
        subsets = st.sets(st.sampled_from(codes), min_size=1).map(lambda s: [c for c in codes if c in s])
        return subsets | st.just([NONE_OF_THESE])
    return st.sampled_from(q.values)


@st.composite
def intakes(draw, with_id: bool = True) -> dict[str, Any]:
    """A valid contract intake: any subset of the questions answered."""
    out: dict[str, Any] = {}
    if with_id and draw(st.booleans()):
        out["id"] = draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,11}", fullmatch=True))
    for q in QUESTIONS.values():
        if draw(st.booleans()):
            out[q.id] = draw(value_of(q))
    if "weight_age_days" in out and "infant_age_days" in out and out["weight_age_days"] > out["infant_age_days"]:
        out["weight_age_days"] = out["infant_age_days"]
    return out


@st.composite
def interviews(draw) -> dict[str, Any]:
    """Answers as the terminal collects them: each question asked in order, if the answers so
    far ask it, and answered, answered 'not sure' (unsure, or nothing) or skipped."""
    answers: dict[str, Any] = {}
    for q in QUESTIONS.values():
        if not interview.is_asked(RB, q, interview.facts(RB, answers)):
            continue
        how = draw(st.sampled_from(["answer", "answer", "unsure", "skip"]))
        if how == "answer":
            answers[q.id] = draw(value_of(q))
        elif how == "unsure" and UNSURE in q.values:
            answers[q.id] = UNSURE
    return answers


def asked(answers: dict[str, Any]) -> set[str]:
    return {q.id for q in interview.questions_to_ask(RB, answers)}


# ---------------------------------------------------------------------------- FHIR

def _items(q: dict) -> list[dict]:
    out = []
    for item in q.get("item", []):
        out.append(item)
        out.extend(_items(item))
    return out


def test_questionnaire_validates_and_meets_every_invariant():
    q = fhir.questionnaire(RB)
    R4B.Questionnaire.model_validate(q)
    assert q["version"] == RB.version
    for key, expr in RESOURCE_INVARIANTS.items():
        assert fhirpathpy.evaluate(q, expr, model=R4_MODEL) == [True], key
    items = _items(q)
    for item in items:
        for key, expr in ITEM_INVARIANTS.items():
            assert fhirpathpy.evaluate(item, expr, model=R4_MODEL) in ([True], []), (key, item["linkId"])
    questions = [i for i in items if i["type"] not in ("group", "display")]
    assert {i["linkId"] for i in items if i["type"] == "display"} == {f"{q.id}.help" for q in QUESTIONS.values() if q.help}
    assert [i["linkId"] for i in questions] == list(QUESTIONS)


def test_questionnaire_items_carry_the_rule_base():
    by_id = {i["linkId"]: i for i in _items(fhir.questionnaire(RB))}
    assert by_id["birth_weight_g"]["code"][0]["code"] == "8339-4"
    assert by_id["current_weight_g"]["code"][0]["code"] == "29463-7"
    assert by_id["gestational_age_weeks"]["code"][0]["code"] == "76516-4"
    assert by_id["previous_weight_g"]["code"][0]["code"] == "29463-7"
    assert by_id["baby_temperature_c"]["code"][0]["code"] == "8310-5"
    temperature = next(e for e in by_id["baby_temperature_c"]["extension"] if e["url"].endswith("questionnaire-unit"))
    assert temperature["valueCoding"]["code"] == "Cel"
    assert [i["linkId"] for i in _items(fhir.questionnaire(RB)) if i["type"] != "group" and "." not in i["linkId"]][0] \
        == "emergency_signs_now"  # the emergency first step opens the form, as in the terminal
    age = {e["url"].rsplit("/", 1)[1]: e for e in by_id["infant_age_days"]["extension"]}
    assert age["minValue"]["valueInteger"] == 0 and age["maxValue"]["valueInteger"] == 1095
    assert age["questionnaire-unit"]["valueCoding"] == {"system": fhir.UCUM, "code": "d", "display": "days"}
    for q in QUESTIONS.values():
        item = by_id[q.id]
        if q.is_numeric and q.unit:
            unit = next(e for e in item["extension"] if e["url"].endswith("questionnaire-unit"))
            assert unit["valueCoding"].get("system") == fhir.UCUM, q.id
        if not q.is_numeric:
            codes = [o["valueCoding"]["code"] for o in item["answerOption"]]
            assert codes == q.values + ([NONE_OF_THESE] if q.type is FieldType.multi else []), q.id
            assert item.get("repeats", False) is (q.type is FieldType.multi)
        has_logic = "enableWhen" in item or any(e["url"].endswith("enableWhenExpression") for e in item.get("extension", []))
        assert has_logic is (q.id in RB.ask_when), q.id
    # Compound "unless definitely not" logic needs an expression; simple logic stays enableWhen.
    assert "enableWhen" not in by_id["regained_birth_weight"]
    assert by_id["milk_came_in_hours"]["enableWhen"] == [
        {"question": "milk_came_in", "operator": "=", "answerCoding": {"system": fhir.ANSWERS_SYSTEM, "code": c}}
        for c in ("yes", "unsure")] + [{"question": "milk_came_in", "operator": "exists", "answerBoolean": False}]


def test_code_systems_hold_every_code_used():
    bundle = fhir.code_systems(RB)
    Bundle.model_validate(bundle)
    systems = {e["resource"]["url"]: {c["code"] for c in e["resource"]["concept"]} for e in bundle["entry"]}
    used = {o["valueCoding"]["code"] for i in _items(fhir.questionnaire(RB)) for o in i.get("answerOption", [])}
    assert used <= systems[fhir.ANSWERS_SYSTEM]
    c = RB.codes
    every = [c.urgencies, c.supply_pictures, c.referral_targets, c.red_flags, c.factors, c.perceived_signs,
             c.next_steps, c.safety_net]
    assert {getattr(code, "value", code) for table in every for code in table} <= systems[fhir.FINDINGS_SYSTEM]


def _enable_when(item: dict, values: dict[str, Any]) -> bool:
    """R4's enableWhen semantics, on the answers of a response (a list per linkId)."""
    def one(cond: dict) -> bool:
        got = values.get(cond["question"], [])
        if cond["operator"] == "exists":
            return bool(got) == cond["answerBoolean"]
        key = next(k for k in cond if k.startswith("answer"))
        want = cond[key]["code"] if key == "answerCoding" else cond[key]
        ops = {"=": lambda a: a == want, "<": lambda a: a < want, "<=": lambda a: a <= want,
               ">": lambda a: a > want, ">=": lambda a: a >= want}
        return any(ops[cond["operator"]](a) for a in got)

    results = [one(c) for c in item["enableWhen"]]
    return any(results) if item.get("enableBehavior") == "any" else all(results)


# Each enableWhenExpression, compiled once (parsing FHIRPath is the slow part).
EXPRESSIONS = {item["linkId"]: fhirpathpy.compile(e["valueExpression"]["expression"], R4_MODEL)
               for item in _items(QUESTIONNAIRE) for e in item.get("extension", [])
               if e["url"].endswith("enableWhenExpression")}


def fhir_shown(answers: dict[str, Any]) -> set[str]:
    qr = fhir.to_response(RB, answers)
    values: dict[str, list] = {}
    for item in _items(qr):
        for a in item.get("answer", []):
            v = a.get("valueCoding", {}).get("code", a.get("valueInteger", a.get("valueDecimal")))
            values.setdefault(item["linkId"], []).append(v)
    shown = set()
    for item in _items(QUESTIONNAIRE):
        if item["type"] in ("group", "display"):
            continue
        if item["linkId"] in EXPRESSIONS:
            ok = EXPRESSIONS[item["linkId"]](qr, {"resource": qr}) == [True]
        elif "enableWhen" in item:
            ok = _enable_when(item, values)
        else:
            ok = True
        if ok:
            shown.add(item["linkId"])
    return shown


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # fhirpathpy is slow
@given(interviews())
def test_fhir_shows_the_questions_the_interview_asks(answers):
    assert fhir_shown(answers) == asked(answers)


@PROPERTY
@given(intakes())
def test_contract_to_questionnaire_response_and_back_is_identity(intake):
    qr = fhir.to_response(RB, intake)
    QuestionnaireResponse.model_validate(qr)
    assert fhir.from_response(RB, qr) == (intake, [])


def test_response_with_a_subject_or_identifying_item_is_refused():
    qr = fhir.to_response(RB, {"infant_age_days": 10})
    with pytest.raises(fhir.ResponseRefused, match="subject"):
        fhir.from_response(RB, {**qr, "subject": {"reference": "Patient/1"}})
    named = {**qr, "item": qr["item"] + [{"linkId": "mother_name", "answer": [{"valueString": "x"}]}]}
    with pytest.raises(fhir.ResponseRefused, match="mother_name"):
        fhir.from_response(RB, named)
    assert fhir.from_response(RB, named, drop=["mother_name"]) == ({"infant_age_days": 10}, [])


def test_risk_assessment_validates():
    from supplycheck import evaluate

    result = evaluate(RB, {"id": "A1", "infant_age_days": 20, "baby_fever": "yes"}).contract_dict()
    ra = fhir.risk_assessment(result)
    RiskAssessment.model_validate(ra)
    outcomes = [p["outcome"]["coding"][0]["code"] for p in ra["prediction"]]
    # Red flags first, as the result leads with them; then the urgency; then the supply picture.
    assert outcomes == [*result["red_flags"], "emergency", result["supply_picture"]]
    assert "fever_young_infant" in result["red_flags"]
    assert ra["method"]["coding"][0]["version"] == RB.version
    # The safety net travels with the result, first among the notes, every sign with its words.
    assert result["safety_net"] and ra["note"][0]["text"].startswith("Safety net")
    assert all(s["code"] in ra["note"][0]["text"] and s["text"] in ra["note"][0]["text"] for s in result["safety_net"])
    assert "call_emergency_now" not in ra["mitigation"] and "emergency" in ra["mitigation"]


# ---------------------------------------------------------------------------- REDCap

class _Cell(str):
    """A REDCap value: compared as a number with a number, as REDCap does."""

    def _n(self, other):
        return (float(self), other) if isinstance(other, (int, float)) else (str(self), other)

    def __lt__(self, o): a, b = self._n(o); return a < b
    def __le__(self, o): a, b = self._n(o); return a <= b
    def __gt__(self, o): a, b = self._n(o); return a > b
    def __ge__(self, o): a, b = self._n(o); return a >= b


def redcap_true(logic: str, row: dict[str, str]) -> bool:
    """Evaluate REDCap branching logic (the subset the export writes) on a raw export row."""
    expr = re.sub(r"\[(\w+)\((\w+)\)\]", lambda m: f"v('{m[1]}___{m[2]}')", logic)
    expr = re.sub(r"\[(\w+)\]", lambda m: f"v('{m[1]}')", expr)
    expr = expr.replace("<>", "!=").replace(" = ", " == ")
    return bool(eval(expr, {"v": lambda c: _Cell(row[c])}))  # test-only: our own generated logic


def test_data_dictionary_is_redcap_shaped():
    rows = list(csv.DictReader(io.StringIO(redcap.data_dictionary(RB))))
    assert tuple(rows[0]) == redcap.DICTIONARY_COLUMNS
    assert rows[0]["Variable / Field Name"] == "record_id"
    by = {r["Variable / Field Name"]: r for r in rows}
    age = by["infant_age_days"]
    assert (age["Field Type"], age["Text Validation Type OR Show Slider Number"],
            age["Text Validation Min"], age["Text Validation Max"]) == ("text", "integer", "0", "1095")
    assert by["birth_weight_g"]["Text Validation Type OR Show Slider Number"] == "number"
    assert by["jaundice"]["Choices, Calculations, OR Slider Labels"].startswith("no, No | mild, ")
    assert by["concerns"]["Field Type"] == "checkbox" and "@NONEOFTHEABOVE" in by["concerns"]["Field Annotation"]
    for r in rows:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", r["Variable / Field Name"])
        for choice in filter(None, r["Choices, Calculations, OR Slider Labels"].split(" | ")):
            assert re.fullmatch(r"[a-z0-9_]+, .+", choice), choice
        assert bool(r["Branching Logic (Show field only if...)"]) is (r["Variable / Field Name"] in RB.ask_when)


REDCAP_LOGIC = {r["Variable / Field Name"]: r["Branching Logic (Show field only if...)"]
                for r in csv.DictReader(io.StringIO(redcap.data_dictionary(RB)))}


@PROPERTY
@given(interviews())
def test_redcap_shows_the_questions_the_interview_asks(answers):
    row = redcap.to_row(RB, answers)
    logic = REDCAP_LOGIC
    shown = {q for q in QUESTIONS if not logic[q] or redcap_true(logic[q], row)}
    assert shown == asked(answers)


@PROPERTY
@given(intakes())
def test_contract_to_redcap_row_and_back_is_identity(intake):
    row = redcap.to_row(RB, intake)
    assert list(row) == redcap.export_columns(RB)
    back = redcap.from_row(RB, row)
    assert back == ({**intake, "id": intake["id"]} if "id" in intake else intake)


# ---------------------------------------------------------------------------- XLSForm

def test_xlsform_converts_to_a_valid_xform(tmp_path):
    pyxform = pytest.importorskip("pyxform.xls2xform", reason="pip install '.[forms]'")
    from lxml import etree

    path = tmp_path / "intake.xlsx"
    path.write_bytes(xlsform.workbook_bytes(RB))
    result = pyxform.convert(str(path), validate=False)
    doc = etree.fromstring(result.xform.encode())
    ns = {"x": "http://www.w3.org/2002/xforms", "h": "http://www.w3.org/1999/xhtml"}
    binds = {b.get("nodeset").rsplit("/", 1)[1]: b for b in doc.iterfind(".//x:bind", ns)}
    assert set(QUESTIONS) <= set(binds)
    for q in QUESTIONS.values():
        assert (binds[q.id].get("relevant") is not None) is (q.id in RB.ask_when), q.id
    assert binds["infant_age_days"].get("type") == "int" and binds["birth_weight_g"].get("type") == "decimal"
    assert binds["concerns"].get("constraint")
    (concerns,) = [s for s in doc.iterfind(".//x:select", ns) if s.get("ref").endswith("/worries/concerns")]
    nodeset = concerns.find("x:itemset", ns).get("nodeset")
    assert "name != 'slower_growth_after_3_months' or" in nodeset  # offered from about 10 weeks
    version = doc.find(".//x:instance/*", ns).get("version")
    assert version == RB.version


RELEVANT = {r[1]: r[4] for r in xlsform.sheets(RB)["survey"][1:] if r[1] in QUESTIONS}


def xpath_shown(answers: dict[str, Any]) -> set[str]:
    """The `relevant` of each question, evaluated as XPath 1.0 (lxml) on an ODK-style instance."""
    from lxml import etree

    row = xlsform.to_row(RB, answers)
    data = etree.Element("data")
    for q in QUESTIONS.values():
        etree.SubElement(data, q.id).text = row[f"{RB.section_of[q.id].id}-{q.id}"]
    ns = etree.FunctionNamespace(None)
    ns["selected"] = lambda ctx, value, code: code in str(value if isinstance(value, str) else (value[0].text or "" if value else "")).split()
    shown = set()
    for q, expr in RELEVANT.items():
        if not expr:
            shown.add(q)
            continue
        xp = re.sub(r"\$\{(\w+)\}", r"/data/\1", expr)
        if data.xpath(xp):
            shown.add(q)
    return shown


@PROPERTY
@given(interviews())
def test_xlsform_shows_the_questions_the_interview_asks(answers):
    pytest.importorskip("lxml")
    assert xpath_shown(answers) == asked(answers)


@PROPERTY
@given(intakes())
def test_contract_to_odk_row_and_back_is_identity(intake):
    assert xlsform.from_row(RB, xlsform.to_row(RB, intake)) == intake


def test_skip_logic_of_an_unknown_answer_keeps_the_question():
    shown = skiplogic.shown_when(RB, "solids_or_water_before_6_months")
    assert skiplogic.xlsform(RB, shown) == "((${infant_age_days} != '' and ${infant_age_days} < 183) or ${infant_age_days} = '')"
    assert skiplogic.redcap(RB, shown) == "(([infant_age_days] <> '' and [infant_age_days] < 183) or [infant_age_days] = '')"


def test_a_test_on_a_derived_value_never_hides_a_question():
    """Form tools cannot compute derived values: such a test counts as possibly true, so the
    question is shown whenever the rest of its condition allows, never hidden by it."""
    import dataclasses

    derived = C.Leaf("weight_loss_pct", "gt", 7)
    young = C.Leaf("infant_age_days", "lt", 10)
    rb = dataclasses.replace(RB, ask_when={**RB.ask_when, "jaundice": C.All((derived, young)),
                                           "baby_fever": C.Any_((derived, young))})
    both = skiplogic.shown_when(rb, "jaundice")
    assert skiplogic.redcap(rb, both) == "(([infant_age_days] <> '' and [infant_age_days] < 10) or [infant_age_days] = '')"
    assert skiplogic.shown_when(rb, "baby_fever") is None  # either: always shown
