"""Scoring one record in this process: validate, evaluate, the contract's result dict."""

from __future__ import annotations

from typing import Any, Mapping

from ...core.evaluate import evaluate_intake, rulebase_ref
from ...core.intake import ID_FIELD, parse_intake
from ...core.result import Result
from ...errors import EngineError, FieldError, IntakeError
from ...privacy import MAX_ID_LENGTH, id_problem, value_may_identify
from ...rulebase import RuleBase
from .problems import RECORD_FIELD, ParseProblem
from .summary import Summary
from .writers import render


def field_error_item(error: FieldError, numeric: bool) -> dict[str, str]:
    """The error item of one bad field, naming what is allowed. The value is echoed only for a
    number field and only when it cannot identify anyone; a coded field's value never is (a
    name or a postcode given as a feeding method must not reach any output)."""
    if not numeric or value_may_identify(error.value) or not isinstance(error.value, (str, int, float)):
        return {"field": error.field, "message": f"{error.field}: the value given is not allowed (it is not "
                                                 f"shown); expected {error.allowed}"}
    return {"field": error.field, "message": f"{error.field}: {error.value!r} is not allowed; expected {error.allowed}"}


ID_EXPECTED = f"expected text of at most {MAX_ID_LENGTH} printable characters, or a whole number"


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


def contract_dict(result: Result) -> dict[str, Any]:
    """`result.contract_dict()` built directly from the model's attributes: the same dict,
    several times faster than pydantic's serializer (tests/test_batch.py checks they agree)."""
    if result.status != "scored":
        return result.contract_dict()
    ref = result.rulebase
    return {
        "id": result.id,
        "status": result.status,
        "urgency": _value(result.urgency),
        "supply_picture": _value(result.supply_picture),
        "red_flags": list(result.red_flags),
        "factors": [{"id": f.id, "category": _value(f.category), "evidence": list(f.evidence)}
                    for f in result.factors],
        "perceived_signs": list(result.perceived_signs),
        "referrals": [{"to": _value(r.to), "urgency": _value(r.urgency), "reasons": list(r.reasons)}
                      for r in result.referrals],
        "next_steps": [{"code": s.code, "text": s.text} for s in result.next_steps],
        "rulebase": {"name": ref.name, "version": ref.version, "hash": ref.hash},
        "safety_net": [{"code": s.code, "text": s.text} for s in result.safety_net],
    }


class Scorer:
    """Scores records in this process: the same steps as `evaluate(..., explain=False)`,
    returning the contract's result dict."""

    def __init__(self, rulebase: RuleBase):
        self.rulebase = rulebase
        self.ref = rulebase_ref(rulebase).model_dump(mode="json")
        self.numeric = frozenset(q.id for q in rulebase.questions.values() if q.is_numeric)

    def error(self, raw_id: Any, items: list[dict[str, str]]) -> dict[str, Any]:
        shown = None if raw_id in (None, "") or id_problem(raw_id) else str(raw_id)
        return {"id": shown, "status": "error", "errors": items, "rulebase": dict(self.ref)}

    def score(self, fields: Mapping[str, Any] | None, problem: ParseProblem | None = None) -> dict[str, Any]:
        if problem is not None or fields is None:
            return self.error(None, [problem.as_dict() if problem else {"field": RECORD_FIELD, "message": "no record"}])
        raw_id = fields.get(ID_FIELD)
        problem_with_id = id_problem(raw_id)
        try:
            intake = parse_intake(self.rulebase, fields)
        except IntakeError as exc:
            items = [field_error_item(e, e.field in self.numeric) for e in exc.errors]
        else:
            if problem_with_id is None:
                try:
                    return contract_dict(evaluate_intake(self.rulebase, intake, explain=False))
                except EngineError as exc:  # the engine failed on this intake: report it, score the rest
                    return self.error(intake.id, [{"field": RECORD_FIELD, "message": f"could not be scored ({exc})"}])
            items = []
        if problem_with_id is not None:  # the id is withheld: never echoed, not even here
            items.insert(0, {"field": ID_FIELD, "message": f"id: withheld, it is {problem_with_id}; {ID_EXPECTED}"})
        return self.error(raw_id, items)

    def chunk(self, fmt: str, source: str, items: list[tuple[int, Any, Any]]) -> tuple[Any, "Summary"]:
        """Score one chunk of (line, fields, problem): (rendered output or result dicts, summary)."""
        results = [self.score(fields, problem) for _, fields, problem in items]
        summary = Summary()
        for (line, _, _), result in zip(items, results):
            summary.add(result, source, line)
        return (results if fmt == "dicts" else render(fmt, results)), summary
