"""One evaluator for every channel: raw answers -> validated intake -> derived values ->
durable_rules matching -> the result, with the reasoning behind it."""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

from . import derive, engine
from ..errors import IntakeError
from .intake import Intake, parse_intake
from .result import (
    ErrorItem, Explanation, Factor, NextStep, OpenQuestion, Referral, Result, RuleBaseRef,
)
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
    known = intake.known()
    return {**known, **derive.compute(rulebase.derive_functions, known)}


def evaluate_intake(rulebase: RuleBase, intake: Intake, *, explain: bool = True) -> Result:
    """Evaluate an already validated intake."""
    facts = facts_of(rulebase, intake)
    fired = [rulebase.rules_by_id[i] for i in engine.matching_rules(rulebase, facts)]
    return assemble(rulebase, intake, facts, fired, explain=explain)


def assemble(rulebase: RuleBase, intake: Intake, facts: Mapping[str, Any],
             fired: list[CompiledRule], *, explain: bool = True) -> Result:
    """Turn the rules that fired into a result. Pure: no engine, no I/O."""
    codes = rulebase.codes
    # Most urgent first; ties keep rule-base order (stable sort).
    by_urgency = sorted(fired, key=lambda r: r.model.urgency.rank)

    flags: dict[str, tuple[int, int]] = {}
    for r in by_urgency:
        code = r.model.red_flag
        if code and code not in flags:
            is_mother = codes.red_flags[code].subject == "mother"
            flags[code] = (r.model.urgency.rank, int(is_mother))
    # Most urgent first (the contract's order); at equal urgency the baby's lead the mother's.
    red_flags = sorted(flags, key=lambda c: flags[c])

    evidence = {r.id: _evidence(rulebase, r, facts) for r in fired if explain or r.model.factor}
    factors: dict[str, list[str]] = {}
    for r in fired:
        if r.model.factor:
            fields = factors.setdefault(r.model.factor, [])
            fields.extend(f for f in _answers_behind(rulebase, evidence[r.id], facts) if f not in fields)

    referrals: dict[ReferralTarget, tuple[Urgency, list[str]]] = {}
    for r in by_urgency:
        reason = r.model.red_flag or r.model.factor or r.model.perceived or (
            r.model.supply.value if r.model.supply else r.id)
        for ref in r.model.refer:
            urgency, reasons = referrals.get(ref.to, (ref.urgency, []))
            if ref.urgency.rank < urgency.rank:
                urgency = ref.urgency
            if reason not in reasons:
                reasons.append(reason)
            referrals[ref.to] = (urgency, reasons)
    referral_list = sorted(
        (Referral(to=to, urgency=u, reasons=reasons) for to, (u, reasons) in referrals.items()),
        key=lambda ref: (ref.urgency.rank, list(ReferralTarget).index(ref.to)))
    urgency = referral_list[0].urgency if referral_list else Urgency.none

    pictures = {r.model.supply for r in fired if r.model.supply}
    supply = next((p for p in rulebase.meta.supply_precedence if p in pictures), "unclear")

    steps: dict[str, NextStep] = {}
    for r in by_urgency:
        for code in r.model.next_steps:
            steps.setdefault(code, NextStep(code=code, text=codes.next_steps[code].parent))
    # A step that another one makes redundant is left out ("weigh within 2 days" under "see a
    # doctor today"), so the advice never contradicts its own urgency.
    superseded = {s for code in steps for s in codes.next_steps[code].supersedes}
    steps = {code: step for code, step in steps.items()
             if code not in superseded and _applies(rulebase, f"next_step:{code}", facts)}
    safety_net = [NextStep(code=code, text=entry.parent) for code, entry in codes.safety_net.items()
                  if _applies(rulebase, f"safety_net:{code}", facts)]

    return Result(
        id=intake.id,
        status="scored",
        urgency=urgency,
        supply_picture=supply,
        red_flags=red_flags,
        factors=[Factor(id=code, category=codes.factors[code].category, evidence=fields)
                 for code, fields in factors.items()],
        perceived_signs=list(dict.fromkeys(r.model.perceived for r in fired if r.model.perceived)),
        referrals=referral_list,
        next_steps=list(steps.values()),
        rulebase=rulebase_ref(rulebase),
        safety_net=safety_net,
        explanations=[_explain(r, evidence[r.id]) for r in by_urgency] if explain else [],
        open_questions=open_questions(rulebase, facts, {r.id for r in fired}, urgency) if explain else [],
        warnings=intake.warnings,
    )


def _applies(rulebase: RuleBase, key: str, facts: Mapping[str, Any]) -> bool:
    """A next step or safety-net item applies unless its condition is definitely false."""
    cond = rulebase.code_conditions.get(key)
    return cond is None or C.truth(cond, facts, rulebase.definitions) is not False


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
