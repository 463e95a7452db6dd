"""Scoring one record in this process: validate, evaluate, the contract's result dict."""

from __future__ import annotations

from typing import Any, Mapping

from ...core import engine
from ...core.evaluate import conclusions, facts_of, rulebase_ref
from ...core.intake import ID_FIELD, validator
from ...core.result import Result
from ...errors import EngineError, FieldError, IntakeError
from ...privacy import value_may_identify
from ...rulebase import RuleBase
from .columns import ColumnPlan
from .problems import RECORD_FIELD, ParseProblem
from .readers import JsonLines, LinesSeen, parse_json_lines
from .summary import Summary
from .writers import render


def field_error_item(error: FieldError) -> dict[str, str]:
    """The error item of one bad field, as `evaluate` makes it, unless the value may identify
    someone: then the value is left out of the message."""
    if value_may_identify(error.value):
        return {"field": error.field,
                "message": f"{error.field}: the value is not shown (it may be personal data); expected {error.allowed}"}
    return error.as_dict()


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
    }


class Scorer:
    """Scores records in this process: the same steps as `evaluate(..., explain=False)`,
    returning the contract's result dict. A chunk of records is validated one record at a
    time, matched by the engine in shared sessions, and each result built in one pass."""

    def __init__(self, rulebase: RuleBase):
        self.rulebase = rulebase
        self.validate = validator(rulebase)
        self.ref = rulebase_ref(rulebase).model_dump(mode="json")
        self.plans: dict[tuple[str, tuple[str, ...]], ColumnPlan] = {}  # per input file

    def warm(self) -> "Scorer":
        """Compile now what the first intake would (the engine's ruleset, the result tables)."""
        engine.matching_rules_many(self.rulebase, [])
        engine._ruleset_for(self.rulebase)
        conclusions(self.rulebase, {}, [])
        return self

    def error(self, raw_id: Any, items: list[dict[str, str]]) -> dict[str, Any]:
        return {"id": None if raw_id in (None, "") else str(raw_id), "status": "error",
                "errors": items, "rulebase": dict(self.ref)}

    def score(self, fields: Mapping[str, Any] | None, problem: ParseProblem | None = None) -> dict[str, Any]:
        return self.score_many([(fields, problem)])[0]

    def score_many(self, records: list[tuple[Mapping[str, Any] | None, ParseProblem | None]]) -> list[dict[str, Any]]:
        """The result of each (fields, problem), in order."""
        rulebase = self.rulebase
        results: list[dict[str, Any] | None] = []
        valid: list[tuple[int, Any, dict[str, Any]]] = []  # (index, intake, facts)
        for fields, problem in records:
            if problem is not None or fields is None:
                results.append(self.error(problem.id if problem else None, [
                    problem.as_dict() if problem else {"field": RECORD_FIELD, "message": "no record"}]))
                continue
            try:
                intake = self.validate(fields)
            except IntakeError as exc:
                results.append(self.error(fields.get(ID_FIELD), [field_error_item(e) for e in exc.errors]))
                continue
            valid.append((len(results), intake, facts_of(rulebase, intake)))
            results.append(None)
        matched = engine.matching_rules_many(rulebase, [facts for _, _, facts in valid])
        for (i, intake, facts), fired in zip(valid, matched):
            if isinstance(fired, EngineError):  # the engine failed on this intake: report it, score the rest
                results[i] = self.error(intake.id, [{"field": RECORD_FIELD, "message": f"could not be scored ({fired})"}])
            else:
                results[i] = {"id": intake.id, "status": "scored",
                              **conclusions(rulebase, facts, fired), "rulebase": dict(self.ref)}
        return results  # type: ignore[return-value]

    def chunk(self, fmt: str, source: str, items: list[tuple[int, Any, Any]] | JsonLines | Any,
              with_source: bool = False) -> tuple[Any, Summary, LinesSeen | None]:
        """Score one chunk of (line, fields, problem), of raw JSON lines or of Arrow rows:
        (rendered output or result dicts, summary, what the lines' reader should report).
        The summary's `ids` holds (line, id) of each record, for the run's check of ids."""
        seen = None
        if isinstance(items, JsonLines):
            key = (source, items.drop_columns)
            plan = self.plans.get(key) or self.plans.setdefault(key, ColumnPlan.for_rulebase(self.rulebase, items.drop_columns))
            records, seen = parse_json_lines(plan, source, items)
            items = [(r.line, r.fields, r.problem) for r in records]
        elif not isinstance(items, list):  # arrow.ArrowRows (pyarrow is imported only for Parquet)
            from .arrow import rows
            items = rows(items)
        results = self.score_many([(fields, problem) for _, fields, problem in items])
        summary = Summary()
        for (line, _, _), result in zip(items, results):
            summary.add(result, source, line)
            summary.ids.append((line, result["id"]))
            if with_source:
                result["source"] = {"file": source, "line": line}
        return (results if fmt == "dicts" else render(fmt, results)), summary, seen
