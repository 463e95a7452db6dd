"""Scoring one record in this process: validate, evaluate, the contract's result dict."""

from __future__ import annotations

from typing import Any, Mapping

from ...core import engine
from ...core.evaluate import conclusions, facts_of, rulebase_ref
from ...core.intake import ID_FIELD, validator
from ...errors import EngineError, FieldError, IntakeError
from ...privacy import MAX_ID_LENGTH, id_problem, value_may_identify
from ...rulebase import RuleBase
from .columns import ColumnPlan
from .problems import RECORD_FIELD, ParseProblem
from .readers import JsonLines, LinesSeen, parse_json_lines
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


class Scorer:
    """Scores records in this process: the same steps as `evaluate(..., explain=False)`,
    returning the contract's result dict. A chunk of records is validated one record at a
    time (one compiled validator), matched by the engine in shared sessions, and each result
    built in one pass (`conclusions`)."""

    def __init__(self, rulebase: RuleBase):
        self.rulebase = rulebase
        self.validate = validator(rulebase)
        self.ref = rulebase_ref(rulebase).model_dump(mode="json")
        self.numeric = frozenset(q.id for q in rulebase.questions.values() if q.is_numeric)
        self.plans: dict[tuple[str, tuple[str, ...]], ColumnPlan] = {}  # per input file

    def warm(self) -> "Scorer":
        """Compile now what the first intake would (the engine's ruleset, the result tables)."""
        engine.matching_rules_many(self.rulebase, [])
        conclusions(self.rulebase, {}, [])
        return self

    def error(self, raw_id: Any, items: list[dict[str, str]]) -> dict[str, Any]:
        shown = None if raw_id in (None, "") or id_problem(raw_id) else str(raw_id)
        return {"id": shown, "status": "error", "errors": items, "rulebase": dict(self.ref)}

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
            raw_id = fields.get(ID_FIELD)
            problem_with_id = id_problem(raw_id)
            try:
                intake = self.validate(fields)
            except IntakeError as exc:
                items = [field_error_item(e, e.field in self.numeric) for e in exc.errors]
            else:
                if problem_with_id is None:
                    valid.append((len(results), intake, facts_of(rulebase, intake)))
                    results.append(None)
                    continue
                items = []
            if problem_with_id is not None:  # the id is withheld: never echoed, not even here
                items.insert(0, {"field": ID_FIELD, "message": f"id: withheld, it is {problem_with_id}; {ID_EXPECTED}"})
            results.append(self.error(raw_id, items))
        matched = engine.matching_rules_many(rulebase, [facts for _, _, facts in valid])
        for (i, intake, facts), fired in zip(valid, matched):
            if isinstance(fired, EngineError):  # the engine failed on this intake: report it, score the rest
                results[i] = self.error(intake.id, [{"field": RECORD_FIELD, "message": f"could not be scored ({fired})"}])
                continue
            found = conclusions(rulebase, facts, fired)
            safety_net = found.pop("safety_net")
            results[i] = {"id": intake.id, "status": "scored", **found, "rulebase": dict(self.ref),
                          "safety_net": safety_net}
        return results  # type: ignore[return-value]

    def chunk(self, fmt: str, source: str, items: list[tuple[int, Any, Any]] | JsonLines | Any,
              with_source: bool = False) -> tuple[Any, Summary, LinesSeen | None]:
        """Score one chunk of (line, fields, problem), of JSON lines or of Arrow rows:
        (rendered output or result dicts, summary, what the file's reader should report).
        A chunk with identifying values is not scored: its output is None (the run is refused).
        The summary's `ids` holds (line, id) of each record, for the run's check of ids."""
        seen = None
        if isinstance(items, list):
            records = items
        else:
            key = (source, items.drop_columns)
            plan = self.plans.get(key)
            if plan is None:
                plan = self.plans[key] = ColumnPlan.for_rulebase(self.rulebase, items.drop_columns)
            if isinstance(items, JsonLines):
                parsed, seen = parse_json_lines(plan, source, items)
            else:  # arrow.ArrowRows (pyarrow is imported only for Parquet)
                from .arrow import rows
                parsed, seen = rows(plan, source, items)
            if seen.findings:  # never score (or render) a record with identifying values
                return None, Summary(), seen
            records = [(r.line, r.fields, r.problem) for r in parsed]
        results = self.score_many([(fields, problem) for _, fields, problem in records])
        summary = Summary()
        for (line, _, _), result in zip(records, results):
            summary.add(result, source, line)
            summary.ids.append((line, result["id"]))
            if with_source:
                result["source"] = {"file": source, "line": line}
        return (results if fmt == "dicts" else render(fmt, results)), summary, seen
