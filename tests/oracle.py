"""An independent, test-only evaluator of the YAML rule base, in plain Python.

It reads the rule files itself (`yaml.safe_load`) and implements the condition language of
rules/README.md directly on the raw dicts, with Kleene (three-valued) logic:

- a leaf on an unknown field is unknown, except `known:`, which is always definite;
- `not` swaps true and false and keeps unknown;
- `all` is false if any part is false, else unknown if any part is unknown, else true;
  `any` is the dual; `at_least n` is true with n true parts, false when even counting every
  unknown part as true there are fewer than n;
- `unless X` is true unless X is definitely true (so it is never unknown);
- a rule fires only when its condition is definitely true.

Nothing from supplycheck is used except the derive functions (`supplycheck.core.derive.compute` and
`supplycheck.core.derive.FUNCTIONS`, the rule base's own named functions, bound to the `params:` that
derived.yaml gives them): not the loader, not the
condition module, not the engine. The record is normalised here too, from questions.yaml, so
that the oracle can also say which fields of a raw record are invalid.

API (used by a colleague's benchmark)::

    oracle = Oracle("rules")
    oracle.fired({"infant_age_days": 5, "wet_diapers_per_day": 2})   # -> {"few_wet_diapers", ...}
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, Mapping

import yaml

from supplycheck.core.derive import FUNCTIONS, compute

UNSURE = "unsure"
NONE_OF_THESE = "none"
UNKNOWN = None  # the third truth value


class InvalidRecord(ValueError):
    """A raw record with values the contract does not allow; `fields` names them."""

    def __init__(self, fields: list[str]):
        super().__init__(", ".join(fields))
        self.fields = fields


def _load(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


class Oracle:
    def __init__(self, rules_dir: str | Path):
        d = Path(rules_dir)
        self.questions: dict[str, dict] = {}
        for section in _load(d / "questions.yaml")["sections"]:
            for q in section["questions"]:
                self.questions[q["id"]] = q
        # Each derived value's function, bound to the settings derived.yaml gives it (`params:`).
        self.derived = [(x["id"], functools.partial(FUNCTIONS[x["function"]], **(x.get("params") or {})))
                        for x in _load(d / "derived.yaml")["derived"]]
        self.definitions: dict[str, dict] = _load(d / "definitions.yaml")["definitions"] or {}
        self.rules: list[dict] = []
        for path in sorted((d / "rules").glob("*.yaml")):
            self.rules.extend(_load(path)["rules"])
        self.rule_ids = [r["id"] for r in self.rules]

    # ------------------------------------------------------------------ record -> known facts

    def allowed_values(self, field: str) -> list[str]:
        q = self.questions[field]
        if q["type"] == "yes_no_unsure":
            return ["yes", "no", UNSURE]
        if q["type"] == "yes_no":
            return ["yes", "no"]
        return [str(o["value"]) for o in q.get("options", [])]

    def _value(self, field: str, value: Any) -> Any:
        """The typed value of one non-blank answer; ValueError when it is not allowed."""
        q = self.questions[field]
        kind = q["type"]
        if kind in ("integer", "number"):
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str):
                value = float(value.strip())
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError
            if kind == "integer":
                if not float(value).is_integer():
                    raise ValueError
                value = int(value)
            if not q["min"] <= value <= q["max"]:
                raise ValueError
            return value
        allowed = self.allowed_values(field)
        if kind == "multi":
            if isinstance(value, str):
                items = [p.strip().lower() for p in value.split(";") if p.strip()]
            elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                items = [v.strip().lower() for v in value]
            else:
                raise ValueError
            if items == [NONE_OF_THESE]:
                return frozenset()
            if not items or any(i not in allowed for i in items):
                raise ValueError
            return frozenset(items)
        if not isinstance(value, str) or value.strip().lower() not in allowed:
            raise ValueError
        return value.strip().lower()

    def bad_fields(self, record: Mapping[str, Any]) -> list[str]:
        """Fields of the record whose values the contract does not allow."""
        bad, typed = [], {}
        for key, value in record.items():
            if key == "id" or key not in self.questions or _blank(value):
                continue
            try:
                typed[key] = self._value(key, value)
            except (ValueError, TypeError):
                bad.append(key)
        # A weight cannot have been taken at an age the baby has not reached yet.
        if typed.get("weight_age_days", -1) > typed.get("infant_age_days", math.inf):
            bad.append("weight_age_days")
        # ... and the earlier weighing comes before the most recent one.
        last = typed.get("weight_age_days", typed.get("infant_age_days", math.inf))
        if typed.get("previous_weight_age_days", -1) > last:
            bad.append("previous_weight_age_days")
        return bad

    def facts(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Known answers (no `unsure`, no blanks, no unknown keys) plus the derived values."""
        bad = self.bad_fields(record)
        if bad:
            raise InvalidRecord(bad)
        known: dict[str, Any] = {}
        for key, value in record.items():
            if key == "id" or key not in self.questions or _blank(value):
                continue
            v = self._value(key, value)
            if v != UNSURE:
                known[key] = v
        return {**known, **compute(self.derived, known)}

    # ------------------------------------------------------------------ Kleene evaluation

    def truth(self, cond: Mapping[str, Any], facts: Mapping[str, Any]) -> bool | None:
        if "field" in cond:
            return self._leaf(cond, facts)
        (key, body), = cond.items()
        if key == "def":
            return self.truth(self.definitions[body], facts)
        if key == "not":
            t = self.truth(body, facts)
            return UNKNOWN if t is UNKNOWN else not t
        if key == "unless":
            return self.truth(body, facts) is not True
        if key == "at_least":
            values = [self.truth(c, facts) for c in body["of"]]
            yes = sum(v is True for v in values)
            maybe = sum(v is UNKNOWN for v in values)
            if yes >= body["n"]:
                return True
            return UNKNOWN if yes + maybe >= body["n"] else False
        values = [self.truth(c, facts) for c in body]
        if key == "all":
            if any(v is False for v in values):
                return False
            return UNKNOWN if any(v is UNKNOWN for v in values) else True
        if key == "any":
            if any(v is True for v in values):
                return True
            return UNKNOWN if any(v is UNKNOWN for v in values) else False
        raise ValueError(f"unknown combinator {key!r}")

    @staticmethod
    def _leaf(cond: Mapping[str, Any], facts: Mapping[str, Any]) -> bool | None:
        field = cond["field"]
        (op, ref), = ((k, v) for k, v in cond.items() if k != "field")
        present = field in facts
        if op == "known":
            return present == ref
        if not present:
            return UNKNOWN
        v = facts[field]
        if op == "eq":
            return v == ref
        if op == "ne":
            return v != ref
        if op == "lt":
            return v < ref
        if op == "lte":
            return v <= ref
        if op == "gt":
            return v > ref
        if op == "gte":
            return v >= ref
        if op == "in":
            return v in ref
        if op == "contains":
            return ref in v
        if op == "contains_any":
            return any(code in v for code in ref)
        if op == "empty":
            return (len(v) == 0) == bool(ref)
        raise ValueError(f"unknown leaf op {op!r}")

    # ------------------------------------------------------------------ the API

    def fired(self, record: Mapping[str, Any]) -> set[str]:
        """Ids of the rules whose condition is definitely true for a raw contract record."""
        facts = self.facts(record)
        return {r["id"] for r in self.rules if self.truth(r["when"], facts) is True}

    def fired_on_facts(self, facts: Mapping[str, Any]) -> set[str]:
        """As `fired`, for facts already known and derived (list values as sets)."""
        return {r["id"] for r in self.rules if self.truth(r["when"], facts) is True}

    def rule(self, rule_id: str) -> dict:
        return next(r for r in self.rules if r["id"] == rule_id)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and math.isnan(value))
