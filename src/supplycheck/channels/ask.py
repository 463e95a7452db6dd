"""Ask one rule-base question in the terminal and return the typed answer.

Shared by the parents' screening (`audience="parent"`) and the consultants' intake
(`audience="clinical"`: clinical wording, with the field id shown). No interview flow here:
`ask` asks one question and says what the person did (answered, went back, or wants to quit);
the caller decides what happens next.

Every question can be answered "not sure": the answer is `unsure` where the field accepts it,
else None (asked, not known). Help is shown on request (`?`, or a "What does this mean?"
choice), and `←` (or a "Go back" choice, or typing `back`) asks to return to the previous
question. Ctrl-C, Ctrl-Q and Ctrl-D ask to quit; `on_interrupt` is the one answer to that, for
every prompt of both channels (save and quit, keep going, or delete).

No clinical question has a default answer: without an earlier answer the cursor starts on a line
that is not an answer, and Enter does nothing there, so every answer is an explicit choice.

What typed text means (numbers with units, "not sure", help, back) is read by the pure
functions of `channels/answer_text.py`; this module only asks.
"""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any

from ..i18n import Words, tr
from ..rulebase.models import NONE_OF_THESE, FieldType, Question
from .answer_text import (
    BACK_WORDS, HELP_WORDS, LABELS, UNSURE_CHOICE, Audience, UnreadableAnswer, choices_of, format_number,
    is_not_sure, normalised, number_hint, parse_number, question_text,
)

MAX_WIDTH = 80


class Action(str, Enum):
    answer = "answer"
    back = "back"
    quit = "quit"


@dataclass(frozen=True)
class Answer:
    """What the person did: gave a value (None = not sure, no `unsure` in this field), asked to
    go back, or asked to quit."""

    action: Action
    value: Any = None

    @classmethod
    def given(cls, value: Any) -> "Answer":
        return cls(Action.answer, value)

    @classmethod
    def back(cls) -> "Answer":
        return cls(Action.back)

    @classmethod
    def quit(cls) -> "Answer":
        return cls(Action.quit)


_HELP, _BACK, _QUIT, _NONE = "\0help", "\0back", "\0quit", NONE_OF_THESE
_CHOOSE = "\0choose"  # the line the cursor starts on: not an answer
CHOOSE_LABEL = "(↑ ↓ to choose an answer, then Enter)"

# ------------------------------------------------------------------ the prompt


def ask(rulebase: Any, question: Question, *, audience: Audience = "parent", default: Any = None,
        allow_back: bool = True, qmark: str = "?", today: date | None = None,
        input: Any = None, output: Any = None) -> Answer:
    """Ask `question` until there is a usable answer; return what the person did.

    `default` pre-selects a previous answer (when going back). `input`/`output` are passed to
    prompt_toolkit (tests use a pipe input and DummyOutput). `rulebase` is the loaded rule base
    the question belongs to (kept for callers that ask about derived context).
    """
    del rulebase  # the question carries everything shown; kept in the signature for callers
    share_default_key_bindings()
    show_help = False
    width = _width(output)
    while True:
        # prompt_toolkit does not wrap the lines above the input line: wrap them here
        indent = " " * (len(qmark) + 1)
        message = textwrap.fill(question_text(question, audience), width - 1, initial_indent=indent,
                                subsequent_indent=indent)[len(indent):]
        if show_help and question.help:
            message += "\n" + textwrap.fill(question.help.strip(), width - 1, initial_indent=indent,
                                            subsequent_indent=indent) + "\n" + indent.rstrip()
        last = len(message.rsplit("\n", 1)[-1]) + (len(qmark) + 1 if "\n" not in message else 0)
        try:
            if question.is_numeric:
                raw = _ask_number(question, message, audience, default, allow_back, qmark, today,
                                  width, input, output)
            elif question.type is FieldType.multi:
                raw = _ask_multi(question, message, audience, default, allow_back, qmark,
                                 _fit(last, width, _instruction(audience, "multi", allow_back, bool(question.help))),
                                 input, output)
            else:
                raw = _ask_select(question, message, audience, default, allow_back, qmark,
                                  _fit(last, width, _instruction(audience, "select", allow_back, bool(question.help))),
                                  input, output)
        except (KeyboardInterrupt, EOFError):
            return Answer.quit()
        if raw == _HELP:
            show_help = True
            continue
        if raw == _BACK:
            if allow_back:
                return Answer.back()
            continue
        if raw == _QUIT:
            return Answer.quit()
        return Answer.given(raw)


def _keys(allow_back: bool, *, typing: bool = False, check: Any = None) -> Any:
    """Extra keys: ? for help (in a text prompt, only as the first character), ← to go back
    (list prompts), Ctrl-D to quit (in a text prompt, only when nothing is typed). In a list,
    Enter does nothing on the line that is not an answer. In a text prompt, `check(text)`
    returns a message when the text cannot be used: Enter then shows the message and clears
    the text, so that the next try starts afresh."""
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.key_binding import KeyBindings

    kb = KeyBindings()
    nothing_typed = Condition(lambda: not typing or not _current_text())

    @kb.add("?", eager=True, filter=nothing_typed)
    def _help(event: Any) -> None:
        event.app.erase_when_done = True  # the question is asked again, with its help
        event.app.exit(result=_HELP)

    if allow_back and not typing:
        @kb.add("left", eager=True)
        def _back(event: Any) -> None:
            event.app.erase_when_done = True  # the previous question comes back instead
            event.app.exit(result=_BACK)

    @kb.add("c-d", eager=True, filter=nothing_typed)
    def _quit(event: Any) -> None:
        event.app.exit(result=_QUIT)

    if not typing:
        @kb.add("enter", eager=True, filter=Condition(_on_choose_line))
        def _not_an_answer(event: Any) -> None:
            pass  # no answer is chosen for anyone: the cursor must be moved to one

    if check is not None:
        @kb.add("enter", eager=True)
        def _enter(event: Any) -> None:
            from prompt_toolkit.validation import ValidationError

            buffer = event.current_buffer
            message = check(buffer.text)
            if message is None:
                buffer.validate_and_handle()
                return
            buffer.reset()  # the refused text goes: the next try does not read "abc3,5"
            buffer.validation_error = ValidationError(message=message)

    return kb


def _on_choose_line() -> bool:
    """Is the cursor of the running list prompt on the line that is not an answer?"""
    from prompt_toolkit.application import get_app

    for control in get_app().layout.find_all_controls():
        if hasattr(control, "get_pointed_at"):
            try:
                return control.get_pointed_at().value == _CHOOSE
            except IndexError:
                return False
    return False


def _current_text() -> str:
    from prompt_toolkit.application import get_app

    return get_app().current_buffer.text


_shared_bindings: list[Any] = []


def share_default_key_bindings() -> None:
    """Build prompt_toolkit's default key bindings once per process, not once per prompt.

    prompt_toolkit builds its default bindings (several hundred, emacs and vi) afresh for every
    Application, and questionary makes three Applications per question: about 12 ms each, most
    of the time between an answer and the next question. The bindings keep no state of their
    own (their filters and handlers look at the running application), so one shared set
    behaves the same, and its lookup cache stays warm from one question to the next.
    """
    if _shared_bindings:
        return
    import prompt_toolkit.application.application as pt_application
    from prompt_toolkit.key_binding.bindings.page_navigation import load_page_navigation_bindings
    from prompt_toolkit.key_binding.defaults import load_key_bindings

    defaults, paging = load_key_bindings(), load_page_navigation_bindings()
    _shared_bindings.extend([defaults, paging])
    pt_application.load_key_bindings = lambda: defaults  # type: ignore[attr-defined]
    pt_application.load_page_navigation_bindings = lambda: paging  # type: ignore[attr-defined]


def _run(prompt: Any, extra_keys: Any) -> Any:
    from prompt_toolkit.key_binding import merge_key_bindings

    app = prompt.application
    # the last binding for a key wins: ours come after the prompt's own
    app.key_bindings = merge_key_bindings([app.key_bindings, extra_keys]) if app.key_bindings else extra_keys
    return prompt.unsafe_ask()


def _width(output: Any) -> int:
    """Columns to wrap to: the terminal's, at most MAX_WIDTH."""
    try:
        columns = output.get_size().columns if output is not None else shutil.get_terminal_size().columns
    except (OSError, ValueError, AttributeError):  # no terminal size to be had: the default
        columns = MAX_WIDTH
    return max(30, min(columns or MAX_WIDTH, MAX_WIDTH))


def _fit(used: int, width: int, instruction: str) -> str:
    """The instruction after the question if it fits on its line, else on the next."""
    return instruction if used + 2 + len(instruction) < width else "\n  " + instruction


def _instruction(audience: Audience, kind: str, allow_back: bool, has_help: bool) -> str:
    parts = []
    if kind == "multi":
        parts.append(tr("Space to tick, Enter when done") if audience == "parent" else tr("Space toggles, Enter submits"))
    if has_help:
        parts.append(tr("? help"))
    if allow_back:
        parts.append(tr("← back"))
    return "(" + " · ".join(parts) + ")"


def _ask_select(question: Question, message: str, audience: Audience, default: Any,
                allow_back: bool, qmark: str, instruction: str, input: Any, output: Any) -> Any:
    import questionary
    from questionary import Choice, Separator

    items = choices_of(question, audience)
    choices: list[Any] = [Choice(label, value=value) for value, label in items]
    extras = []
    if question.help:
        extras.append(Choice(LABELS[audience]["help"], value=_HELP))
    if allow_back:
        extras.append(Choice(LABELS[audience]["back"], value=_BACK))
    if extras:
        choices += [Separator(" "), *extras]
    values = [v for v, _ in items]
    # No default answer: without an earlier one the cursor starts on a line that is not an
    # answer (Enter does nothing there), so a hurried Enter never records anything.
    if default in values:
        initial = default
    else:
        choices.insert(0, Choice(CHOOSE_LABEL, value=_CHOOSE))
        initial = _CHOOSE
    prompt = questionary.select(
        message, choices=choices, default=initial, qmark=qmark, use_jk_keys=False,
        instruction=instruction, input=input, output=output)
    raw = _run(prompt, _keys(allow_back))
    return None if raw == UNSURE_CHOICE else raw


def _ask_multi(question: Question, message: str, audience: Audience, default: Any,
               allow_back: bool, qmark: str, instruction: str, input: Any, output: Any) -> Any:
    import questionary
    from questionary import Choice, Separator

    words = LABELS[audience]
    ticked = set(default) if isinstance(default, (list, tuple)) else set()
    choices: list[Any] = [Choice(getattr(o, audience), value=o.value, checked=o.value in ticked)
                          for o in question.options]
    choices += [Separator(" "),
                Choice(words["none"], value=_NONE, checked=NONE_OF_THESE in ticked),
                Choice(words["unsure"], value=UNSURE_CHOICE)]

    def validate(values: list[str]) -> bool | str:
        if not values:
            return tr("Tick at least one, or '{none}' or '{unsure}'.").format(none=words['none'], unsure=words['unsure'])
        special = [v for v in values if v in (_NONE, UNSURE_CHOICE)]
        if special and len(values) > 1:
            label = words["none"] if _NONE in special else words["unsure"]
            return tr("'{label}' can't be ticked together with other answers.").format(label=label)
        return True

    prompt = questionary.checkbox(
        message, choices=choices, qmark=qmark, validate=validate, use_jk_keys=False,
        instruction=instruction, input=input, output=output)
    raw = _run(prompt, _keys(allow_back))
    if raw in (_HELP, _BACK, _QUIT):
        return raw
    if raw == [UNSURE_CHOICE]:
        return None
    if raw == [_NONE]:
        return [NONE_OF_THESE]
    return list(raw)


def _ask_number(question: Question, message: str, audience: Audience, default: Any,
                allow_back: bool, qmark: str, today: date | None, width: int, input: Any,
                output: Any) -> Any:
    import questionary

    words = LABELS[audience]
    hint = number_hint(question, audience)
    extras = [f"{words['unsure'].lower()}"]
    if question.help:
        extras.append(tr("? for help"))
    if allow_back:
        extras.append(tr("back"))
    # the hint on its own line, then the answer on the next: long questions stay readable
    line = textwrap.fill(f"{hint[0].upper()}{hint[1:]}. {tr('Or type:')} {' · '.join(extras)}", width - 1,
                         initial_indent="  ", subsequent_indent="  ")
    instruction = f"\n{line}\n  ›"

    def check(text: str) -> str | None:
        w = normalised(text)
        if w in HELP_WORDS or is_not_sure(text) or (allow_back and w in BACK_WORDS):
            return None
        try:
            parse_number(question, text, today=today)
        except UnreadableAnswer as exc:
            return f"{exc.message} (You typed: {text.strip()})" if text.strip() else exc.message
        return None

    start = format_number(question, default) if isinstance(default, (int, float)) else ""
    # No validator on the prompt: Enter checks (see `_keys`), so that a check running while
    # typing cannot replace the message about what was refused.
    prompt = questionary.text(message, default=start, qmark=qmark, instruction=instruction,
                              input=input, output=output)
    raw = _run(prompt, _keys(allow_back, typing=True, check=check))
    if raw in (_QUIT, _HELP):
        return raw
    w = normalised(raw)
    if w in HELP_WORDS:
        return _HELP
    if allow_back and w in BACK_WORDS:
        return _BACK
    if is_not_sure(raw):
        return None
    return parse_number(question, raw, today=today)


# ------------------------------------------------------------------ the flows' own prompts


def choose(message: str, choices: list[tuple[Any, str]], *, default: Any = None, search: bool = False,
           input: Any = None, output: Any = None) -> Any:
    """A plain list to pick from, for the flows' own questions (menus, "carry on?"): the value
    chosen, or None when the person pressed Ctrl-C, Ctrl-Q or Ctrl-D (see `on_interrupt`)."""
    import questionary
    from questionary import Choice

    share_default_key_bindings()
    items = [Choice(label, value=value) for value, label in choices]
    while True:
        prompt = questionary.select(
            message, choices=items, default=next((c for c in items if c.value == default), None),
            qmark="»", use_jk_keys=False, use_search_filter=search,
            instruction="(type to filter)" if search else " ", input=input, output=output)
        try:
            raw = _run(prompt, _keys(False))
        except (KeyboardInterrupt, EOFError):
            return None
        if raw == _QUIT:
            return None
        if raw != _HELP:  # no help here: `?` just asks again
            return raw


class Interrupted(str, Enum):
    """What the person wants after Ctrl-C (or Ctrl-D)."""

    pause = "pause"  # save and quit (every answer is already saved)
    resume = "continue"  # keep going where they were
    delete = "delete"  # quit and delete what was saved


INTERRUPT_WORDS: dict[Audience, dict[str, str]] = Words({
    "parent": {"title": "Paused: your answers so far are saved on this computer.",
               "pause": "Save and quit (continue later)", "continue": "Keep going",
               "delete": "Quit and delete my answers",
               "sure": "Delete all your answers? This cannot be undone.",
               "keep": "No, keep them", "yes": "Yes, delete them"},
    "clinical": {"title": "Paused: every answer so far is saved.",
                 "pause": "Save and quit (resume later)", "continue": "Keep going",
                 "delete": "Delete this intake",
                 "sure": "Delete this intake with its answers, notes and history? This cannot be undone.",
                 "keep": "No, keep it", "yes": "Yes, delete it"},
})


def print_formatted_text(text: str, *, output: Any = None) -> None:
    """One line above a prompt, through prompt_toolkit (so that tests' outputs get it too)."""
    from prompt_toolkit import print_formatted_text as pt_print

    pt_print(text, output=output)


def on_interrupt(audience: Audience, *, input: Any = None, output: Any = None) -> Interrupted:
    """The one answer to Ctrl-C (or Ctrl-D, Ctrl-Q) at any prompt of the screening or the
    intake: save and quit, keep going, or delete (asked twice). A second Ctrl-C here saves and
    quits: nothing is lost, since every answer is saved as it is given."""
    words = INTERRUPT_WORDS[audience]
    print_formatted_text(words["title"], output=output)
    choice = choose(tr("What now?"),
                    [(Interrupted.pause, words["pause"]), (Interrupted.resume, words["continue"]),
                     (Interrupted.delete, words["delete"])], input=input, output=output)
    if choice is None:
        return Interrupted.pause
    if choice is Interrupted.delete:
        sure = choose(words["sure"], [("keep", words["keep"]), ("delete", words["yes"])],
                      input=input, output=output)
        return Interrupted.delete if sure == "delete" else Interrupted.resume
    return choice
