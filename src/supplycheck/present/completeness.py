"""What a saved screening or intake has covered, decided once for every place that shows it
(`intake list`, `intake show`, `--explain`, the live panel and the referral letter).

A finished intake may have been finished early. Then "no secondary factors" can mean two
different things: none was found in questions that were asked, or the questions that could
show one were never asked. `assess` tells them apart: for each kind of finding it lists the
questions that apply, were not asked (or were answered "not sure"), and sit under a rule that
is still undecided, so that their answer could still show a finding of that kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from ..core import interview
from ..rulebase import conditions as C
from ..rulebase.loader import RuleBase
from ..rulebase.models import UNSURE

Kind = Literal["red_flag", "primary", "secondary", "perceived"]
KINDS: tuple[Kind, ...] = ("red_flag", "primary", "secondary", "perceived")


@dataclass(frozen=True)
class Completeness:
    """Which of the questions that apply were answered, answered "not sure", or never asked;
    and, for each kind of finding, the unknown questions that could still show one."""

    applicable: tuple[str, ...]  # the questions that apply given the answers, interview order
    answered: tuple[str, ...]  # ... answered with a known value
    not_sure: tuple[str, ...]  # ... asked, and answered "not sure"
    not_asked: tuple[str, ...]  # ... never asked
    finished: bool = False
    could_show: dict[str, tuple[str, ...]] = field(default_factory=dict)  # kind -> questions

    @property
    def complete(self) -> bool:
        return not self.not_asked

    @property
    def finished_early(self) -> bool:
        return self.finished and not self.complete

    @property
    def state(self) -> Literal["finished", "finished early", "open"]:
        if not self.finished:
            return "open"
        return "finished" if self.complete else "finished early"

    def short(self) -> str:
        """The state in a few words, for a list: `open, 44 to go`, `finished early, 40 not
        asked`, `finished`."""
        if self.state == "open":
            return f"open, {len(self.not_asked)} to go"
        if self.state == "finished early":
            return f"finished early, {len(self.not_asked)} not asked"
        return "finished"

    def sentence(self) -> str:
        """The state as a sentence, for a header or a letter."""
        n, total = len(self.not_asked), len(self.applicable)
        if self.state == "finished":
            return f"Finished: all {total} questions that apply were asked."
        if self.state == "finished early":
            return (f"Finished early: {n} of the {total} questions that apply were not asked, so "
                    "findings that rest on them are unknown, not absent.")
        return f"Open: {total - n} of {total} questions answered, {n} to go."

    def unknown(self, kind: Kind) -> tuple[str, ...]:
        """The questions not asked or answered "not sure" that could still show a finding of
        this kind (empty: nothing of this kind can still be found)."""
        return self.could_show.get(kind, ())

    @property
    def unknowns(self) -> tuple[str, ...]:
        """Every question whose answer could still show a finding, in interview order."""
        wanted = {f for fields in self.could_show.values() for f in fields}
        return tuple(f for f in self.applicable if f in wanted)


def assess(rulebase: RuleBase, answers: Mapping[str, Any], *, finished: bool = False) -> Completeness:
    """What `answers` cover, given the interview's skip logic and the rules."""
    applicable = tuple(q.id for q in interview.questions_to_ask(rulebase, answers))
    known = interview.facts(rulebase, answers)
    not_asked = tuple(f for f in applicable if f not in answers)
    not_sure = tuple(f for f in applicable if f in answers and (answers[f] is None or answers[f] == UNSURE))
    answered = tuple(f for f in applicable if f in answers and f not in not_sure)
    open_fields = set(not_asked) | set(not_sure)
    could_show: dict[str, list[str]] = {}
    for rule in rulebase.rules:
        kind = _kind(rulebase, rule.model)
        if kind is None or C.truth(rule.condition, known, rulebase.definitions) is not None:
            continue  # decided (fired or cannot fire), or concludes no finding
        for leaf in C.leaves(rule.condition, rulebase.definitions):
            for answer in rulebase.answers_behind(leaf.field):
                if answer in open_fields and answer not in could_show.setdefault(kind, []):
                    could_show[kind].append(answer)
    order = {f: i for i, f in enumerate(applicable)}
    return Completeness(
        applicable, answered, not_sure, not_asked, finished,
        {k: tuple(sorted(v, key=order.__getitem__)) for k, v in could_show.items() if v})


def _kind(rulebase: RuleBase, rule: Any) -> Kind | None:
    if rule.red_flag:
        return "red_flag"
    if rule.factor:
        return rulebase.codes.factors[rule.factor].category.value  # type: ignore[return-value]
    if rule.perceived:
        return "perceived"
    return None


def questions_left(rulebase: RuleBase, answers: Mapping[str, Any]) -> tuple[int, int]:
    """How many questions are still to come, as (fewest, most), following the skip logic.

    The fewest and the most left after any one answer to a question that decides what is
    skipped or asked (how the baby is fed, the baby's age, a weight ...), or with none of them
    answered. An honest range, not a promise."""
    def left(given: Mapping[str, Any]) -> int:
        return sum(1 for q in interview.questions_to_ask(rulebase, given) if q.id not in answers)

    counts = [left(answers)]
    for gate in _gates(rulebase):
        if gate in answers:
            continue
        q = rulebase.questions[gate]
        values = [q.min, q.max] if q.is_numeric else [v for v in q.values if v != UNSURE]
        for value in values:
            if value is not None:
                counts.append(left({**answers, gate: [value] if q.type.value == "multi" else value}))
    # Some questions only follow a known answer (the age at a weighing follows the weight, an
    # earlier weighing's age follows that weighing): with every such answer still to come given,
    # all of them are counted in the most.
    opened = dict(answers)
    for q in rulebase.questions.values():
        gate = q.ask_when.get("field") if isinstance(q.ask_when, dict) and q.ask_when.get("known") else None
        if gate in rulebase.questions and gate not in answers and rulebase.questions[gate].is_numeric:
            opened[gate] = rulebase.questions[gate].min
    counts.append(left(opened))
    return min(counts), max(counts)


def _gates(rulebase: RuleBase) -> tuple[str, ...]:
    """The questions whose answers decide which later questions are asked."""
    cached = getattr(rulebase, "_supplycheck_gates", None)
    if cached is None:
        cached = tuple(dict.fromkeys(
            a for key, cond in rulebase.ask_when.items() if ":" not in key
            for leaf in C.leaves(cond, rulebase.definitions)
            for a in rulebase.answers_behind(leaf.field) if a in rulebase.questions))
        object.__setattr__(rulebase, "_supplycheck_gates", cached)
    return cached
