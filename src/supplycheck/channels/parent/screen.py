"""The parents' screening in the terminal: welcome, the questions (adaptive, with Back),
red-flag interrupts, the summary, offering to save it; and a replay from a file of answers,
printed. The prompts and panels only: what the screening holds and decides (which red flag to
show, how many questions are left, the save format, the replay itself) is in `screening.py`,
and `resume` picks a screening up at the next question.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Mapping

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from ...core import interview
from ...i18n import tr
from ...present import summary as summary_mod
from ...present.text import local_datetime
from ..ask import Action, Interrupted, ask, choose, on_interrupt
from ...present.completeness import questions_left
from ...core.result import Result
from ...rulebase.loader import RuleBase
from ...storage.store import Store
from .screening import (
    Ending, Outcome, Replay, ScreenError, Screening, minutes, progress_mark, replay, save_summary,
    to_go, urgency_text,
)


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


# ------------------------------------------------------------------ what is shown

def welcome(rulebase: RuleBase) -> Panel:
    fewest, most = questions_left(rulebase, {})
    body = Text()
    body.append("Plain questions about your baby, feeding and you. At the end you get a "
                "short summary: whether what you see is usually normal, what may be affecting "
                "your milk supply, who to see and how soon.\n\n")
    body.append(f"Between {fewest} and {most} questions, depending on your answers (about "
                f"{minutes(fewest)} to {minutes(most)} minutes): questions that don't apply are "
                "skipped. Your answers stay on this computer: nothing is sent anywhere.\n\n")
    body.append(rulebase.meta.disclaimer.parent.strip(), style="bold")
    body.append("\n\n")
    body.append(tr("Keys: "), style="bold")
    body.append(tr("↑ ↓ and Enter to choose · ← to go back · ? to explain a question · "
                   "Ctrl-C to pause (your answers are kept)."))
    return Panel(body, title=Text(tr(" supplycheck: checking on your milk supply "), style="bold"),
                 title_align="left", padding=(0, 1))


def section_header(progress: interview.Progress, left: tuple[int, int]) -> Rule:
    return Rule(Text.assemble((progress.section.title.parent, "bold"), ("  ·  " + to_go(left), "dim")),
                align="left")


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


# ------------------------------------------------------------------ the interactive flow

def _choose(message: str, choices: list[tuple[str, str]], term: Terminal, default: str | None = None) -> str | None:
    """A plain list prompt for the flow's own questions; None on Ctrl-C / Ctrl-D."""
    return choose(message, choices, default=default, **term.prompt_kwargs())


def open_screening(rulebase: RuleBase, store: Store, term: Terminal, *, resume: bool) -> Screening:
    """A new screening, or the most recent unfinished one (with `resume`, or when the person
    says so)."""
    latest = store.latest_unfinished("screen")
    if latest is not None and not resume:
        record = store.get(latest)
        when = local_datetime(record.updated_at) if record else tr("earlier")
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


def run(rulebase: RuleBase, store: Store, term: Terminal, *, resume: bool = False) -> Outcome:
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
        words = urgency_text(screening.rulebase, result)
        term.console.print(Text.assemble((tr("Before you go: "), "bold"), words))


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
