"""The condition language: parsed and type-checked at load time, never passed to `eval`.

Semantics (see rules/README.md): a condition is *definitely true*, *definitely false* or
*unknown* (Kleene logic). A leaf on an unknown answer is unknown, except `known:` which is
always definite. Rules fire only when their condition is definitely true; questions are asked
unless their `ask_when` is definitely false.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Collection, Iterator, Mapping, Union

from .problems import ProblemCode

NUMERIC_OPS = ("lt", "lte", "gt", "gte")
LEAF_OPS = ("eq", "ne", "in", "contains", "contains_any", "empty", "known", *NUMERIC_OPS)
COMBINATORS = ("all", "any", "not", "unless", "at_least", "def")


@dataclass(frozen=True)
class Symbol:
    """What a condition may say about one name: its kind, values and numeric range."""

    name: str
    kind: str  # "integer", "number", "choice", "multi"
    values: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    inputs: tuple[str, ...] = ()  # for derived values: the answers they come from

    @property
    def numeric(self) -> bool:
        return self.kind in ("integer", "number")


@dataclass(frozen=True)
class Leaf:
    field: str
    op: str
    value: Any  # its type follows from `op` (a number, a code, a tuple of them, true/false)
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.field} {self.op} {self.value}"


@dataclass(frozen=True)
class All:
    parts: tuple["Condition", ...]


@dataclass(frozen=True)
class Any_:
    parts: tuple["Condition", ...]


@dataclass(frozen=True)
class Not:
    part: "Condition"


@dataclass(frozen=True)
class Unless:
    """True unless the part is definitely true (false or unknown both count): always definite."""

    part: "Condition"


@dataclass(frozen=True)
class AtLeast:
    n: int
    parts: tuple["Condition", ...]


@dataclass(frozen=True)
class Ref:
    name: str
    line: int | None = None


Condition = Union[Leaf, All, Any_, Not, Unless, AtLeast, Ref]


class ConditionError(Exception):
    """A condition that cannot be used: its problem code, the template's fields, and its line."""

    def __init__(self, kind: ProblemCode, line: int | None, **fields: Any):
        self.kind = kind
        self.fields = fields
        self.message = kind.format(**fields)
        self.line = line
        super().__init__(self.message)


# ---------------------------------------------------------------- parsing and type checking

def parse(raw: Any, symbols: Mapping[str, Symbol], definitions: Collection[str] = (),
          line: int | None = None) -> Condition:
    """Parse and type-check one condition. `definitions` only needs the names of definitions."""
    line = getattr(raw, "line", line)
    if not isinstance(raw, Mapping) or not raw:
        raise ConditionError(ProblemCode.CONDITION_NOT_MAPPING, line)
    keys = set(raw)
    if "field" in keys:
        return _parse_leaf(raw, symbols, line)
    if len(keys) != 1 or not keys <= set(COMBINATORS):
        raise ConditionError(ProblemCode.CONDITION_UNKNOWN, line, keys=sorted(keys), combinators=", ".join(COMBINATORS))
    (key,) = keys
    body = raw[key]
    if key == "def":
        if body not in definitions:
            raise ConditionError(ProblemCode.UNKNOWN_DEFINITION, line, name=body)
        return Ref(body, line)
    if key == "not":
        return Not(parse(body, symbols, definitions, line))
    if key == "unless":
        return Unless(parse(body, symbols, definitions, line))
    if key == "at_least":
        if not isinstance(body, Mapping) or set(body) != {"n", "of"}:
            raise ConditionError(ProblemCode.AT_LEAST_SHAPE, line)
        parts = _parse_list(body["of"], symbols, definitions, line, "at_least.of")
        n = body["n"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(parts):
            raise ConditionError(ProblemCode.AT_LEAST_COUNT, line, most=len(parts))
        return AtLeast(n, parts)
    parts = _parse_list(body, symbols, definitions, line, key)
    return All(parts) if key == "all" else Any_(parts)


def _parse_list(body: Any, symbols: Mapping[str, Symbol], definitions: Collection[str], line: int | None,
                what: str) -> tuple[Condition, ...]:
    if not isinstance(body, list) or not body:
        raise ConditionError(ProblemCode.EMPTY_CONDITION_LIST, line, combinator=what)
    lines = getattr(body, "item_lines", [line] * len(body))
    return tuple(parse(item, symbols, definitions, ln) for item, ln in zip(body, lines))


def _parse_leaf(raw: Mapping, symbols: Mapping[str, Symbol], line: int | None) -> Leaf:
    name = raw["field"]
    ops = [k for k in raw if k != "field"]
    if len(ops) != 1 or ops[0] not in LEAF_OPS:
        raise ConditionError(ProblemCode.TEST_NEEDS_ONE_OP, line, field=name, ops=", ".join(LEAF_OPS),
                             got=ops or "none")
    (op,) = ops
    if name not in symbols:
        raise ConditionError(ProblemCode.UNKNOWN_FIELD, line, field=name)
    sym = symbols[name]
    value = raw[op]
    _check_value(sym, op, value, line)
    if isinstance(value, list):
        value = tuple(value)
    return Leaf(name, op, value, line)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_value(sym: Symbol, op: str, value: Any, line: int | None) -> None:
    def fail(expected: str) -> None:
        raise ConditionError(ProblemCode.WRONG_TYPE, line, field=sym.name, op=op, value=value, expected=expected)

    def check_code(v: Any) -> None:
        if v == "unsure":
            raise ConditionError(ProblemCode.UNSURE_NEVER_MATCHES, line, field=sym.name, op=op)
        if v not in sym.values:
            raise ConditionError(ProblemCode.UNKNOWN_VALUE, line, field=sym.name, op=op, value=v,
                                 allowed=", ".join(sym.values))

    if op == "known":
        if not isinstance(value, bool):
            fail("true or false")
    elif op == "empty":
        if sym.kind != "multi":
            raise ConditionError(ProblemCode.LIST_ONLY_OP, line, field=sym.name, op=op)
        if value is not True:
            fail("true (use not: for 'not empty')")
    elif op in ("contains", "contains_any"):
        if sym.kind != "multi":
            raise ConditionError(ProblemCode.LIST_ONLY_OP, line, field=sym.name, op=op)
        items = [value] if op == "contains" else value
        if op == "contains_any" and (not isinstance(value, list) or not value):
            fail("a non-empty list of codes")
        for v in items:
            check_code(v)
    elif sym.kind == "multi":
        raise ConditionError(ProblemCode.LIST_COMPARED, line, field=sym.name)
    elif op in NUMERIC_OPS:
        if not sym.numeric:
            raise ConditionError(ProblemCode.NOT_A_NUMBER, line, field=sym.name, op=op)
        if not _is_number(value):
            fail("a number")
    elif op in ("eq", "ne"):
        if sym.numeric:
            if not _is_number(value):
                fail("a number")
        else:
            check_code(value)
    elif op == "in":
        if not isinstance(value, list) or not value:
            fail("a non-empty list")
        for v in value:
            if sym.numeric:
                if not _is_number(v):
                    fail("a list of numbers")
            else:
                check_code(v)


# ---------------------------------------------------------------- three-valued evaluation

def truth(cond: Condition, facts: Mapping[str, Any], definitions: Mapping[str, Condition]) -> bool | None:
    """True, False, or None (unknown). `facts` holds only known values (no `unsure`, no None)."""
    if isinstance(cond, Leaf):
        return _leaf_truth(cond, facts)
    if isinstance(cond, Ref):
        return truth(definitions[cond.name], facts, definitions)
    if isinstance(cond, Not):
        t = truth(cond.part, facts, definitions)
        return None if t is None else not t
    if isinstance(cond, Unless):
        return truth(cond.part, facts, definitions) is not True
    values = [truth(p, facts, definitions) for p in cond.parts]
    if isinstance(cond, All):
        return False if False in values else (None if None in values else True)
    if isinstance(cond, Any_):
        return True if True in values else (None if None in values else False)
    # AtLeast
    yes, unknown = values.count(True), values.count(None)
    if yes >= cond.n:
        return True
    return None if yes + unknown >= cond.n else False


def _leaf_truth(leaf: Leaf, facts: Mapping[str, Any]) -> bool | None:
    present = leaf.field in facts
    if leaf.op == "known":
        return present == leaf.value
    if not present:
        return None
    v = facts[leaf.field]
    op, ref = leaf.op, leaf.value
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
        return len(v) == 0
    raise AssertionError(op)


def supporting(cond: Condition, facts: Mapping[str, Any], definitions: Mapping[str, Condition]) -> Iterator[Leaf]:
    """The leaves that make a definitely-true condition true: the evidence behind a finding."""
    if isinstance(cond, Leaf):
        if _leaf_truth(cond, facts) is True:
            yield cond
    elif isinstance(cond, Ref):
        yield from supporting(definitions[cond.name], facts, definitions)
    elif isinstance(cond, (Not, Unless)):
        # "not X" holds because X is definitely false: every known leaf under X took part.
        yield from (leaf for leaf in leaves(cond.part, definitions) if leaf.field in facts)
    elif isinstance(cond, All):
        for part in cond.parts:
            yield from supporting(part, facts, definitions)
    else:
        for part in cond.parts:
            if truth(part, facts, definitions) is True:
                yield from supporting(part, facts, definitions)


def leaves(cond: Condition, definitions: Mapping[str, Condition]) -> Iterator[Leaf]:
    """Every leaf of a condition, definitions expanded."""
    if isinstance(cond, Leaf):
        yield cond
    elif isinstance(cond, Ref):
        yield from leaves(definitions[cond.name], definitions)
    elif isinstance(cond, (Not, Unless)):
        yield from leaves(cond.part, definitions)
    else:
        for part in cond.parts:
            yield from leaves(part, definitions)


def refs(cond: Condition) -> Iterator[str]:
    """Names of the definitions a condition uses directly."""
    if isinstance(cond, Ref):
        yield cond.name
    elif isinstance(cond, (Not, Unless)):
        yield from refs(cond.part)
    elif not isinstance(cond, Leaf):
        for part in cond.parts:
            yield from refs(part)


# ---------------------------------------------------------------- negation normal form

_NEGATED_OP = {"eq": "ne", "ne": "eq", "lt": "gte", "gte": "lt", "gt": "lte", "lte": "gt"}


def nnf(cond: Condition, definitions: Mapping[str, Condition], negate: bool = False,
        weak: bool = False, refs_as_atoms: bool = False) -> Condition:
    """Push negations down to the leaves and expand definitions.

    Under Kleene logic `not` of a leaf is "known and the test fails", so every negated leaf
    becomes a positive leaf with its own op; `nin`, `lacks`, `lacks_all` and `not_empty` are
    internal ops that exist only in this form. With `weak` (under `unless`) the result is true when
    the condition is *not definitely false*: a leaf then also holds when its field is unknown.

    With `refs_as_atoms`, definitions are not expanded: `{def: x}` becomes a leaf on the internal
    field `def:x` whose op says which truth of x it needs (`def_true`, `def_false`,
    `def_not_true`, `def_not_false`).
    """
    def again(c: Condition, neg: bool = negate, wk: bool = weak) -> Condition:
        return nnf(c, definitions, neg, wk, refs_as_atoms)

    if isinstance(cond, Ref):
        if refs_as_atoms:
            op = {(False, False): "def_true", (True, False): "def_false",
                  (False, True): "def_not_false", (True, True): "def_not_true"}[(negate, weak)]
            return Leaf(f"def:{cond.name}", op, True, cond.line)
        return again(definitions[cond.name])
    if isinstance(cond, Not):
        return again(cond.part, not negate)
    if isinstance(cond, Unless):
        if negate:  # not(unless X) == X definitely true
            return again(cond.part, False, False)
        return again(cond.part, True, True)
    if isinstance(cond, Leaf):
        strong = _negate_leaf(cond) if negate else cond
        if weak and cond.op != "known":
            # "not definitely false": the test holds, or its field is unknown.
            return Any_((strong, Leaf(cond.field, "known", False, cond.line)))
        return strong
    if isinstance(cond, AtLeast):
        parts = tuple(again(p) for p in cond.parts)
        # not(at least n of k)  ==  at least k-n+1 of the negations
        n = len(parts) - cond.n + 1 if negate else cond.n
        return Any_(tuple(All(combo) for combo in itertools.combinations(parts, n)))
    parts = tuple(again(p) for p in cond.parts)
    is_all = isinstance(cond, All) != negate
    return All(parts) if is_all else Any_(parts)


def _negate_leaf(cond: Leaf) -> Leaf:
    """Strong negation of a leaf: its field is known and the test fails."""
    op, value = cond.op, cond.value
    if op in _NEGATED_OP:
        return Leaf(cond.field, _NEGATED_OP[op], value, cond.line)
    if op == "known":
        return Leaf(cond.field, "known", not value, cond.line)
    internal = {"in": "nin", "contains": "lacks", "contains_any": "lacks_all", "empty": "not_empty"}
    return Leaf(cond.field, internal[op], value, cond.line)


def dnf(cond: Condition, limit: int = 20000) -> list[tuple[Leaf, ...]] | None:
    """Disjunctive normal form of an NNF condition; None if it would exceed `limit` terms."""
    if isinstance(cond, Leaf):
        return [(cond,)]
    if isinstance(cond, Any_):
        out: list[tuple[Leaf, ...]] = []
        for part in cond.parts:
            sub = dnf(part, limit)
            if sub is None:
                return None
            out.extend(sub)
            if len(out) > limit:
                return None
        return out
    terms: list[tuple[Leaf, ...]] = [()]
    for part in cond.parts:
        sub = dnf(part, limit)
        if sub is None or len(terms) * len(sub) > limit:
            return None
        terms = [a + b for a in terms for b in sub]
    return terms
