"""Drive the parents' screening as a person would: the keys for each answer, planned from a
scenario (question id -> answer), and a real pseudo-terminal running the installed command.

`plan` walks the interview exactly as the screening does (next_question, evaluate after each
answer) and says, for every question it will ask, which keys answer it, what will be stored,
and which red flags will interrupt after it. A question the scenario leaves out is answered
"Not sure". Used by tests/test_screen*.py and benchmarks/screen_bench.py.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from supplycheck import evaluate, interview
from supplycheck.ask import _choices, parse_number, unsure_value
from supplycheck.screen import red_flags_to_show
from supplycheck.rulebase.models import NONE_OF_THESE, UNSURE, FieldType, Question

ENTER, DOWN, UP, LEFT, SPACE = "\r", "\x1b[B", "\x1b[A", "\x1b[D", " "
CTRL_C, CTRL_D = "\x03", "\x04"
SUPPLYCHECK = str(Path(sys.executable).with_name("supplycheck"))

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
    items = _choices(question, "parent")
    labels = [label for _, label in items]
    values = [v for v, _ in items]
    start = labels.index("Not sure")  # where the cursor starts without an earlier answer
    target = start if answer is None or answer == UNSURE else values.index(answer)
    return (DOWN * (target - start) if target >= start else UP * (start - target)) + ENTER


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
    return rf"\[{step.position}/{step.total}\][^\n]*?" + r"\s+".join(re.escape(w) for w in words)


class Pty:
    """The installed `supplycheck` in a real pseudo-terminal (pexpect), 80 columns wide."""

    def __init__(self, *args: str, db: Path, timeout: float = 20, columns: int = 80, env: dict | None = None):
        import pexpect

        # pexpect does not answer cursor-position requests: without NO_CPR prompt_toolkit would
        # wait for the answer after every prompt.
        full_env = dict(os.environ, SUPPLYCHECK_DB=str(db), TERM="xterm-256color",
                        COLUMNS=str(columns), LINES="30", PROMPT_TOOLKIT_NO_CPR="1")
        full_env.pop("NO_COLOR", None)
        full_env.update(env or {})
        self.started = time.perf_counter()
        self.child = pexpect.spawn(SUPPLYCHECK, list(args), env=full_env, encoding="utf-8",
                                   dimensions=(30, columns), timeout=timeout)
        self.transcript: list[str] = []
        self.child.logfile_read = _Collect(self.transcript)

    def expect(self, pattern: str) -> float:
        """Wait for `pattern`; the time it took."""
        start = time.perf_counter()
        self.child.expect(pattern)
        return time.perf_counter() - start

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def answer(self, step: Step) -> None:
        self.expect(question_pattern(step))
        self.send(step.keys)

    def carry_on(self) -> None:
        self.expect("arry on with the questions")
        self.send(CARRY_ON)

    def finish(self) -> int:
        import pexpect

        self.child.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus

    @property
    def text(self) -> str:
        return "".join(self.transcript)

    @property
    def plain(self) -> str:
        """The transcript without terminal escape sequences."""
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]|\r", "", self.text)


class _Collect:
    def __init__(self, into: list[str]):
        self.into = into

    def write(self, data: str) -> None:
        self.into.append(data)

    def flush(self) -> None:
        pass
