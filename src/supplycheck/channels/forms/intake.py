"""A consultant's saved intake as a FHIR QuestionnaireResponse, and one imported as a new intake."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ...core import interview
from ...core.intake import ID_FIELD, parse_intake
from ...core.result import Result
from ...rulebase import RuleBase
from ...storage.store import Store, check_ref
from ..consult import records
from . import fhir


def response(store: Store, rulebase: RuleBase, ref: str) -> dict[str, Any]:
    """Intake REF's answers that apply (as they are scored) as a QuestionnaireResponse; the
    reference code is its identifier."""
    store.require(ref)
    answers = interview.relevant_answers(rulebase, store.answers(ref))
    return fhir.to_response(rulebase, {**answers, ID_FIELD: ref})


def response_text(store: Store, rulebase: RuleBase, ref: str) -> str:
    return json.dumps(response(store, rulebase, ref), indent=2, ensure_ascii=False) + "\n"


def _check_values(rulebase: RuleBase, qr: Mapping[str, Any]) -> None:
    """Raise ResponseRefused for an answer or identifier that looks identifying (an e-mail
    address, an NHS number...), checked as batch checks every cell; the value is never kept."""
    from ...privacy import DESCRIPTIONS
    from ..batch.columns import ColumnPlan

    plan = ColumnPlan.for_rulebase(rulebase)
    for link, value in fhir.answered_values(qr):
        known = link in rulebase.questions or link == ID_FIELD
        plan.scan.setdefault(link, (not known or link == ID_FIELD, link in plan.numeric_fields))
        plan.check_value(link, value, 1)
    if plan.findings:
        raise fhir.ResponseRefused([(f.column, DESCRIPTIONS.get(f.kind, f.kind)) for f in plan.findings.values()])


def import_response(store: Store, rulebase: RuleBase, qr: Mapping[str, Any], ref: str | None = None) -> tuple[str, Result]:
    """Save a QuestionnaireResponse as a new, finished intake under `ref` (default: its
    identifier) and score it. Raises ResponseRefused (identifying data), IntakeError (bad
    values, every field named) or StoreError (the reference code is taken or not valid)."""
    if qr.get("resourceType") != "QuestionnaireResponse":
        raise ValueError(f"a {qr.get('resourceType') or 'JSON object'}, not a QuestionnaireResponse")
    intake, _ = fhir.from_response(rulebase, qr)
    _check_values(rulebase, qr)
    raw_ref = ref or intake.get(ID_FIELD)
    if not raw_ref:
        raise ValueError("the response has no identifier: give a reference code")
    ref = check_ref(str(raw_ref))
    answers = {k: v for k, v in intake.items() if k != ID_FIELD}
    parse_intake(rulebase, answers)  # every bad value named before anything is saved
    store.create(ref, "intake", rulebase)
    for field, value in answers.items():
        store.set_answer(ref, field, value)
    result = records.refresh(store, rulebase, ref)
    store.finish(ref)
    return ref, result
