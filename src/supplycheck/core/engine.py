"""The durable_rules evaluator: the only module that imports durable_rules.

The rule base is compiled to durable_rules rulesets (Rete networks, in C): one for the rules,
one for the definitions they use (below). Intakes are facts in short sessions that are deleted
afterwards; the engine tells which rules matched, and nothing else. No Python runs inside the
engine, so the binding's silent failure modes (actions whose exceptions are swallowed, findings
asserted that no rule consumes, actions mistaken for asynchronous ones) cannot happen here. See
../shared/notes/durable-rules.md and tests/test_engine_pitfalls.py.

We drive the C core (`durable_rules_engine`) directly instead of `durable.engine.Host`: the Host
runs each action through JSON round trips and starts timer threads; matching through the core
is about 8x faster and keeps the process free of background threads.

Named definitions (`{def: x}`) are decided once per intake, not inlined in every rule: a copy
of the intake (the witness) is asserted first and matched against each definition (and its
negation) the rules need; the intake then carries a flag for each that is definitely true, and
the rules test those flags. This keeps the network small and gives `unless {def: x}` a plain
"flag absent" test. (A negated `$not` pattern over the intake itself would never block:
durable_rules does not let one fact fill two patterns.)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import signal
import threading
from typing import Any, Iterator, Mapping, Sequence

import durable_rules_engine as _core
import orjson

from ..errors import EngineError, Problem, display_path
from ..rulebase import conditions as C
from ..rulebase.loader import RuleBase
from ..rulebase.problems import ProblemCode

KIND = "__t__"  # which kind of fact: every pattern tests it first (names of questions cannot start with _)
INTAKE = "intake"  # the positive discriminator every rule pattern carries
WITNESS = "witness"  # a copy of the intake, asserted first, on which definitions are decided
SEEN = "__seen__"  # matches every intake: proves the fact was processed
WITNESSED = "__witnessed__"  # matches every witness, so it is never an unhandled fact
DECIDES = "__def__"  # prefix of the rules that decide a definition on the witness

INDEX = "__n__"  # the intake's place in a shared session: keeps equal intakes distinct facts
SESSION_SIZE = 64  # intakes per session in `matching_rules_many` (creating a session costs
# about as much as matching an intake; far below the ~46,000 facts where a session misbehaves)

_compiled: dict[str, "_Ruleset"] = {}  # one ruleset per rule-base hash, per process
_lock = threading.Lock()  # the C core has no locks of its own


def list_count(name: str) -> str:
    return f"{name}__n"


def list_item(name: str, code: str) -> str:
    return f"{name}__{code}"


def _any(exprs: list[dict]) -> dict:
    return exprs[0] if len(exprs) == 1 else {"$or": exprs}


def _all(exprs: list[dict]) -> dict:
    return exprs[0] if len(exprs) == 1 else {"$and": exprs}


def compile_leaf(leaf: C.Leaf, symbols: Mapping[str, C.Symbol]) -> dict:
    """A leaf (positive, or one of the internal negated ops from `nnf`) as a durable expression.
    durable_rules never matches a comparison on an absent property, so unknown never matches."""
    name, op, v = leaf.field, leaf.op, leaf.value
    if op in _DEFINITION_TESTS:
        flag, present = _DEFINITION_TESTS[op]
        return {f"{flag}_{name[4:]}": 1} if present else {"$nex": {f"{flag}_{name[4:]}": 1}}
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
    return {_OPERATORS[op]: {name: v}}


# durable_rules' spelling of our comparison ops (it has no "$ne": an unknown operator is
# silently never true for text, and fails to load for numbers).
_OPERATORS = {"ne": "$neq", "lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}

# A definition's truth, as flags set on the intake after the witness: `dt_x` when x is definitely
# true, `df_x` when definitely false (see conditions.nnf, refs_as_atoms).
_DEFINITION_TESTS = {"def_true": ("dt", True), "def_false": ("df", True),
                     "def_not_true": ("dt", False), "def_not_false": ("df", False)}


# durable_rules allows at most 31 expressions in one pattern (MAX_SEQUENCE_EXPRESSIONS, error 113
# at load) and walks its alpha network with a stack of 64 entries (MAX_STACK_SIZE, error 303 when
# a fact matches too many pending paths at once). A condition too long or too wide (each `$or`
# branch is a path of its own) is split into its disjuncts, one durable rule each; and every
# pattern starts with two group tests (`__h__ != -1-i`, `__g__ != -1-j`, true of every fact,
# which carries both as 0) so that the network fans out in three bounded steps: at most
# MAX_SUPERGROUPS `h` nodes, GROUPS_PER_SUPER `g` nodes under each, and GROUP_WIDTH paths under
# each `g` (24 + 8 + 24 stays under 64). They test one property each, not a flag per group:
# at every alpha node it passes, durable_rules walks all of a fact's properties, so each
# property a fact carries costs as many times as the fact passes a node.
EXPRESSION_BUDGET = 28
MAX_WIDTH = 8
GROUP_WIDTH = 24
GROUPS_PER_SUPER = 8
MAX_SUPERGROUPS = 24
MAX_GROUPS = GROUPS_PER_SUPER * MAX_SUPERGROUPS
GROUPED = {"__h__": 0, "__g__": 0}  # what every fact carries for the group tests
_UNTESTED = ("", False, False)  # a list code no pattern tests
PART = "#"  # separates a rule id from the number of its disjunct in durable rule names


def _cost(expr: dict) -> int:
    (key, body), = expr.items()
    return 1 + sum(_cost(e) for e in body) if key in ("$and", "$or") else 1


def _width(expr: dict) -> int:
    """Alpha paths an expression becomes: each `$or` branch is a path of its own."""
    (key, body), = expr.items()
    if key == "$or":
        return sum(_width(e) for e in body)
    if key == "$and":
        return math.prod(_width(e) for e in body)
    return 1


def _fits(expr: dict) -> bool:
    return _cost(expr) <= EXPRESSION_BUDGET and _width(expr) <= MAX_WIDTH


def expressions(cond: C.Condition, symbols: Mapping[str, C.Symbol], definitions: Mapping[str, C.Condition],
                *, atoms: bool = True) -> list[dict]:
    """Durable expressions whose disjunction is "cond is definitely true". With `atoms`,
    definitions are tested through their flags instead of being expanded."""
    normal = C.nnf(cond, definitions, refs_as_atoms=atoms)

    def walk(c: C.Condition) -> dict:
        if isinstance(c, C.Leaf):
            return compile_leaf(c, symbols)
        parts = [walk(p) for p in c.parts]
        return _all(parts) if isinstance(c, C.All) else _any(parts)

    whole = walk(normal)
    if _fits(whole):
        return [whole]
    terms = C.dnf(normal)
    if terms is None:
        raise EngineError("condition too complex for durable_rules")
    parts = []
    for term in terms:
        compiled = [compile_leaf(leaf, symbols) for leaf in term]
        if _fits(_all(compiled)):
            parts.append(_all(compiled))
            continue
        # Still too wide: spread the leaves that are themselves `$or`s (`in`, `contains_any`).
        choices = [e["$or"] if "$or" in e else [e] for e in compiled]
        parts.extend(_all(list(combo)) for combo in itertools.product(*choices))
    if not all(_fits(p) for p in parts):
        raise EngineError("condition has a conjunction too long for durable_rules")
    return parts


def compile_rule(cond: C.Condition, symbols: Mapping[str, C.Symbol],
                 definitions: Mapping[str, C.Condition]) -> list[dict]:
    """The expressions (one durable rule each) of a rule; raises EngineError for a condition
    durable_rules cannot take."""
    return expressions(cond, symbols, definitions)


def compile_problems(rulebase: RuleBase) -> list[Problem]:
    """What durable_rules cannot take in this rule base, located like every rule-base problem:
    each rule it cannot compile, else the rule base as a whole. `supplycheck rules lint`
    reports these with lint's."""
    problems = []
    for rule in rulebase.rules:
        try:
            compile_rule(rule.condition, rulebase.symbols, rulebase.definitions)
        except Exception as exc:  # the engine's own message says what is wrong
            problems.append(ProblemCode.RULE_NOT_COMPILABLE.at(rule.file, rule.line, rule=rule.id, reason=exc))
    if not problems:
        try:
            ruleset_definition(rulebase)
        except Exception as exc:  # the engine's own message says what is wrong
            problems.append(ProblemCode.RULEBASE_NOT_COMPILABLE.at(display_path(rulebase.directory), None,
                                                                   reason=exc))
    return problems


def _definition_tests(exprs: list[dict] | dict) -> set[tuple[str, str]]:
    """(flag kind, definition) pairs that compiled expressions test."""
    if isinstance(exprs, list):
        return set().union(*map(_definition_tests, exprs)) if exprs else set()
    found: set[tuple[str, str]] = set()
    for key, value in exprs.items():
        if key[:3] in ("dt_", "df_"):
            found.add((key[:2], key[3:]))
        if isinstance(value, (dict, list)):
            found |= _definition_tests(value)
    return found


def ruleset_definition(rulebase: RuleBase) -> dict:
    """The durable_rules JSON ruleset for a rule base (without actions)."""
    symbols, definitions = rulebase.symbols, rulebase.definitions
    patterns: list[tuple[str, str, dict]] = []  # (durable rule name, fact kind, expression)

    def add(name: str, kind: str, exprs: list[dict]) -> None:
        for i, expr in enumerate(exprs):
            patterns.append((name if len(exprs) == 1 else f"{name}{PART}{i}", kind, expr))

    needed: set[tuple[str, str]] = set()
    for rule in rulebase.rules:
        exprs = expressions(rule.condition, symbols, definitions)
        needed |= _definition_tests(exprs)
        add(rule.id, INTAKE, exprs)
    for flag, name in sorted(needed):
        cond = C.Ref(name) if flag == "dt" else C.Not(C.Ref(name))
        add(f"{DECIDES}{flag}_{name}", WITNESS, expressions(cond, symbols, definitions, atoms=False))

    definition: dict[str, dict] = {}
    groups, load = 0, GROUP_WIDTH
    for name, kind, expr in patterns:
        width = _width(expr)
        if load + width > GROUP_WIDTH:
            groups, load = groups + 1, 0
        load += width
        group = groups - 1
        tests = [{KIND: kind}, {"$neq": {"__h__": -1 - group // GROUPS_PER_SUPER}}, {"$neq": {"__g__": -1 - group}}, expr]
        definition[name] = {"all": [{"m": {"$and": tests}}]}
    if groups > MAX_GROUPS:
        raise EngineError(f"rule base too large for durable_rules ({groups} groups of {GROUP_WIDTH} paths)")
    definition[SEEN] = {"all": [{"m": {KIND: INTAKE}}]}
    definition[WITNESSED] = {"all": [{"m": {KIND: WITNESS}}]}
    return definition


def _kind_of(body: dict) -> str:
    """The kind of fact a durable rule's one pattern is for (its first test)."""
    pattern = body["all"][0]["m"]
    return (pattern["$and"][0] if "$and" in pattern else pattern)[KIND]


def _tested_properties(definition: dict) -> frozenset[str]:
    """The properties the patterns of a definition test: a fact needs no others, and each one
    more costs every alpha node it passes (durable_rules walks all of a fact's properties at
    each node)."""
    tested: set[str] = set()

    def walk(expr: Any, into: set[str]) -> None:
        if isinstance(expr, list):
            for e in expr:
                walk(e, into)
            return
        for key, value in expr.items():
            if key in ("$and", "$or") or (key.startswith("$") and isinstance(value, dict)):
                walk(value, into)
            elif not key.startswith("$"):
                into.add(key)

    for body in definition.values():
        walk(body["all"][0]["m"], tested)
    return frozenset(tested)


class _Ruleset:
    def __init__(self, name: str, definition: dict, lists: Mapping[str, Sequence[str]]):
        """`lists`: the codes of each field whose answers are lists."""
        self.name = name
        # One durable_rules ruleset per kind of fact: after each action the core looks for the
        # next one through every rule of its ruleset, so a witness need not pass the intake's.
        parts = {kind: {rule: body for rule, body in definition.items() if _kind_of(body) == kind}
                 for kind in (WITNESS, INTAKE)}
        self.handles: dict[str, int] = {}
        for kind, part in parts.items():
            try:
                self.handles[kind] = _core.create_ruleset(f"{name}_{kind}", json.dumps(part))
            except _core.error as exc:
                raise EngineError(f"durable_rules could not load the rule base: {exc}") from None
        self.witness_keys = _tested_properties(parts[WITNESS])
        self.intake_keys = _tested_properties(parts[INTAKE])

        def routed(key: str) -> tuple[str, bool, bool]:  # the property, and which kinds test it
            return key, key in self.witness_keys, key in self.intake_keys
        self.list_counts = {name: routed(list_count(name)) for name in lists}
        self.list_keys = {(name, code): routed(list_item(name, code)) for name, codes in lists.items() for code in codes}
        self.sessions = itertools.count()

    def facts(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The witness's and the intake's properties for these values (known answers and
        derived values): a known list as its length plus one flag per code present, unknown
        values absent, and of these only what the patterns of each kind test."""
        witness: dict[str, Any] = {}
        intake: dict[str, Any] = {}
        witness_keys, intake_keys, list_counts, list_keys = (self.witness_keys, self.intake_keys,
                                                             self.list_counts, self.list_keys)
        for name, value in values.items():
            if name in list_counts:
                key, to_witness, to_intake = list_counts[name]
                if to_witness:
                    witness[key] = len(value)
                if to_intake:
                    intake[key] = len(value)
                for code in value:
                    key, to_witness, to_intake = list_keys.get((name, code), _UNTESTED)
                    if to_witness:
                        witness[key] = 1
                    if to_intake:
                        intake[key] = 1
                continue
            if name in witness_keys:
                witness[name] = value
            if name in intake_keys:
                intake[name] = value
        return witness, intake

    def matches(self, values: Mapping[str, Any]) -> set[str]:
        return self.matches_many([values])[0]

    def matches_many(self, many: Sequence[Mapping[str, Any]]) -> list[set[str]]:
        """The durable rules each intake's values match, in one session for all of them.

        Every rule has a single pattern, so facts in one session never combine: each fact's
        matches are the actions that follow its own assertion (all of them are taken before
        the next fact is asserted). Each fact carries its index, so equal intakes are distinct
        facts, and every witness and intake must be seen by its sentinel rule."""
        sid = str(next(self.sessions))
        as_witness = {**GROUPED, "sid": sid, KIND: WITNESS}
        as_intake = {**GROUPED, "sid": sid, KIND: INTAKE}
        witness_rules, intake_rules = self.handles[WITNESS], self.handles[INTAKE]
        with _lock, _signals_deferred():
            try:
                asserted = []  # each intake, with the definitions its witness decided
                for n, values in enumerate(many):
                    witness, intake = self.facts(values)
                    witness.update(as_witness)
                    witness[INDEX] = n
                    witnessed = self._assert(witness_rules, witness)
                    if WITNESSED not in witnessed:
                        raise EngineError("durable_rules did not process the intake")
                    intake.update(as_intake)
                    intake[INDEX] = n
                    for name in witnessed:
                        if name.startswith(DECIDES):
                            intake[name[len(DECIDES):]] = 1
                    asserted.append(intake)
                out = []
                for intake in asserted:
                    fired = self._assert(intake_rules, intake)
                    if SEEN not in fired:
                        raise EngineError("durable_rules did not process the intake")
                    fired.discard(SEEN)
                    out.append(fired)
            except _core.error as exc:
                raise EngineError(f"durable_rules failed on this intake: {exc}") from None
            finally:
                for handle in self.handles.values():
                    _core.delete_state(handle, sid)
        return out

    def _assert(self, handle: int, fact: dict[str, Any]) -> set[str]:
        code, state = _core.assert_fact(handle, orjson.dumps(fact).decode())
        if code != 0:
            raise EngineError(f"durable_rules refused the intake (code {code})")
        fired: set[str] = set()
        result = _core.start_action_for_state(handle, state)
        action = result[1] if result else None
        try:
            while action:
                # An action message is {"<durable rule name>": {...}}; names hold no quotes.
                fired.add(action[2:action.index('"', 2)].partition(PART)[0])
                action = _core.complete_and_start_action(handle, state)
        finally:
            # Interrupted (Ctrl-C) with actions pending: finish them before the session is
            # deleted, or the C core frees memory still in use and aborts the process.
            while action:
                action = _core.complete_and_start_action(handle, state)
        return fired


_DEFERRED = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM handled when a session is over, not during it: an interruption
    between the C core's calls can leave an action half taken, and deleting the session then
    aborts the whole process ("free(): invalid pointer"). Only the main thread runs handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple[int, Any]] = []
    previous: dict[int, Any] = {}
    try:
        for sig in _DEFERRED:
            handler = signal.getsignal(sig)
            if callable(handler):  # a Python handler (Ctrl-C's KeyboardInterrupt): run it later
                previous[sig] = handler
                signal.signal(sig, lambda signum, frame: caught.append((signum, frame)))
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for signum, frame in caught[:1]:
            previous[signum](signum, frame)


def _ruleset_for(rulebase: RuleBase) -> _Ruleset:
    # A ruleset name can be registered only once and never removed: key it by content hash.
    key = rulebase.content_hash
    with _lock:
        if key not in _compiled:
            lists = {name: symbol.values for name, symbol in rulebase.symbols.items() if symbol.kind == "multi"}
            _compiled[key] = _Ruleset(f"supplycheck_{key[:16]}", ruleset_definition(rulebase), lists)
        return _compiled[key]


def matching_rules(rulebase: RuleBase, values: Mapping[str, Any]) -> list[str]:
    """Ids of the rules whose conditions are definitely true for `values` (known answers and
    derived values only), in rule-base order."""
    fired = matching_rules_many(rulebase, [values])[0]
    if isinstance(fired, EngineError):
        raise fired
    return fired


def matching_rules_many(rulebase: RuleBase, many: Sequence[Mapping[str, Any]]) -> list[list[str] | EngineError]:
    """`matching_rules` of each intake's values (or the EngineError of an intake the engine
    failed on), SESSION_SIZE intakes to a session: several times faster than a session each.
    When the engine fails in a session, its intakes are matched again one session each, so
    the failure stays with its own intake."""
    ruleset, order = _ruleset_for(rulebase), rulebase.rule_order
    out: list[list[str] | EngineError] = []
    for start in range(0, len(many), SESSION_SIZE):
        session = many[start:start + SESSION_SIZE]
        try:
            fired: list[set[str] | EngineError] = list(ruleset.matches_many(session))
        except EngineError as exc:
            fired = [exc] if len(session) == 1 else [_alone(ruleset, values) for values in session]
        out.extend(f if isinstance(f, EngineError) else sorted(f, key=order.__getitem__) for f in fired)
    return out


def _alone(ruleset: _Ruleset, values: Mapping[str, Any]) -> set[str] | EngineError:
    try:
        return ruleset.matches(values)
    except EngineError as exc:
        return exc
