"""One evaluator for every channel: raw answers -> validated intake -> derived values ->
durable_rules matching -> the result, with the reasoning behind it."""

from __future__ import annotations

import itertools
import operator
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple

from . import derive, engine
from ..errors import IntakeError
from .intake import Intake, parse_intake
from .result import ErrorItem, Explanation, OpenQuestion, Result, RuleBaseRef
from ..rulebase import conditions as C
from ..rulebase.loader import CompiledRule, RuleBase
from ..rulebase.models import ReferralTarget, Urgency


def rulebase_ref(rulebase: RuleBase) -> RuleBaseRef:
    return RuleBaseRef(name=rulebase.name, version=rulebase.version, hash=rulebase.content_hash)


def evaluate(rulebase: RuleBase, answers: Mapping[str, Any], *, explain: bool = True) -> Result:
    """Evaluate one intake (a mapping of contract field -> value).

    Never raises for bad values: an invalid intake gives a result with status `error` and one
    error per bad field. With `explain=False` the result leaves out `explanations` and
    `open_questions` (the contract's fields are the same; batch scoring uses this).
    """
    try:
        intake = parse_intake(rulebase, answers)
    except IntakeError as exc:
        raw_id = answers.get("id")
        return Result(
            id=None if raw_id in (None, "") else str(raw_id), status="error",
            errors=[ErrorItem(**e.as_dict()) for e in exc.errors], rulebase=rulebase_ref(rulebase))
    return evaluate_intake(rulebase, intake, explain=explain)


def evaluate_many(rulebase: RuleBase, records: Iterable[Mapping[str, Any]], *,
                  explain: bool = False) -> Iterator[Result]:
    """Evaluate intakes lazily, one result per record, in order."""
    for record in records:
        yield evaluate(rulebase, record, explain=explain)


def facts_of(rulebase: RuleBase, intake: Intake) -> dict[str, Any]:
    """Known answers plus every derived value that can be computed from them."""
    facts = intake.known()
    facts.update(derive.compute(rulebase.derive_functions, facts))
    return facts


def evaluate_intake(rulebase: RuleBase, intake: Intake, *, explain: bool = True) -> Result:
    """Evaluate an already validated intake."""
    facts = facts_of(rulebase, intake)
    fired = [rulebase.rules_by_id[i] for i in engine.matching_rules(rulebase, facts)]
    return assemble(rulebase, intake, facts, fired, explain=explain)


def assemble(rulebase: RuleBase, intake: Intake, facts: Mapping[str, Any],
             fired: list[CompiledRule], *, explain: bool = True) -> Result:
    """Turn the rules that fired into a result. Pure: no engine, no I/O."""
    found = conclusions(rulebase, facts, [r.id for r in fired])
    safety_net = found.pop("safety_net")
    by_urgency = sorted(fired, key=lambda r: r.model.urgency.rank) if explain else []
    return Result(
        id=intake.id,
        status="scored",
        **found,
        rulebase=rulebase_ref(rulebase),
        safety_net=safety_net,
        explanations=[_explain(r, _evidence(rulebase, r, facts)) for r in by_urgency],
        open_questions=open_questions(rulebase, facts, {r.id for r in fired}, Urgency(found["urgency"])) if explain else [],
        warnings=intake.warnings,
    )


_MISSING = object()
_CACHE_SIZE = 50_000  # answers remembered per rule or condition, before starting again


class _Remembered:
    """`compute(facts)`, remembered by the values in `facts` of the only `names` it depends on:
    a batch asks the same of every intake, and most share those few values."""

    __slots__ = ("names", "compute", "cache")

    def __init__(self, names: Iterable[str], compute: Callable[[Mapping[str, Any]], Any]):
        self.names = tuple(dict.fromkeys(names))
        self.compute = compute
        self.cache: dict[tuple, Any] = {}

    def __call__(self, facts: Mapping[str, Any]) -> Any:
        values = tuple(map(facts.get, self.names, _NONES))
        try:
            found = self.cache.get(values, _MISSING)
        except TypeError:  # a list among them
            values = tuple(tuple(v) if type(v) is list else v for v in values)
            found = self.cache.get(values, _MISSING)
        if found is _MISSING:
            if len(self.cache) >= _CACHE_SIZE:
                self.cache.clear()
            found = self.cache[values] = self.compute(facts)
        return found


_NONES = itertools.repeat(_MISSING)  # the default of each `facts.get` in _Remembered


class _Concludes(NamedTuple):
    """What one rule concludes, worked out once per rule base for `conclusions`."""

    rule: CompiledRule
    rank: int  # of its urgency (0 is the most urgent)
    red_flag: str | None
    flag_order: tuple[int, int]  # most urgent first; at equal urgency the baby's before the mother's
    factor: str | None
    category: str | None
    perceived: str | None
    supply: str | None
    reason: str  # what its referrals give as their reason
    refer: tuple[tuple[str, int], ...]  # (to, urgency rank)
    next_steps: tuple[str, ...]
    evidence: _Remembered | None  # of a factor rule: the answers behind it (see _factor_answers)


class _Advice(NamedTuple):
    """A next step or safety-net item: its text, and whether it applies (None: always)."""

    text: str
    applies: _Remembered | None
    supersedes: tuple[str, ...] = ()


class _Tables(NamedTuple):
    rules: dict[str, _Concludes]
    next_steps: dict[str, _Advice]
    safety_net: dict[str, _Advice]


def _tables(rulebase: RuleBase) -> _Tables:
    """What `conclusions` needs of the rule base, worked out on first use and kept with it."""
    tables = rulebase.__dict__.get("_conclusion_tables")
    if tables is None:
        codes = rulebase.codes
        rules = {}
        for r in rulebase.rules:
            m = r.model
            rank = m.urgency.rank
            rules[r.id] = _Concludes(
                rule=r, rank=rank, red_flag=m.red_flag,
                flag_order=(rank, int(m.red_flag is not None and codes.red_flags[m.red_flag].subject == "mother")),
                factor=m.factor, category=codes.factors[m.factor].category.value if m.factor else None,
                perceived=m.perceived, supply=m.supply.value if m.supply else None,
                reason=m.red_flag or m.factor or m.perceived or (m.supply.value if m.supply else r.id),
                refer=tuple((ref.to.value, ref.urgency.rank) for ref in m.refer),
                next_steps=tuple(m.next_steps),
                evidence=_factor_answers(rulebase, r) if m.factor else None)
        tables = rulebase.__dict__["_conclusion_tables"] = _Tables(
            rules,
            {code: _Advice(entry.parent, _applies(rulebase, f"next_step:{code}"), tuple(entry.supersedes))
             for code, entry in codes.next_steps.items()},
            {code: _Advice(entry.parent, _applies(rulebase, f"safety_net:{code}"))
             for code, entry in codes.safety_net.items()})
    return tables


_by_rank = operator.attrgetter("rank")
_URGENCIES = [u.value for u in Urgency]  # by rank
_TARGETS = {t.value: i for i, t in enumerate(ReferralTarget)}


def conclusions(rulebase: RuleBase, facts: Mapping[str, Any], fired: list[str]) -> dict[str, Any]:
    """The findings of the rules that fired (their ids, in rule-base order), as the contract's
    fields, JSON-ready and in the contract's order: urgency, supply_picture, red_flags, factors,
    perceived_signs, referrals, next_steps, and then safety_net (which the contract puts after
    `rulebase`). Whatever is ordered by urgency takes the most urgent rule first, ties in
    rule-base order. A next step or safety-net item whose condition is definitely false for
    these facts is left out."""
    tables = _tables(rulebase)
    rules = [tables.rules[rule_id] for rule_id in fired]
    by_urgency = sorted(rules, key=_by_rank)

    flags: dict[str, tuple[int, int]] = {}
    referrals: dict[str, tuple[int, list[str]]] = {}
    steps: list[str] = []
    for c in by_urgency:
        if c.red_flag and c.red_flag not in flags:
            flags[c.red_flag] = c.flag_order
        for to, rank in c.refer:
            best, reasons = referrals.get(to, (rank, []))
            if c.reason not in reasons:
                reasons.append(c.reason)
            referrals[to] = (min(best, rank), reasons)
        for code in c.next_steps:
            if code not in steps:
                steps.append(code)

    factors: dict[str, tuple[str, list[str]]] = {}
    perceived: list[str] = []
    pictures: set[str] = set()
    for c in rules:
        if c.evidence is not None:
            _, fields = factors.setdefault(c.factor, (c.category, []))
            fields.extend(f for f in c.evidence(facts) if f not in fields)
        if c.perceived and c.perceived not in perceived:
            perceived.append(c.perceived)
        if c.supply:
            pictures.add(c.supply)

    referral_list = sorted(referrals.items(), key=lambda item: (item[1][0], _TARGETS[item[0]]))
    # A step that another one makes redundant is left out ("weigh within 2 days" under "see a
    # doctor today"), so the advice never contradicts its own urgency.
    advice = [(code, tables.next_steps[code]) for code in steps]
    superseded = {s for _, step in advice for s in step.supersedes}
    return {
        "urgency": _URGENCIES[referral_list[0][1][0]] if referral_list else Urgency.none.value,
        "supply_picture": next((p.value for p in rulebase.meta.supply_precedence if p.value in pictures), "unclear"),
        "red_flags": sorted(flags, key=flags.__getitem__),
        "factors": [{"id": code, "category": category, "evidence": fields}
                    for code, (category, fields) in factors.items()],
        "perceived_signs": perceived,
        "referrals": [{"to": to, "urgency": _URGENCIES[rank], "reasons": reasons}
                      for to, (rank, reasons) in referral_list],
        "next_steps": [{"code": code, "text": step.text} for code, step in advice
                       if code not in superseded and (step.applies is None or step.applies(facts))],
        "safety_net": [{"code": code, "text": item.text} for code, item in tables.safety_net.items()
                       if item.applies is None or item.applies(facts)],
    }


def _factor_answers(rulebase: RuleBase, rule: CompiledRule) -> _Remembered:
    """The answers behind a factor rule that fired, remembered by the values of the facts its
    evidence can depend on (its leaves' fields, what they are derived from, and the answers
    behind those)."""
    def fields() -> Iterator[str]:
        for leaf in C.leaves(rule.condition, rulebase.definitions):
            for name in (leaf.field, *rulebase.symbols[leaf.field].inputs):
                yield name
                yield from rulebase.answers_behind(name)

    return _Remembered(fields(), lambda facts: _answers_behind(rulebase, _evidence(rulebase, rule, facts), facts))


def _applies(rulebase: RuleBase, key: str) -> _Remembered | None:
    """Whether a next step or safety-net item applies: unless its condition is definitely
    false (None: it has no condition, it always applies)."""
    cond = rulebase.code_conditions.get(key)
    if cond is None:
        return None
    return _Remembered((leaf.field for leaf in C.leaves(cond, rulebase.definitions)),
                       lambda facts: C.truth(cond, facts, rulebase.definitions) is not False)


def _evidence(rulebase: RuleBase, rule: CompiledRule, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The answers and derived values that made the rule fire; a derived value brings the
    answers it was computed from."""
    evidence: dict[str, Any] = {}
    for leaf in C.supporting(rule.condition, facts, rulebase.definitions):
        for name in (leaf.field, *rulebase.symbols[leaf.field].inputs):
            if name in facts:
                evidence.setdefault(name, facts[name])
            elif leaf.op == "known" and leaf.value is False and name in rulebase.questions:
                evidence.setdefault(name, None)  # "not known" is the evidence (worst plausible age)
    return evidence


def _answers_behind(rulebase: RuleBase, evidence: Mapping[str, Any], facts: Mapping[str, Any]) -> list[str]:
    """The answers (given ones only) behind evidence that may include derived values."""
    out: list[str] = []
    for name in evidence:
        out.extend(a for a in rulebase.answers_behind(name) if a in facts and a not in out)
    return out


def _explain(rule: CompiledRule, evidence: dict[str, Any]) -> Explanation:
    m = rule.model
    concludes = [x for x in (
        m.red_flag and f"red_flag:{m.red_flag}", m.factor and f"factor:{m.factor}",
        m.perceived and f"perceived:{m.perceived}", m.supply and f"supply:{m.supply.value}",
    ) if x] + [f"refer:{ref.to.value}:{ref.urgency.value}" for ref in m.refer]
    return Explanation(rule=rule.id, concludes=concludes, evidence=evidence, source=m.source,
                       says=m.says.parent, clinical=m.says.clinical)


def open_questions(rulebase: RuleBase, facts: Mapping[str, Any], fired: set[str],
                   urgency: Urgency) -> list[OpenQuestion]:
    """Unanswered questions that could make the result more urgent: those under a rule that has
    not fired, would be more urgent than the result, and is still undecided (neither true nor
    false) given what is known. Where a question is a rule's only unknown, its answer alone
    could raise the urgency (`alone_could_raise_to`)."""
    found: dict[str, tuple[Urgency, list[str], Urgency | None]] = {}
    skipped = {q for q, cond in rulebase.ask_when.items()
               if ":" not in q and C.truth(cond, facts, rulebase.definitions) is False}  # never asked: not open
    for rule in rulebase.rules:
        rule_urgency = rule.model.urgency
        if rule.id in fired or rule_urgency.rank >= urgency.rank:
            continue
        if C.truth(rule.condition, facts, rulebase.definitions) is not None:
            continue
        unknown = list(dict.fromkeys(
            answer for leaf in C.leaves(rule.condition, rulebase.definitions)
            for answer in rulebase.answers_behind(leaf.field)
            if answer not in facts and answer in rulebase.questions and answer not in skipped))
        for answer in unknown:
            best, rules, alone = found.get(answer, (rule_urgency, [], None))
            best = min(best, rule_urgency, key=lambda u: u.rank)
            if len(unknown) == 1 or (rule_urgency.rank <= Urgency.same_day.rank
                                     and _alone_could_decide(rulebase, rule.condition, facts, answer)):
                alone = rule_urgency if alone is None else min(alone, rule_urgency, key=lambda u: u.rank)
            if rule.id not in rules:
                rules.append(rule.id)
            found[answer] = (best, rules, alone)
    order = list(rulebase.questions)
    return [OpenQuestion(field=f, could_raise_to=u, rules=rules, alone_could_raise_to=alone)
            for f, (u, rules, alone) in sorted(found.items(), key=lambda kv: (kv[1][0].rank, order.index(kv[0])))]


def _alone_could_decide(rulebase: RuleBase, cond: C.Condition, facts: Mapping[str, Any], answer: str) -> bool:
    """Whether some answer to `answer`, the others staying as they are, makes `cond` definitely
    true (an unsure fever with an unknown temperature alone could make it an emergency). Only
    for answers no derived value is computed from; the others count as alone when they are a
    rule's only unknown."""
    if any(answer in s.inputs for s in rulebase.symbols.values()):
        return False
    sym = rulebase.symbols[answer]
    if sym.kind == "multi":
        candidates: list[Any] = [[code] for code in sym.values]
    elif sym.numeric:
        limits = {leaf.value for leaf in C.leaves(cond, rulebase.definitions)
                  if leaf.field == answer and isinstance(leaf.value, (int, float))}
        candidates = [t + d for t in limits for d in (-0.01, 0, 0.01)
                      if (sym.min is None or t + d >= sym.min) and (sym.max is None or t + d <= sym.max)]
    else:
        candidates = list(sym.values)
    return any(C.truth(cond, {**facts, answer: v}, rulebase.definitions) is True for v in candidates)
