"""The durable_rules evaluator: the only module that imports durable_rules.

The rule base is compiled to one durable_rules ruleset (Rete network, in C). Each intake is one
fact in a fresh session that is deleted afterwards; the engine tells which rules matched, and
nothing else. No Python runs inside the engine, so the binding's silent failure modes (actions
whose exceptions are swallowed, findings asserted that no rule consumes, actions mistaken for
asynchronous ones) cannot happen here. See ../shared/notes/durable-rules.md and
tests/test_engine_pitfalls.py.

We drive the C core (`durable_rules_engine`) directly instead of `durable.engine.Host`: the Host
runs each action through JSON round trips and starts timer threads; matching through the core
is about 8x faster and keeps the process free of background threads.
"""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any, Mapping

import durable_rules_engine as _core

from .errors import EngineError
from .rulebase import conditions as C
from .rulebase.loader import RuleBase

INTAKE = "intake"  # the positive discriminator every pattern carries
WITNESS = "witness"  # a copy of the intake, asserted first, for negated (`unless`) patterns
SEEN = "__seen__"  # matches every intake: proves the fact was processed
WITNESSED = "__witnessed__"  # so the witness is never an unhandled fact

_compiled: dict[str, "_Ruleset"] = {}  # one ruleset per rule-base hash, per process
_lock = threading.Lock()  # the C core has no locks of its own


def list_count(name: str) -> str:
    return f"{name}__n"


def list_item(name: str, code: str) -> str:
    return f"{name}__{code}"


def to_fact(values: Mapping[str, Any], symbols: Mapping[str, C.Symbol]) -> dict[str, Any]:
    """One flat fact for the engine: known scalars as they are; a known list as its length plus
    one flag per code present. Unknown values are simply absent."""
    fact: dict[str, Any] = {"t": INTAKE}
    for name, value in values.items():
        if symbols[name].kind == "multi":
            fact[list_count(name)] = len(value)
            for code in value:
                fact[list_item(name, code)] = 1
        else:
            fact[name] = value
    return fact


def _any(exprs: list[dict]) -> dict:
    return exprs[0] if len(exprs) == 1 else {"$or": exprs}


def _all(exprs: list[dict]) -> dict:
    return exprs[0] if len(exprs) == 1 else {"$and": exprs}


def compile_leaf(leaf: C.Leaf, symbols: Mapping[str, C.Symbol]) -> dict:
    """A leaf (positive, or one of the internal negated ops from `nnf`) as a durable expression.
    durable_rules never matches a comparison on an absent property, so unknown never matches."""
    name, op, v = leaf.field, leaf.op, leaf.value
    is_list = symbols[name].kind == "multi"
    present = list_count(name) if is_list else name
    if op == "known":
        return {"$ex": {present: 1}} if v else {"$nex": {present: 1}}
    if op == "contains":
        return {list_item(name, v): 1}
    if op == "contains_any":
        return _any([{list_item(name, c): 1} for c in v])
    if op == "lacks":
        return _all([{"$ex": {present: 1}}, {"$nex": {list_item(name, v): 1}}])
    if op == "lacks_all":
        return _all([{"$ex": {present: 1}}, *({"$nex": {list_item(name, c): 1}} for c in v)])
    if op == "empty":
        return {present: 0}
    if op == "not_empty":
        return {"$gt": {present: 0}}
    if op == "eq":
        return {name: v}
    if op == "in":
        return _any([{name: x} for x in v])
    if op == "nin":
        return _all([{"$neq": {name: x}} for x in v])
    return {f"${op}": {name: v}}


# durable_rules allows at most 31 expressions in one pattern (MAX_SEQUENCE_EXPRESSIONS, error
# 113 at load); a larger condition is split into its disjuncts, one durable rule each.
EXPRESSION_BUDGET = 28
PART = "#"  # separates a rule id from the number of its disjunct in durable rule names


def _cost(expr: dict) -> int:
    (key, body), = expr.items()
    if key in ("$and", "$or"):
        return 1 + sum(_cost(e) for e in body)
    return 1


def _expressions(cond: C.Condition, symbols, definitions) -> list[dict]:
    """Durable expressions whose disjunction is "cond is definitely true"."""
    normal = C.nnf(cond, definitions)

    def walk(c: C.Condition) -> dict:
        if isinstance(c, C.Leaf):
            return compile_leaf(c, symbols)
        parts = [walk(p) for p in c.parts]
        return _all(parts) if isinstance(c, C.All) else _any(parts)

    whole = walk(normal)
    if _cost(whole) <= EXPRESSION_BUDGET:
        return [whole]
    terms = C.dnf(normal)
    if terms is None:
        raise EngineError("condition too complex for durable_rules")
    parts = [_all([compile_leaf(leaf, symbols) for leaf in term]) for term in terms]
    if any(_cost(p) > EXPRESSION_BUDGET for p in parts):
        raise EngineError("condition has a conjunction too long for durable_rules")
    return parts


def split_unless(cond: C.Condition) -> tuple[C.Condition | None, list[C.Condition]]:
    """(positive part, [unless parts]) of a rule condition; `unless` may only stand at the top
    of a rule or in its top-level `all`."""
    if isinstance(cond, C.Unless):
        return None, [cond.part]
    if isinstance(cond, C.All):
        unless = [p.part for p in cond.parts if isinstance(p, C.Unless)]
        rest = tuple(p for p in cond.parts if not isinstance(p, C.Unless))
        positive = None if not rest else rest[0] if len(rest) == 1 else C.All(rest)
        return positive, unless
    return cond, []


def compile_rule(cond: C.Condition, symbols, definitions) -> list[dict]:
    """The durable rule bodies (one per disjunct) whose disjunction is the condition.

    `unless X` becomes a negated pattern (`$not`) over the witness fact, a copy of the intake
    asserted just before it: a negated pattern over the intake fact itself never blocks, since
    durable_rules does not let one fact fill two patterns (tests/test_engine_pitfalls.py).
    """
    positive, unless = split_unless(cond)
    blockers = [
        {f"u{i}$not": {"$and": [{"t": WITNESS}, expr]}}
        for i, expr in enumerate(e for part in unless for e in _expressions(part, symbols, definitions))
    ]
    if positive is None:
        heads = [{"t": INTAKE}]
    else:
        heads = [{"$and": [{"t": INTAKE}, expr]} for expr in _expressions(positive, symbols, definitions)]
    return [{"all": [{"m": head}, *blockers]} for head in heads]


def ruleset_definition(rulebase: RuleBase) -> dict:
    """The durable_rules JSON ruleset for a rule base (without actions)."""
    definition = {}
    for rule in rulebase.rules:
        bodies = compile_rule(rule.condition, rulebase.symbols, rulebase.definitions)
        for i, body in enumerate(bodies):
            definition[rule.id if len(bodies) == 1 else f"{rule.id}{PART}{i}"] = body
    definition[SEEN] = {"all": [{"m": {"t": INTAKE}}]}
    definition[WITNESSED] = {"all": [{"m": {"t": WITNESS}}]}
    return definition


class _Ruleset:
    def __init__(self, name: str, definition: dict):
        self.name = name
        self.handle = _core.create_ruleset(name, json.dumps(definition))
        self.sessions = itertools.count()

    def matches(self, fact: dict[str, Any]) -> set[str]:
        sid = str(next(self.sessions))
        fired: set[str] = set()
        with _lock:
            try:
                # The witness first: when the intake arrives every negated pattern is decided.
                for kind in (WITNESS, INTAKE):
                    fired |= self._assert({**fact, "t": kind, "sid": sid})
            finally:
                _core.delete_state(self.handle, sid)
        if not {SEEN, WITNESSED} <= fired:
            raise EngineError("durable_rules did not process the intake")
        return fired - {SEEN, WITNESSED}

    def _assert(self, fact: dict[str, Any]) -> set[str]:
        code, state = _core.assert_fact(self.handle, json.dumps(fact))
        if code != 0:
            raise EngineError(f"durable_rules refused the intake (code {code})")
        fired: set[str] = set()
        result = _core.start_action_for_state(self.handle, state)
        action = result[1] if result else None
        while action:
            # An action message is {"<durable rule name>": {...}}; names hold no quotes.
            fired.add(action[2:action.index('"', 2)].partition(PART)[0])
            action = _core.complete_and_start_action(self.handle, state)
        return fired


def _ruleset_for(rulebase: RuleBase) -> _Ruleset:
    # A ruleset name can be registered only once and never removed: key it by content hash.
    key = rulebase.content_hash
    with _lock:
        if key not in _compiled:
            _compiled[key] = _Ruleset(f"supplycheck_{key[:16]}", ruleset_definition(rulebase))
        return _compiled[key]


def matching_rules(rulebase: RuleBase, values: Mapping[str, Any]) -> list[str]:
    """Ids of the rules whose conditions are definitely true for `values` (known answers and
    derived values only), in rule-base order."""
    fired = _ruleset_for(rulebase).matches(to_fact(values, rulebase.symbols))
    return [rule_id for rule_id in rulebase.rules_by_id if rule_id in fired]  # rule-base order
