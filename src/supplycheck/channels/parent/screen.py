"""The parents' screening: welcome, the questions (adaptive, with Back), red-flag interrupts,
the summary, saving it; and the same flow replayed from a file of answers.

Everything clinical comes from the core: `interview` says which question is next,
`evaluate` decides, `summary.build` words the result, `render` lays it out. Every answer is
saved in the store the moment it is given, so a killed terminal loses at most the answer being
typed, and `resume` picks the screening up at the next question.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Mapping

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from ...core import interview
from ...i18n import format_datetime, tr
from ...present import summary as summary_mod
from ...storage.atomic import write_atomic
from ...storage.store import Store
from ..ask import Action, Interrupted, ask, choose, on_interrupt
from ...present.completeness import questions_left
from ...errors import FieldError, IntakeError, SupplycheckError
from ...core.evaluate import evaluate
from ...core.intake import parse_intake
from ...core.result import Result
from ...rulebase.loader import RuleBase
from ...rulebase.models import NONE_OF_THESE

SECONDS_PER_QUESTION = 8  # for the "about N minutes" in the welcome

SAVE_FORMATS = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
                ".json": "json"}


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
class Terminal:
    """Where the screening talks: a rich console for what it shows, and the prompt_toolkit
    input/output for its questions (None = the real terminal; tests pass a pipe)."""

    console: Console
    input: Any = None
    output: Any = None
    today: date | None = None
    command: str = "supplycheck screen"  # how this screening was started, with --db and --rules

    def prompt_kwargs(self) -> dict[str, Any]:
        return {"input": self.input, "output": self.output}


@dataclass
class Outcome:
    ending: Ending
    ref: str | None
    result: Result | None = None
    summary: summary_mod.Summary | None = None


# ------------------------------------------------------------------ what is shown

def _minutes(questions: int) -> int:
    return max(1, round(questions * SECONDS_PER_QUESTION / 60))


def welcome(rulebase: RuleBase) -> Panel:
    fewest, most = questions_left(rulebase, {})
    body = Text()
    body.append("Plain questions about your baby, feeding and you. At the end you get a "
                "short summary: whether what you see is usually normal, what may be affecting "
                "your milk supply, who to see and how soon.\n\n")
    body.append(f"Between {fewest} and {most} questions, depending on your answers (about "
                f"{_minutes(fewest)} to {_minutes(most)} minutes): questions that don't apply are "
                "skipped. Your answers stay on this computer: nothing is sent anywhere.\n\n")
    body.append(rulebase.meta.disclaimer.parent.strip(), style="bold")
    body.append("\n\n")
    body.append(tr("Keys: "), style="bold")
    body.append(tr("↑ ↓ and Enter to choose · ← to go back · ? to explain a question · "
                   "Ctrl-C to pause (your answers are kept)."))
    return Panel(body, title=Text(tr(" supplycheck: checking on your milk supply "), style="bold"),
                 title_align="left", padding=(0, 1))


def to_go(left: tuple[int, int]) -> str:
    """`12 questions to go`, or `12 to 20 questions to go` while skip logic may still cut some."""
    fewest, most = left
    if most <= 1:
        return tr("last question")
    return f"{most} questions to go" if fewest == most else f"{fewest} to {most} questions to go"


def section_header(progress: interview.Progress, left: tuple[int, int]) -> Rule:
    return Rule(Text.assemble((progress.section.title.parent, "bold"), ("  ·  " + to_go(left), "dim")),
                align="left")


def progress_mark(position: int, left: tuple[int, int]) -> str:
    """`[3/41–57]`: this question's number, and how many there will be in all."""
    fewest, most = (position - 1 + n for n in left)
    return f"[{position}/{most}]" if fewest == most else f"[{position}/{fewest}–{most}]"


def print_summary(rulebase: RuleBase, result: Result, term: Terminal) -> summary_mod.Summary:
    from ...render.terminal import summary_renderable

    built = summary_mod.build(rulebase, result, "parent")
    term.console.print()
    term.console.print(summary_renderable(built))
    return built


def show_red_flags(rulebase: RuleBase, result: Result, codes: list[str], console: Console) -> None:
    from ...render.terminal import red_flag_panel

    console.print()
    console.print(red_flag_panel(summary_mod.build(rulebase, result, "parent"), codes))


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

def render_file(path: Path, rulebase: RuleBase, result: Result) -> str:
    """The summary in the format the file's extension names."""
    kind = SAVE_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise SaveFormatError(path)
    if kind == "json":
        from ...render.result_json import to_json
        return to_json(result)
    built = summary_mod.build(rulebase, result, "parent")
    if kind == "html":
        from ...render.html import to_html
        return to_html(built)
    from ...render.markdown import to_markdown
    return to_markdown(built)


def save_summary(path: Path, rulebase: RuleBase, result: Result) -> Path:
    text = render_file(path, rulebase, result)
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise ScreenError(tr("{path}: could not write the summary ({reason})").format(path=path, reason=exc.strerror or exc)) from exc
    return path


# ------------------------------------------------------------------ the interactive flow

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
            from ...storage.store import new_ref
            self.ref = new_ref("screen")
            self.store.create(self.ref, kind="screen", rulebase=self.rulebase)
        self.store.set_answer(self.ref, field_id, value)
        self.answers[field_id] = value
        if field_id in self.history:
            self.history.remove(field_id)
        self.history.append(field_id)
        self.defaults.pop(field_id, None)

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


def _choose(message: str, choices: list[tuple[str, str]], term: Terminal, default: str | None = None) -> str | None:
    """A plain list prompt for the flow's own questions; None on Ctrl-C / Ctrl-D."""
    return choose(message, choices, default=default, **term.prompt_kwargs())


def open_screening(rulebase: RuleBase, store: Any, term: Terminal, *, resume: bool) -> Screening:
    """A new screening, or the most recent unfinished one (with `resume`, or when the person
    says so)."""
    latest = store.latest_unfinished("screen")
    if latest is not None and not resume:
        record = store.get(latest)
        when = _local_time(record.updated_at) if record else tr("earlier")
        choice = _choose(tr("You have an unfinished screening from {when}. Continue it?").format(when=when),
                         [("resume", tr("Yes, continue where I left off")), ("new", tr("No, start a new one"))], term)
        resume = choice != "new"
    if resume:
        if latest is None:
            term.console.print(Text(tr("There is no unfinished screening to continue in {path}, so let's start "
                                       "a new one. (A screening saved elsewhere needs the same --db FILE it "
                                       "was started with.)").format(path=store.path) + "\n"))
        else:
            screening = Screening(rulebase, store, latest, store.answers(latest), store.history(latest))
            stale = screening.drop_invalid_answers()
            if stale:
                term.console.print(Text(tr("{n} of your earlier answers no longer fit the questions "
                                           "(they have been updated since); those questions will be asked again.").format(n=len(stale)),
                                        style="dim"))
            n = len(screening.answers)
            term.console.print(Text(tr("Welcome back. Continuing your screening ({n} answers so far).").format(n=n),
                                    style="bold"))
            result = screening.result()
            flags = screening.new_red_flags(result, settled_only=False)
            if flags:  # a reminder: they may have stopped right after seeing it
                show_red_flags(rulebase, result, flags, term.console)
            return screening
    return Screening(rulebase, store)


def _local_time(iso: str) -> str:
    try:
        return format_datetime(datetime.fromisoformat(iso).astimezone())
    except ValueError:
        return iso


def run(rulebase: RuleBase, store: Any, term: Terminal, *, resume: bool = False) -> Outcome:
    """The interactive screening, from the welcome to the summary."""
    console = term.console
    console.print(welcome(rulebase))
    quiet_garbage_collector()
    screening = open_screening(rulebase, store, term, resume=resume)
    ending = Ending.finished
    section = None
    while True:
        question = interview.next_question(rulebase, screening.answers)
        if question is None:
            break
        progress = interview.progress(rulebase, screening.answers, question)
        left = questions_left(rulebase, screening.answers)
        if progress.section.id != section:
            section = progress.section.id
            console.print()
            console.print(section_header(progress, left))
        answer = ask(rulebase, interview.as_asked(rulebase, question, screening.answers), audience="parent", default=screening.defaults.get(question.id),
                     allow_back=bool(screening.history), qmark=progress_mark(len(screening.answers) + 1, left),
                     today=term.today, **term.prompt_kwargs())
        if answer.action is Action.back:
            screening.back()
            section = None  # show where we are again
            continue
        if answer.action is Action.quit:
            choice = _quit_choice(term, screening)
            if choice is Interrupted.resume:
                section = None
                continue
            if choice is Interrupted.delete:
                if screening.ref is not None:
                    store.delete(screening.ref)
                    console.print("\n" + tr("Your answers have been deleted. Take care."))
                else:
                    console.print("\n" + tr("Stopped before the first answer: nothing was saved. Take care."))
                return Outcome(Ending.discarded, None)
            _paused_message(term, screening)
            return Outcome(Ending.paused, screening.ref)
        screening.save(question.id, answer.value)
        result = screening.result()
        if result.status != "scored":
            continue
        flags = screening.new_red_flags(result)
        if flags:
            show_red_flags(rulebase, result, flags, console)
            if interview.next_question(rulebase, screening.answers) is None:
                break  # nothing left to ask: straight to the summary
            # Stopping is the default: after a red flag, what to do matters more than more questions.
            choice = _choose(tr("Carry on with the questions?"),
                             [("stop", tr("No, stop here and show my summary")),
                              ("continue", tr("Yes, carry on"))], term, default="stop")
            if choice is None:  # Ctrl-C: the same choice as at any question
                choice = {Interrupted.resume: "continue", Interrupted.delete: "delete"}.get(
                    _quit_choice(term, screening), "pause")
            if choice == "delete":
                store.delete(screening.ref)
                console.print("\nYour answers have been deleted. Take care.")
                return Outcome(Ending.discarded, None)
            if choice == "pause":
                _paused_message(term, screening)
                return Outcome(Ending.paused, screening.ref)
            if choice == "stop":
                ending = Ending.stopped
                break
            section = None
    result = screening.result()
    built = print_summary(rulebase, result, term)
    if screening.ref is not None:
        store.save_result(screening.ref, result)
        if ending is Ending.finished:
            store.finish(screening.ref)
    return Outcome(ending, screening.ref, result, built)


def quiet_garbage_collector() -> None:
    """Move what is loaded so far (the rule base, the libraries) out of the collector's sight:
    a full collection over it takes a tenth of a second, felt as a stall between questions.
    (No collection first: that would cost the same tenth of a second before the first question.)"""
    import gc

    gc.freeze()


def _quit_choice(term: Terminal, screening: Screening) -> Interrupted:
    """Ctrl-C: the one menu every prompt offers (nothing to save before the first answer)."""
    if not screening.answers:
        return Interrupted.delete
    term.console.print()
    return on_interrupt("parent", **term.prompt_kwargs())


def _paused_message(term: Terminal, screening: Screening) -> None:
    term.console.print(Text.assemble("\n" + tr("Saved. To continue later, run: "),
                                     (f"{term.command} --resume", "bold")))
    result = screening.result() if screening.answers else None
    if result is not None and result.status == "scored" and result.red_flags:
        # what to do and how soon, in the rule base's words: a pause must not bury it
        words = rulebase_urgency_text(screening.rulebase, result)
        term.console.print(Text.assemble((tr("Before you go: "), "bold"), words))


def rulebase_urgency_text(rulebase: RuleBase, result: Result) -> str:
    return rulebase.codes.urgencies[result.urgency].parent


def offer_to_save(rulebase: RuleBase, result: Result, term: Terminal) -> Path | None:
    """Ask whether to keep the summary as a file, and where."""
    import questionary

    kind = _choose(tr("Save this summary as a file?"),
                   [("", tr("No, thanks")), (".html", tr("Yes, as a web page to print (.html)")),
                    (".md", tr("Yes, as a text document (.md)")), (".json", tr("Yes, as data (.json)"))], term)
    if not kind:
        return None
    suggested = f"supplycheck-summary-{(term.today or date.today()).isoformat()}{kind}"
    while True:
        try:
            name = questionary.text(tr("Save as:"), default=suggested, qmark="»",
                                    **term.prompt_kwargs()).unsafe_ask()
        except (KeyboardInterrupt, EOFError):
            return None
        if not name or not name.strip():
            return None
        path = Path(name.strip()).expanduser()
        if not path.suffix:
            path = path.with_suffix(kind)
        try:
            save_summary(path, rulebase, result)
        except ScreenError as exc:
            term.console.print(Text(str(exc)))
            continue
        term.console.print(Text.assemble(tr("Saved the summary to "), (str(path), "bold"), "."))
        return path


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


def run_replay(rulebase: RuleBase, raw: Mapping[str, Any], console: Console) -> Replay:
    """Replay and print: the red-flag panels as they would interrupt, then the summary."""
    done = replay(rulebase, raw, lambda result, codes: show_red_flags(rulebase, result, codes, console))
    for warning in done.warnings:
        console.print(Text(tr("Note: {warning}").format(warning=warning), style="dim"))
    if done.not_asked:
        console.print(Text(tr("Note: not asked, given the other answers, so not used: ")
                           + ", ".join(done.not_asked), style="dim"))
    print_summary(rulebase, done.result, Terminal(console))
    return done
