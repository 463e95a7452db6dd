"""The parents' screening without its terminal: the state of a screening in progress (its
answers, Back, the red flags already shown), which red flags interrupt and when, how many
questions are left in words, saving the summary in the format a file name asks for, and the
same flow replayed from a file of answers. Pure, or writing only to the store and the file it
is given; the prompts and panels that show it are in `screen.py`.

Everything clinical comes from the core: `interview` says which question is next, `evaluate`
decides, `summary.build` words the result. Every answer is saved in the store the moment it is
given, so a killed terminal loses at most the answer being typed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Mapping

from ...core import interview
from ...core.evaluate import evaluate
from ...core.intake import parse_intake
from ...core.result import Result
from ...errors import FieldError, IntakeError, SupplycheckError
from ...i18n import tr
from ...present import formats
from ...present import summary as summary_mod
from ...present.formats import OutputFormat
from ...rulebase.loader import RuleBase
from ...rulebase.models import NONE_OF_THESE
from ...storage.atomic import write_atomic
from ...storage.store import DuplicateRefError, Store, new_ref

SECONDS_PER_QUESTION = 8  # for the "about N minutes" in the welcome


class ScreenError(SupplycheckError):
    """A screening cannot run as asked (no terminal, an unreadable answers file, ...)."""


class AnswersFileError(ScreenError):
    def __init__(self, path: Path, detail: str):
        self.path = path
        self.detail = detail
        super().__init__(f"{path}: {detail}")


class SaveFormatError(ScreenError):
    def __init__(self, path: Path):
        self.path = path
        super().__init__(tr("{path}: cannot tell the format from the extension; use .md, .html or .json").format(path=path))


class Ending(str, Enum):
    finished = "finished"  # every question asked
    stopped = "stopped"  # stopped after a red flag: summary of the answers so far
    paused = "paused"  # saved, to resume later
    discarded = "discarded"  # quit and deleted



@dataclass
class Outcome:
    ending: Ending
    ref: str | None
    result: Result | None = None
    summary: summary_mod.Summary | None = None



def minutes(questions: int) -> int:
    return max(1, round(questions * SECONDS_PER_QUESTION / 60))



def to_go(left: tuple[int, int]) -> str:
    """`12 questions to go`, or `12 to 20 questions to go` while skip logic may still cut some."""
    fewest, most = left
    if most <= 1:
        return tr("last question")
    return f"{most} questions to go" if fewest == most else f"{fewest} to {most} questions to go"



def progress_mark(position: int, left: tuple[int, int]) -> str:
    """`[3/41–57]`: this question's number, and how many there will be in all."""
    fewest, most = (position - 1 + n for n in left)
    return f"[{position}/{most}]" if fewest == most else f"[{position}/{fewest}–{most}]"



def red_flags_to_show(rulebase: RuleBase, answers: Mapping[str, Any], result: Result,
                      shown: set[str], *, settled_only: bool = True) -> list[str]:
    """The red flags to interrupt with now: not shown yet, and (with `settled_only`) with every
    answer behind them already given, so that a question still to come (say, how old the baby
    was when weighed) cannot take the flag back a moment after it was shown."""
    pending = {q.id for q in interview.questions_to_ask(rulebase, answers) if q.id not in answers}
    out = []
    for code in result.red_flags:
        if code in shown:
            continue
        if settled_only and pending:
            behind = {a for ex in result.explanations if f"red_flag:{code}" in ex.concludes
                      for f in ex.evidence for a in rulebase.answers_behind(f)}
            if behind & pending:
                continue
        out.append(code)
    return out




# ------------------------------------------------------------------ saving the summary

def save_format(path: Path) -> OutputFormat:
    """The format the file's extension names (present/formats.py); SaveFormatError if none."""
    found = formats.for_path(path)
    if found is None:
        raise SaveFormatError(path)
    return found


def render_file(path: Path, rulebase: RuleBase, result: Result) -> str:
    """The summary in the format the file's extension names."""
    return save_format(path).summary(rulebase, result)


def save_summary(path: Path, rulebase: RuleBase, result: Result) -> Path:
    text = render_file(path, rulebase, result)
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise ScreenError(tr("{path}: could not write the summary ({reason})").format(path=path, reason=exc.strerror or exc)) from exc
    return path



# ------------------------------------------------------------------ a screening in progress

@dataclass
class Screening:
    """One screening in progress: the answers, the order they were given (for Back), the red
    flags already shown, and where it is saved."""

    rulebase: RuleBase
    store: Store
    ref: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    shown_flags: set[str] = field(default_factory=set)
    defaults: dict[str, Any] = field(default_factory=dict)  # earlier answers, offered again after Back

    def save(self, field_id: str, value: Any) -> None:
        if self.ref is None:
            self.ref = self._create()
        self.store.set_answer(self.ref, field_id, value)
        self.answers[field_id] = value
        if field_id in self.history:
            self.history.remove(field_id)
        self.history.append(field_id)
        self.defaults.pop(field_id, None)

    def _create(self) -> str:
        """A new screening under a fresh code; drawn again if the day's codes already hold it."""
        while True:
            ref = new_ref("screen")
            try:
                self.store.create(ref, kind="screen", rulebase=self.rulebase)
            except DuplicateRefError:
                continue
            return ref

    def back(self) -> str | None:
        """Forget the last answer (kept as the default when it is asked again)."""
        if not self.history:
            return None
        field_id = self.history.pop()
        self.defaults[field_id] = self.answers.pop(field_id, None)
        if self.ref is not None:
            self.store.clear_answer(self.ref, field_id)
        return field_id

    def drop_invalid_answers(self) -> list[str]:
        """Forget saved answers the rule base no longer accepts (it changed since they were
        given), so their questions are asked again. Returns their field ids."""
        stale = []
        for field_id, value in list(self.answers.items()):
            if field_id not in self.rulebase.questions:
                continue  # a question that is gone: kept, and never used
            if value is None:
                continue
            try:
                parse_intake(self.rulebase, {field_id: value})
            except IntakeError:
                stale.append(field_id)
                del self.answers[field_id]
                self.history.remove(field_id)
                self.store.clear_answer(self.ref, field_id)
        return stale

    def result(self) -> Result:
        return evaluate(self.rulebase, interview.relevant_answers(self.rulebase, self.answers))

    def new_red_flags(self, result: Result, *, settled_only: bool = True) -> list[str]:
        new = red_flags_to_show(self.rulebase, self.answers, result, self.shown_flags,
                                settled_only=settled_only)
        self.shown_flags.update(new)
        return new



def urgency_text(rulebase: RuleBase, result: Result) -> str:
    """How soon to get help, in the rule base's words for parents."""
    return rulebase.codes.urgencies[result.urgency].parent



# ------------------------------------------------------------------ replay from a file

def load_answers(path: Path) -> dict[str, Any]:
    """Answers from a YAML or JSON file: a mapping of field -> value, or a golden case with an
    `intake:` mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AnswersFileError(path, f"cannot read it ({exc.strerror or exc})") from exc
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml
            data = yaml.safe_load(text)
    except (ValueError, Exception) as exc:  # yaml.YAMLError and json errors: not an answers file
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise AnswersFileError(path, f"not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: "
                                     f"{str(exc).splitlines()[0]}") from exc
    if isinstance(data, Mapping) and isinstance(data.get("intake"), Mapping):
        data = data["intake"]
    if not isinstance(data, Mapping):
        raise AnswersFileError(path, "expected a mapping of question ids to answers")
    # YAML reads an unquoted yes/no (or true/false) as a boolean: it is the yes/no answer.
    return {k: ("yes" if v is True else "no" if v is False else v) for k, v in data.items()}


@dataclass
class Replay:
    answers: dict[str, Any]  # as the interview would have recorded them (None = not given)
    result: Result
    red_flags_shown: list[list[str]]  # the interrupts, in order
    not_asked: list[str]  # answers in the file that the interview would not ask
    warnings: list[str]


def replay(rulebase: RuleBase, raw: Mapping[str, Any],
           on_red_flags: Callable[[Result, list[str]], None] | None = None) -> Replay:
    """Walk the interview with answers from a file: each question the flow would ask gets the
    file's answer (or none), and red flags interrupt (`on_red_flags`) as they appear. Raises
    IntakeError for bad values (every bad field listed)."""
    intake = parse_intake(rulebase, raw)
    given = intake.answers
    answers: dict[str, Any] = {}
    shown: set[str] = set()
    interrupts: list[list[str]] = []
    while (question := interview.next_question(rulebase, answers)) is not None:
        value = given.get(question.id)
        # the validated intake holds "none of these" as []; the interview records it as chosen
        answers[question.id] = [NONE_OF_THESE] if value == [] else value
        if question.id not in given:
            continue
        result = evaluate(rulebase, interview.relevant_answers(rulebase, answers))
        new = red_flags_to_show(rulebase, answers, result, shown)
        if new:
            shown.update(new)
            interrupts.append(new)
            if on_red_flags is not None:
                on_red_flags(result, new)
    result = evaluate(rulebase, {**interview.relevant_answers(rulebase, answers),
                                 **({"id": intake.id} if intake.id else {})})
    last = red_flags_to_show(rulebase, answers, result, shown, settled_only=False)
    if last:  # behind answers the file left out: they interrupt at the end
        interrupts.append(last)
        if on_red_flags is not None:
            on_red_flags(result, last)
    if result.status != "scored":  # cannot happen with validated answers; never print a half result
        raise IntakeError([FieldError(e.field, None, e.message) for e in result.errors])
    not_asked = [f for f in given if f not in answers]
    return Replay(answers, result, interrupts, not_asked, intake.warnings)


