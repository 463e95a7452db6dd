"""Drive the parents' screening as a person would: the keys for each answer, planned from a
scenario (question id -> answer), and a real pseudo-terminal running the installed command.

`plan` walks the interview exactly as the screening does (next_question, evaluate after each
answer) and says, for every question it will ask, which keys answer it, what will be stored,
and which red flags will interrupt after it. A question the scenario leaves out is answered
"Not sure". Used by tests/test_screen*.py and benchmarks/screen_bench.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from pty_session import (  # noqa: F401  (keys re-exported for the screening tests)
    CTRL_C,
    CTRL_D,
    DOWN,
    ENTER,
    LEFT,
    SPACE,
    SUPPLYCHECK,
    UP,
    PtySession,
)

from supplycheck import evaluate
from supplycheck.core import interview
from supplycheck.channels.answer_text import UNSURE_CHOICE, choices_of, parse_number, unsure_value
from supplycheck.rulebase.models import NONE_OF_THESE, UNSURE, FieldType, Question
from supplycheck.channels.parent.screening import red_flags_to_show

STOP = ENTER  # "Stop here and show my summary": the first choice, and the default, after a red flag
CARRY_ON = DOWN + ENTER


def keys_for(question: Question, answer: Any) -> str:
    """The keys that give `answer` (None or absent: "Not sure")."""
    if question.is_numeric:
        return ("not sure" if answer is None else str(answer)) + ENTER
    if question.type is FieldType.multi:
        n = len(question.options)
        if answer is None:
            return DOWN * (n + 1) + SPACE + ENTER
        if list(answer) == [NONE_OF_THESE]:
            return DOWN * n + SPACE + ENTER
        values = [o.value for o in question.options]
        keys, at = "", 0
        for i in sorted(values.index(v) for v in answer):
            keys += DOWN * (i - at) + SPACE
            at = i
        return keys + ENTER
    items = choices_of(question, "parent")
    values = [v for v, _ in items]
    # the cursor starts on a line above the answers that is not one: no answer is a default
    unsure_at = next(i for i, v in enumerate(values) if v in (UNSURE, UNSURE_CHOICE))  # in any language
    target = unsure_at if answer is None or answer == UNSURE else values.index(answer)
    return DOWN * (target + 1) + ENTER


def stored_value(question: Question, answer: Any) -> Any:
    """What the screening stores for `answer` (typed text is parsed as the prompt does)."""
    if answer is None:
        return unsure_value(question)
    if question.is_numeric and isinstance(answer, str):
        return parse_number(question, answer)
    return answer


@dataclass(frozen=True)
class Step:
    field: str
    text: str  # the question, as shown
    position: int
    total: int
    keys: str
    value: Any  # as stored
    red_flags: tuple[str, ...]  # new red flags shown right after this answer


def plan(rulebase, scenario: Mapping[str, Any], *, stop_at_red_flag: bool = False) -> list[Step]:
    answers: dict[str, Any] = {}
    shown: set[str] = set()
    steps: list[Step] = []
    while (q := interview.next_question(rulebase, answers)) is not None:
        progress = interview.progress(rulebase, answers, q)
        shown_as = interview.as_asked(rulebase, q, answers)  # options offered at this point
        given = scenario.get(q.id)
        answers[q.id] = stored_value(q, given)
        result = evaluate(rulebase, interview.relevant_answers(rulebase, answers))
        new = tuple(red_flags_to_show(rulebase, answers, result, shown))
        shown.update(new)
        steps.append(Step(q.id, q.parent, progress.position, progress.total, keys_for(shown_as, given),
                          answers[q.id], new))
        if new and stop_at_red_flag:
            break
    return steps


def answers_after(steps: list[Step]) -> dict[str, Any]:
    return {s.field: s.value for s in steps}


def flow_keys(steps: list[Step], *, stop_at_red_flag: bool = False) -> str:
    """Every key of a whole screening, for a pipe input: answers, and the red-flag prompts."""
    keys = ""
    for s in steps:
        keys += s.keys
        if s.red_flags:
            keys += STOP if stop_at_red_flag else CARRY_ON
    return keys


def question_pattern(step: Step) -> str:
    """A regular expression for the prompt of `step` as the terminal shows it."""
    words = step.text.split()[:4]
    # [3/57], or [3/41–57] while the skip logic may still cut some questions
    return rf"\[{step.position}/[\d–]+\][^\n]*?" + r"\s+".join(re.escape(w) for w in words)


class Pty(PtySession):
    """The installed `supplycheck` in a real pseudo-terminal, 80 columns wide, answering steps."""

    def answer(self, step: Step) -> None:
        self.expect(question_pattern(step))
        self.send(step.keys)

    def carry_on(self) -> None:
        self.expect("arry on with the questions")
        self.send(CARRY_ON)
