"""Checks beyond loading: what a clinician editing the YAML most needs to hear about.

Loading already rejects unknown fields and codes, wrong threshold types and duplicate ids;
lint adds questions that can never be asked, rules that can never fire, conclusions with no
referral, red flags without urgency, what is never used, and hazard-log references that do not
resolve (rulebase/hazards.py). Whether the engine can compile the rule base is the engine's to
say (`core.engine.compile_problems`); `supplycheck rules lint` reports both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..errors import Problem, display_path
from . import conditions as C
from .hazards import check_hazards
from .loader import RuleBase
from .models import Urgency
from .problems import ProblemCode


def lint(rulebase: RuleBase) -> list[Problem]:
    """Every problem found, errors and warnings, in file order."""
    problems = list(rulebase.warnings)

    def at(key: str, kind: ProblemCode, **fields: Any) -> None:
        file, line = rulebase.locations.get(key, (display_path(rulebase.directory), None))
        problems.append(kind.at(file, line, **fields))

    order = list(rulebase.questions)
    for qid, cond in rulebase.ask_when.items():
        if ":" in qid:  # an option's shown_when
            if not satisfiable(cond, rulebase):
                at(qid.split(":")[0], ProblemCode.OPTION_NEVER_SHOWN, option=qid)
            continue
        if not satisfiable(cond, rulebase):
            at(qid, ProblemCode.QUESTION_NEVER_ASKED, question=qid)
        later = [leaf.field for leaf in C.leaves(cond, rulebase.definitions)
                 if any(a in order and order.index(a) >= order.index(qid)
                        for a in rulebase.answers_behind(leaf.field))]
        if later:
            at(qid, ProblemCode.ASK_WHEN_USES_LATER, question=qid, later=", ".join(sorted(set(later))))

    used: dict[str, set[str | None]] = {"red_flags": set(), "factors": set(), "perceived_signs": set(), "next_steps": set()}
    sources: set[str] = set()
    definitions_used: set[str] = set()
    for rule in rulebase.rules:
        m = rule.model
        if not satisfiable(rule.condition, rulebase):
            at(rule.id, ProblemCode.RULE_NEVER_FIRES, rule=rule.id)
        if (m.red_flag or m.factor or m.perceived or m.supply) and not m.refer:
            at(rule.id, ProblemCode.CONCLUSION_WITHOUT_REFERRAL, rule=rule.id)
        if m.red_flag and m.urgency is Urgency.none:
            at(rule.id, ProblemCode.RED_FLAG_WITHOUT_URGENCY, rule=rule.id, red_flag=m.red_flag)
        if not (m.red_flag or m.factor or m.perceived or m.supply or m.refer or m.next_steps):
            at(rule.id, ProblemCode.RULE_CONCLUDES_NOTHING, rule=rule.id)
        used["red_flags"].add(m.red_flag)
        used["factors"].add(m.factor)
        used["perceived_signs"].add(m.perceived)
        used["next_steps"].update(m.next_steps)
        sources.update(m.source)
        definitions_used.update(_refs_deep(rule.condition, rulebase))
    for cond in (*rulebase.ask_when.values(), *rulebase.code_conditions.values()):
        definitions_used.update(_refs_deep(cond, rulebase))

    codes = rulebase.codes
    for table in used:
        for code in getattr(codes, table):
            if code not in used[table]:
                problems.append(ProblemCode.CODE_NEVER_CONCLUDED.at(_file(rulebase, "codes.yaml"), None,
                                                                     table=table, code=code))
    for d in rulebase.derived:
        sources.update(d.source)
    for tag in rulebase.meta.sources:
        if tag not in sources:
            problems.append(ProblemCode.SOURCE_NOT_CITED.at(_file(rulebase, "rulebase.yaml"), None, tag=tag))
    for name in rulebase.definitions:
        if name not in definitions_used:
            at(f"def:{name}", ProblemCode.DEFINITION_UNUSED, name=name)
    problems.extend(check_hazards(rulebase))  # the hazard log names rules: checked with them
    return problems


def _file(rulebase: RuleBase, name: str) -> str:
    return display_path(rulebase.directory / name)


def _refs_deep(cond: C.Condition, rulebase: RuleBase) -> set[str]:
    out: set[str] = set()
    stack = list(C.refs(cond))
    while stack:
        name = stack.pop()
        if name not in out:
            out.add(name)
            stack.extend(C.refs(rulebase.definitions[name]))
    return out


# ---------------------------------------------------------------- satisfiability

@dataclass
class _Field:
    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False
    values: set | None = None  # allowed codes still possible (choice fields)
    excluded: set = field(default_factory=set)
    must_have: set = field(default_factory=set)
    must_lack: set = field(default_factory=set)
    empty: bool | None = None
    known: bool | None = None


def satisfiable(cond: C.Condition, rulebase: RuleBase) -> bool:
    """False only when no answers at all could make the condition definitely true.
    Undecidable (too large) conditions count as satisfiable."""
    terms = C.dnf(C.nnf(cond, rulebase.definitions), limit=5000)
    if terms is None:
        return True
    return any(_term_ok(term, rulebase) for term in terms)


def _term_ok(term: Iterable[C.Leaf], rulebase: RuleBase) -> bool:
    fields: dict[str, _Field] = {}
    for leaf in term:
        sym = rulebase.symbols[leaf.field]
        f = fields.get(leaf.field)
        if f is None:
            f = fields[leaf.field] = _Field()
            if sym.min is not None:
                f.lo = sym.min
            if sym.max is not None:
                f.hi = sym.max
            if sym.kind == "choice" and sym.values:
                f.values = set(sym.values)
        op, v = leaf.op, leaf.value
        if op == "known":
            if f.known is not None and f.known != v:
                return False
            f.known = v
            continue
        if f.known is False:
            return False
        f.known = True
        if op in ("lt", "lte", "gt", "gte") or (sym.numeric and op in ("eq", "ne", "in", "nin")):
            _numeric(f, op, v)
        elif op in ("eq", "in"):
            f.values = (f.values or set()) & ({v} if op == "eq" else set(v))
        elif op in ("ne", "nin"):
            f.excluded |= {v} if op == "ne" else set(v)
        elif op == "contains":
            f.must_have.add(v)
        elif op == "contains_any":
            if not set(v) - f.must_lack:
                return False
        elif op == "lacks":
            f.must_lack.add(v)
        elif op == "lacks_all":
            f.must_lack |= set(v)
        elif op in ("empty", "not_empty"):
            want = op == "empty"
            if f.empty is not None and f.empty != want:
                return False
            f.empty = want
    for name, f in fields.items():
        sym = rulebase.symbols[name]
        if f.known is False:
            continue
        if sym.numeric:
            lo, hi = f.lo, f.hi
            if sym.kind == "integer":
                if math.isfinite(lo):
                    lo = math.floor(lo) + 1 if f.lo_open and float(lo).is_integer() else math.ceil(lo)
                if math.isfinite(hi):
                    hi = math.ceil(hi) - 1 if f.hi_open and float(hi).is_integer() else math.floor(hi)
                if lo > hi:
                    return False
                if lo == hi and lo in f.excluded:
                    return False
            elif lo > hi or (lo == hi and (f.lo_open or f.hi_open or lo in f.excluded)):
                return False
        if f.values is not None and not (f.values - f.excluded):
            return False
        if f.must_have & f.must_lack or (f.empty and f.must_have):
            return False
    return True


def _numeric(f: _Field, op: str, v) -> None:
    if op in ("eq", "in"):
        values = [v] if op == "eq" else list(v)
        lo, hi = min(values), max(values)
        _numeric(f, "gte", lo)
        _numeric(f, "lte", hi)
    elif op in ("ne", "nin"):
        f.excluded |= {v} if op == "ne" else set(v)
    elif op in ("gt", "gte"):
        if v > f.lo or (v == f.lo and op == "gt"):
            f.lo, f.lo_open = v, op == "gt"
    elif op in ("lt", "lte"):
        if v < f.hi or (v == f.hi and op == "lt"):
            f.hi, f.hi_open = v, op == "lt"
