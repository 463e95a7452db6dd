"""The consultant's guided intake in a terminal.

Questions come in interview order with clinical wording and field ids, one at a time, through
the shared question widget (`supplycheck.channels.ask`). Every answer is saved the moment it is given
and the findings panel is shown again when the findings change. `←` (or typing `back`) at any
question opens the intake menu: continue, the previous question, jump to a section, change any
answer, a note on a question or on the whole intake, the reasoning so far, finish, or save and
quit. Ctrl-C at any prompt offers the same choice as in the screening (`ask.on_interrupt`):
save and quit, keep going, or delete the intake. Finishing with questions still unasked is
confirmed first, and the intake then reads "finished early" wherever it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from rich.console import Console
from rich.text import Text

from ...i18n import tr
from ...core import interview
from ..ask import Action, Interrupted, ask, choose, on_interrupt
from ...core.result import Result
from ...rulebase.loader import RuleBase
from ...rulebase.models import Question
from ...storage.store import Store
from ...present.summary import answer_text
from . import records, views
from ...present.completeness import assess
from ...present.explain import explain
from ...privacy import identifying_details, warning_text


class Outcome(str, Enum):
    quit = "quit"  # saved, to be resumed
    finished = "finished"
    deleted = "deleted"


class _Menu(str, Enum):
    cont = "continue"
    previous = "previous"
    section = "section"
    change = "change"
    note = "note"
    intake_note = "intake_note"
    explain = "explain"
    finish = "finish"
    quit = "quit"


@dataclass
class Session:
    """One consultant working on one saved intake."""

    store: Store
    rulebase: RuleBase
    ref: str
    console: Console
    input: Any = None  # prompt_toolkit input/output (tests pass pipes; None = the terminal)
    output: Any = None
    command: str = "supplycheck intake"  # with the --db and --rules it was started with, for hints
    queue: list[str] = field(default_factory=list)  # questions to go through next (a section)
    current: str | None = None  # the question being asked or last asked
    result: Result | None = None
    _section: str | None = None

    # ------------------------------------------------------------------ running

    def run(self) -> Outcome:
        self.result = records.refresh(self.store, self.rulebase, self.ref)
        self._intro()
        while True:
            q = self._next_question()
            try:
                if q is None:
                    self.console.print(Text(tr("All questions that apply have been answered."), style="bold green"))
                    outcome = self._menu(finished_default=True)
                else:
                    outcome = self._ask(q)
            except _Stop as stop:
                return stop.outcome
            if outcome is not None:
                return outcome

    def _intro(self) -> None:
        record = self.store.require(self.ref)
        answers = self.store.answers(self.ref)
        self.console.print(Text.assemble(
            (tr("Intake") + " ", "bold"), (self.ref, "bold cyan"),
            " · " + tr("{n} answered · rule base {name} {version}").format(
                n=len(answers), name=self.rulebase.name, version=self.rulebase.version)
            + f" · {tr('finished') if record.finished else tr('open')}"))
        self.console.print(Text(tr("Saved as you go in {path}").format(path=self.store.path), style="dim"))
        self.console.print(Text("At any question: ← opens the menu (sections, changes, notes, "
                                "reasoning; at a number, typing 'back' does too); Ctrl-C pauses "
                                "(save and quit, keep going, or delete).", style="dim"))
        if answers:
            self._panel(force=True)

    def _answers(self) -> dict[str, Any]:
        return self.store.answers(self.ref)

    def _next_question(self) -> Question | None:
        answers = self._answers()
        known = interview.facts(self.rulebase, answers)
        while self.queue:
            qid = self.queue[0]
            q = self.rulebase.questions[qid]
            if interview.is_asked(self.rulebase, q, known):
                return q
            self.queue.pop(0)
        return interview.next_question(self.rulebase, answers)

    def _ask(self, q: Question) -> Outcome | None:
        answers = self._answers()
        self.current = q.id
        section = self.rulebase.section_of[q.id]
        if section.id != self._section:
            self._section = section.id
            self.console.rule(Text(section.title.clinical, style="bold"), align="left", style="dim")
        progress = interview.progress(self.rulebase, answers, q)
        answer = ask(self.rulebase, interview.as_asked(self.rulebase, q, answers), audience="clinical", default=answers.get(q.id),
                     allow_back=True, qmark=f"{progress.position}/{progress.total}",
                     input=self.input, output=self.output)
        if answer.action is Action.quit:
            return self._interrupted()
        if answer.action is Action.back:
            return self._menu()
        if self.queue and self.queue[0] == q.id:
            self.queue.pop(0)
        self._save(q.id, answer.value)
        return None

    def _save(self, field_id: str, value: Any) -> None:
        before = self.result
        self.store.set_answer(self.ref, field_id, value)
        self.result = records.refresh(self.store, self.rulebase, self.ref)
        self._panel(before=before)

    def _panel(self, *, before: Result | None = None, force: bool = False) -> None:
        assert self.result is not None
        changed = force or before is None or _findings(before) != _findings(self.result)
        if changed:
            answers = self._answers()
            done = assess(self.rulebase, answers, finished=self.store.require(self.ref).finished)
            self.console.print(views.findings_panel(
                self.rulebase, self.result, subtitle=f"{self.ref} · {len(answers)} answered · "
                                                     f"{len(done.not_asked)} to go", completeness=done))
        else:
            self.console.print(views.status_line(self.rulebase, self.result))

    def _quit(self) -> Outcome:
        self.console.print(Text.assemble(
            tr("Saved. Resume with: "), (f"{self.command} resume {self.ref}", "bold")))
        return Outcome.quit

    def _interrupted(self) -> Outcome | None:
        """Ctrl-C at any prompt: save and quit, keep going (None), or delete the intake."""
        choice = on_interrupt("clinical", input=self.input, output=self.output)
        if choice is Interrupted.resume:
            return None
        if choice is Interrupted.delete:
            self.store.delete(self.ref)
            self.console.print(f"Deleted intake {self.ref}.")
            return Outcome.deleted
        return self._quit()

    # ------------------------------------------------------------------ the menu

    def _select(self, message: str, choices: list[tuple[str, Any]], default: Any = None,
                search: bool = False) -> Any:
        """A list to pick from. Ctrl-C here is answered as at a question; "keep going" gives
        None (nothing chosen), the others end the session."""
        value = choose(message, [(value, label) for label, value in choices], default=default,
                       search=search, input=self.input, output=self.output)
        if value is None:
            self._stop_if_interrupted()
        return value

    def _stop_if_interrupted(self) -> None:
        outcome = self._interrupted()
        if outcome is not None:
            raise _Stop(outcome)

    def _menu(self, finished_default: bool = False) -> Outcome | None:
        """The intake menu; returns an outcome to stop, None to go on with the questions."""
        while True:
            answers = self._answers()
            nxt = self._next_question()
            prev = self._previous(answers)
            choices: list[tuple[str, Any]] = []
            if nxt is not None:
                choices.append((tr("Continue: {question}").format(question=nxt.clinical), _Menu.cont))
            if prev is not None:
                choices.append((tr("Previous question: {question}").format(question=self.rulebase.questions[prev].clinical),
                                _Menu.previous))
            choices += [
                (tr("Jump to a section…"), _Menu.section),
                (tr("Change an answer…"), _Menu.change),
                (tr("Note on a question…"), _Menu.note),
                (tr("Note on the whole intake"), _Menu.intake_note),
                (tr("Explain the findings so far"), _Menu.explain),
                (tr("Finish the intake"), _Menu.finish),
                (tr("Save and quit"), _Menu.quit),
            ]
            default = _Menu.finish if finished_default or nxt is None else _Menu.cont
            choice = self._select(f"{tr('Intake')} {self.ref}", choices, default)
            if choice is None:
                continue
            if choice is _Menu.quit:
                return self._quit()
            if choice is _Menu.cont:
                return None
            if choice is _Menu.previous and prev is not None:
                return self._revisit(prev)
            if choice is _Menu.section:
                if self._jump():
                    return None
            elif choice is _Menu.change:
                qid = self._pick_question(tr("Change which answer?"), answered_only=True)
                if qid:
                    return self._revisit(qid)
            elif choice is _Menu.note:
                qid = self._pick_question(tr("Note on which question?"), default=self.current)
                if qid:
                    self._note(qid, tr("Note on {question}").format(question=f"{self.rulebase.questions[qid].clinical} [{qid}]"))
            elif choice is _Menu.intake_note:
                self._note(None, tr("Note on intake {ref}").format(ref=self.ref))
            elif choice is _Menu.explain:
                assert self.result is not None
                self.console.print(views.explanation_view(explain(self.rulebase, self.result)))
            elif choice is _Menu.finish:
                if not self._confirm_finish(answers):
                    continue
                self.store.finish(self.ref, not_asked=len(assess(self.rulebase, answers).not_asked))
                self._panel(force=True)
                self.console.print(Text.assemble(
                    tr("Intake finished. A letter: "),
                    (f"supplycheck intake export {self.ref} --format html --to baby_doctor", "bold")))
                return Outcome.finished

    def _confirm_finish(self, answers: dict[str, Any]) -> bool:
        """Finishing with questions not asked: say what stays unknown, and ask."""
        done = assess(self.rulebase, answers)
        if done.complete:
            return True
        self.console.print(views.unknowns_view(self.rulebase, done, self.result))
        choice = self._select(
            f"{len(done.not_asked)} of {len(done.applicable)} questions that apply have not been "
            "asked. Finish anyway?",
            [("No, back to the questions", "back"),
             ("Yes, finish early (the intake and its letter will say so)", "finish")], "back")
        return choice == "finish"

    def _previous(self, answers: dict[str, Any]) -> str | None:
        """The question answered before the current one (first-answer order)."""
        history = [f for f in answers if f in self.rulebase.questions]
        if self.current in history:
            i = history.index(self.current)
            return history[i - 1] if i > 0 else None
        return history[-1] if history else None

    def _revisit(self, qid: str) -> Outcome | None:
        """Ask an answered question again (its answer pre-selected)."""
        return self._ask(self.rulebase.questions[qid])

    def _jump(self) -> bool:
        answers = self._answers()
        todo = {q.id for q in interview.questions_to_ask(self.rulebase, answers)}
        choices = []
        for s in self.rulebase.sections:
            applicable = [q for q in s.questions if q.id in todo]
            done = sum(1 for q in applicable if q.id in answers)
            choices.append((f"{s.title.clinical}  " + tr("({done}/{total} answered)").format(done=done, total=len(applicable)), s.id))
        current_section = self.rulebase.section_of[self.current].id if self.current else None
        sid = self._select(tr("Jump to which section?"), choices, current_section)
        if sid is None:
            return False
        section = next(s for s in self.rulebase.sections if s.id == sid)
        self.queue = [q.id for q in section.questions]
        self._section = None  # show the section heading again
        return True

    def _pick_question(self, message: str, *, answered_only: bool = False,
                       default: str | None = None) -> str | None:
        answers = self._answers()
        notes = self.store.notes(self.ref)
        todo = interview.questions_to_ask(self.rulebase, answers)
        choices = []
        for q in todo:
            if answered_only and q.id not in answers:
                continue
            shown = answer_text(self.rulebase, q.id, answers[q.id], "clinical") if q.id in answers else "—"
            mark = "  ✎" if q.id in notes else ""
            choices.append((f"{self.rulebase.section_of[q.id].title.clinical} · {q.clinical} "
                            f"[{q.id}]: {shown}{mark}", q.id))
        if not choices:
            self.console.print(Text(tr("No answers yet."), style="dim"))
            return None
        return self._select(message, choices, default, search=True)

    def _note(self, field_id: str | None, message: str) -> None:
        import questionary

        text = self.store.notes(self.ref).get(field_id, "")
        while True:
            try:
                text = questionary.text(message, default=text, qmark="✎",
                                        instruction=tr("(empty removes it)"),
                                        input=self.input, output=self.output).unsafe_ask()
            except (KeyboardInterrupt, EOFError):
                self._stop_if_interrupted()
                return
            details = identifying_details(text)
            if not details:
                break
            self.console.print(Text(warning_text(details), style="bold yellow"))
            what = self._select(tr("What now?"), [(tr("Edit the note"), "edit"), (tr("Save it anyway"), "save"),
                                                  (tr("Discard the change"), "discard")], "edit")
            if what == "save":
                break
            if what in ("discard", None):
                return
        if self.store.set_note(self.ref, field_id, text):
            self.console.print(Text(tr("Note saved.") if text.strip() else tr("Note removed."), style="green"))


class _Stop(Exception):
    """Ctrl-C at a prompt deep in the menu, answered with save-and-quit or delete."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome


def _findings(result: Result) -> dict[str, Any]:
    data = result.contract_dict()
    data.pop("id", None)
    data.pop("rulebase", None)
    return data


def run(store: Store, rulebase: RuleBase, ref: str, console: Console, **io: Any) -> Outcome:
    """Run the interview on a saved intake until the consultant quits or finishes."""
    return Session(store, rulebase, ref, console, **io).run()
