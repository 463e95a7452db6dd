"""The interview as data: which question comes next, given the answers so far.

Shared by the parents' screening and the consultants' intake; no input or output here.
Answers are kept raw (`unsure` included); a question answered "not sure" where the field has no
`unsure` value is recorded as None (asked, not known).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from . import derive
from ..errors import IntakeError
from .intake import parse_intake
from ..rulebase import conditions as C
from ..rulebase.loader import RuleBase
from ..rulebase.models import UNSURE, Question, Section


@dataclass(frozen=True)
class Progress:
    section: Section
    position: int  # 1-based position of the current question among those to ask
    total: int  # questions to ask in all, given the answers so far (it changes as they come)

    @property
    def remaining(self) -> int:
        return self.total - self.position


def facts(rulebase: RuleBase, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Known answers (valid ones only) plus derived values: what skip logic can see."""
    known = {}
    for field, value in answers.items():
        q = rulebase.questions.get(field)
        if q is None or value is None or value == UNSURE:
            continue
        try:
            known.update(parse_intake(rulebase, {field: value}).answers)
        except IntakeError:
            continue
    return {**known, **derive.compute(rulebase.derive_functions, known)}


def is_asked(rulebase: RuleBase, question: Question, known: Mapping[str, Any]) -> bool:
    """Asked unless its ask_when is definitely false: an unknown answer never hides a question."""
    cond = rulebase.ask_when.get(question.id)
    return cond is None or C.truth(cond, known, rulebase.definitions) is not False


def as_asked(rulebase: RuleBase, question: Question, answers: Mapping[str, Any]) -> Question:
    """The question with only the options that apply given the answers so far (an option with
    a `shown_when` that is definitely false is left out; an earlier answer is always kept)."""
    known = facts(rulebase, answers)
    given = answers.get(question.id)
    keep = [o for o in question.options
            if o.shown_when is None or o.value == given or (isinstance(given, list) and o.value in given)
            or C.truth(rulebase.ask_when[f"{question.id}:{o.value}"], known, rulebase.definitions) is not False]
    return question if len(keep) == len(question.options) else question.model_copy(update={"options": keep})


def questions_to_ask(rulebase: RuleBase, answers: Mapping[str, Any]) -> list[Question]:
    """Every question that applies given the answers so far, in interview order."""
    known = facts(rulebase, answers)
    return [q for q in rulebase.questions.values() if is_asked(rulebase, q, known)]


def next_question(rulebase: RuleBase, answers: Mapping[str, Any]) -> Question | None:
    """The first applicable question not yet asked (a key in `answers`, even with None)."""
    return next((q for q in questions_to_ask(rulebase, answers) if q.id not in answers), None)


def progress(rulebase: RuleBase, answers: Mapping[str, Any], question: Question) -> Progress:
    todo = questions_to_ask(rulebase, answers)
    ids = [q.id for q in todo]
    position = ids.index(question.id) + 1 if question.id in ids else len(ids)
    return Progress(rulebase.section_of[question.id], position, len(ids))


def relevant_answers(rulebase: RuleBase, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to evaluate: None (not sure) dropped, and answers to questions that no longer
    apply after an earlier answer changed (their ask_when is now definitely false) left out."""
    asked = {q.id for q in questions_to_ask(rulebase, answers)}
    return {k: v for k, v in answers.items() if v is not None and (k in asked or k == "id")}
