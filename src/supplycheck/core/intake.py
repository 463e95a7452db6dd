"""Raw answers -> a validated intake. Every bad field is reported with its value and what is
allowed; nothing is coerced silently except harmless spelling (case, spaces, numbers in text)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..errors import FieldError, IntakeError
from ..rulebase.loader import RuleBase
from ..rulebase.models import NONE_OF_THESE, UNSURE, FieldType, Question

ID_FIELD = "id"


@dataclass
class Intake:
    """A validated intake: `answers` holds every given answer (`unsure` included, unknown absent)."""

    answers: dict[str, Any]
    id: str | None = None
    warnings: list[str] = field(default_factory=list)

    def known(self) -> dict[str, Any]:
        """The answers the logic may use: `unsure` counts as not known."""
        return {k: v for k, v in self.answers.items() if v != UNSURE}


def is_blank(value: Any) -> bool:
    """Missing, empty or null: "not known" (the contract). `none` is the known-empty list."""
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and math.isnan(value)) or (isinstance(value, (list, tuple)) and not value)


def parse_value(q: Question, value: Any) -> Any:
    """One answer, typed; raises ValueError when it is not allowed."""
    if q.is_numeric:
        number = _number(value)
        if q.type is FieldType.integer:
            if not float(number).is_integer():
                raise ValueError
            number = int(number)
        if not q.min <= number <= q.max:
            raise ValueError
        return number
    if q.type is FieldType.multi:
        return _codes(q, value)
    if not isinstance(value, str):
        raise ValueError
    text = value.strip().lower()
    if text not in q.values:
        raise ValueError
    return text


def _number(value: Any) -> float | int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        number = value
    elif isinstance(value, str):
        number = float(value.strip())
    else:
        raise ValueError
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    return number


def _codes(q: Question, value: Any) -> list[str]:
    if isinstance(value, str):
        items = [p.strip().lower() for p in value.split(";") if p.strip()]
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        items = [v.strip().lower() for v in value]
    else:
        raise ValueError
    if items == [NONE_OF_THESE]:
        return []
    allowed = set(q.values)
    if not items or any(i not in allowed for i in items):
        raise ValueError
    return list(dict.fromkeys(items))


def parse_intake(rulebase: RuleBase, raw: Mapping[str, Any]) -> Intake:
    """Validate raw answers against the rule base's questions.

    Blank and null values are "not known". Unknown keys become warnings, never used.
    Raises IntakeError listing every bad field.
    """
    return validator(rulebase)(raw)


class RecordValidator:
    """One validator for a whole record, compiled once per rule base: a table of per-field
    checks specialised to each question's type, bounds and values, run in one pass.

    It accepts and returns exactly what `parse_value` does (plain str, int, float and list
    values take a fast path; any other type goes through `parse_value` itself). pydantic's own
    coercions differ from the contract's (True is 1, no case folding of choices), so the checks
    are written here rather than as a pydantic schema."""

    def __init__(self, rulebase: RuleBase):
        self.questions = rulebase.questions
        self.checks: dict[str, Callable[[Any], Any]] = {q.id: _check_for(q) for q in self.questions.values()}
        # The commonest answer, a choice given as text, is checked inline (no call).
        self.choices: dict[str, frozenset[str]] = {
            q.id: frozenset(q.values) for q in self.questions.values() if not q.is_numeric and q.type is not FieldType.multi}

    def __call__(self, raw: Mapping[str, Any]) -> Intake:
        checks, choices = self.checks, self.choices
        answers: dict[str, Any] = {}
        errors: list[FieldError] = []
        warnings: list[str] = []
        for key, value in raw.items():
            if value is None:
                if key not in checks and key != ID_FIELD:
                    warnings.append(f"unknown field {key!r} ignored")
                continue
            allowed = choices.get(key)
            if allowed is not None and type(value) is str:
                if value in allowed:  # as written by a program: no case or spaces to fold
                    answers[key] = value
                    continue
                text = value.strip().lower()
                if text in allowed:
                    answers[key] = text
                    continue
            check = checks.get(key)
            if check is None:
                if key != ID_FIELD:
                    warnings.append(f"unknown field {key!r} ignored")
                continue
            try:
                typed = check(value)
            except (ValueError, TypeError, OverflowError):  # OverflowError: an integer too big for a float
                errors.append(FieldError(key, value, self.questions[key].allowed()))
                continue
            if typed is not BLANK:
                answers[key] = typed
        weighed_at, age = answers.get("weight_age_days"), answers.get("infant_age_days")
        if weighed_at is not None and age is not None and weighed_at > age:
            errors.append(FieldError("weight_age_days", raw["weight_age_days"],
                                     f"at most infant_age_days ({age}): a weight cannot be taken after today"))
        before, last = answers.get("previous_weight_age_days"), answers.get("weight_age_days", age)
        if before is not None and last is not None and before > last:
            errors.append(FieldError("previous_weight_age_days", raw["previous_weight_age_days"],
                                     f"at most {last} (the age at the most recent weighing): the earlier weighing comes first"))
        if errors:
            raise IntakeError(errors)
        intake_id = raw.get(ID_FIELD)
        return Intake(answers, None if is_blank(intake_id) else str(intake_id), warnings)


def validator(rulebase: RuleBase) -> RecordValidator:
    """The rule base's record validator (compiled on first use, kept with the rule base)."""
    found = rulebase.__dict__.get("_record_validator")
    if found is None:
        found = rulebase.__dict__["_record_validator"] = RecordValidator(rulebase)
    return found


BLANK = object()  # what a check returns for a blank value (not known, not an error)


def _check_for(q: Question) -> Callable[[Any], Any]:
    """`parse_value(q, ·)` specialised to one question, returning BLANK for a blank value."""

    def slow(value: Any) -> Any:
        return BLANK if is_blank(value) else parse_value(q, value)
    if q.is_numeric:
        if q.min is None or q.max is None:
            return slow
        low, high, whole = q.min, q.max, q.type is FieldType.integer

        def number(value: Any) -> Any:
            kind = type(value)
            if kind is str:
                text = value.strip()
                if not text:
                    return BLANK
                n = float(text)
            elif kind is int:
                n = value
            elif kind is float:
                n = value
            else:
                return slow(value)
            if kind is not int:
                if not math.isfinite(n):
                    if n != n and kind is float:  # NaN, as pandas writes an empty cell
                        return BLANK
                    raise ValueError
                if n.is_integer():
                    n = int(n)
                elif whole:
                    raise ValueError
            if not low <= n <= high:
                raise ValueError
            return n
        return number
    allowed = frozenset(q.values)
    if q.type is FieldType.multi:
        def codes(value: Any) -> list[str]:
            kind = type(value)
            if kind is list and value and allowed.issuperset(value):  # codes as a program writes them
                return [] if value == [NONE_OF_THESE] else list(dict.fromkeys(value))
            if kind is str:
                if not value.strip():
                    return BLANK
                items = [p.strip().lower() for p in value.split(";") if p.strip()]
            elif kind is list and value and all(type(v) is str for v in value):
                items = [v.strip().lower() for v in value]
            else:
                return slow(value)
            if items == [NONE_OF_THESE]:
                return []
            if not items or not allowed.issuperset(items):
                raise ValueError
            return list(dict.fromkeys(items))
        return codes

    def choice(value: Any) -> str:
        if type(value) is not str:
            return slow(value)
        text = value.strip().lower()
        if text in allowed:
            return text
        if not text:
            return BLANK
        raise ValueError
    return choice


def intake_json_schema(rulebase: RuleBase) -> dict[str, Any]:
    """JSON Schema of an intake record for this rule base (every field optional)."""
    props: dict[str, Any] = {ID_FIELD: {"type": ["string", "integer", "null"], "description": "opaque intake id, echoed back"}}
    for q in rulebase.questions.values():
        if q.is_numeric:
            schema: dict[str, Any] = {"type": ["integer" if q.type is FieldType.integer else "number", "null"],
                                      "minimum": q.min, "maximum": q.max}
        elif q.type is FieldType.multi:
            schema = {"type": ["array", "null"], "uniqueItems": True, "items": {"enum": q.values}}
        else:
            schema = {"enum": [*q.values, None]}
        schema["description"] = q.clinical + (f" ({q.unit})" if q.unit else "")
        props[q.id] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{rulebase.name} {rulebase.version} intake",
        "type": "object",
        "properties": props,
    }
