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

Numbers are typed as text and read by small pure functions (`parse_weight_g`,
`parse_age_days`, `parse_duration`, `parse_number`), checked against the question's range.
"""

from __future__ import annotations

import math
import re
import shutil
import textwrap
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any, Literal

from ..i18n import Words, local_date_parts, normalise_number_text, tr
from ..rulebase.models import NONE_OF_THESE, UNSURE, FieldType, Question

Audience = Literal["parent", "clinical"]

MAX_WIDTH = 80

# The contract field that holds the baby's age now: only there does a date mean a date of birth.
DATE_OF_BIRTH_FIELDS = frozenset({"infant_age_days"})


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


class InputError(ValueError):
    """Typed text that cannot be used, with a message for the person who typed it."""

    def __init__(self, text: str, message: str):
        self.text = text
        self.message = message
        super().__init__(message)


# ------------------------------------------------------------------ words people type

NOT_SURE_WORDS = frozenset({
    "not sure", "unsure", "dont know", "don't know", "do not know", "no idea", "idk", "dk",
    "unknown", "n/a", "na", "skip", "?!",
    "no se", "no sé", "no lo se", "no lo sé", "no estoy segura", "no estoy seguro", "ns", "saltar",
    "desconocido", "desconocida"})
HELP_WORDS = frozenset({"?", "help", "h", "ayuda"})
BACK_WORDS = frozenset({"back", "b", "<", "go back", "volver", "atras", "atrás"})


def _word(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower().replace("’", "'"))


def is_not_sure(text: str) -> bool:
    return _word(text) in NOT_SURE_WORDS


# ------------------------------------------------------------------ unit parsing (pure)

GRAMS_PER = {"g": 1.0, "kg": 1000.0, "lb": 453.59237, "oz": 28.349523125}
_WEIGHT_UNITS = {
    "g": "g", "gr": "g", "gram": "g", "grams": "g", "gm": "g", "gms": "g",
    "kg": "kg", "kgs": "kg", "kilo": "kg", "kilos": "kg", "kilogram": "kg", "kilograms": "kg",
    "lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb",
    "oz": "oz", "ounce": "oz", "ounces": "oz",
    "gramo": "g", "gramos": "g", "libra": "lb", "libras": "lb", "onza": "oz", "onzas": "oz",
}
HOURS_PER = {"minute": 1 / 60, "hour": 1.0, "day": 24.0, "week": 168.0, "month": 24 * 30.4375,
             "year": 24 * 365.25}
_TIME_UNITS = {
    "m": "minute", "min": "minute", "mins": "minute", "minute": "minute", "minutes": "minute",
    "h": "hour", "hr": "hour", "hrs": "hour", "hour": "hour", "hours": "hour",
    "d": "day", "day": "day", "days": "day",
    "w": "week", "wk": "week", "wks": "week", "week": "week", "weeks": "week",
    "mo": "month", "mos": "month", "month": "month", "months": "month",
    "y": "year", "yr": "year", "yrs": "year", "year": "year", "years": "year",
    "minuto": "minute", "minutos": "minute", "hora": "hour", "horas": "hour", "dia": "day",
    "dias": "day", "semana": "week", "semanas": "week", "mes": "month", "meses": "month",
    "ano": "year", "anos": "year",
}
_UNIT_OF_QUESTION = {"hours": "hour", "days": "day", "weeks": "week"}

_NUMBER = r"\d+(?:\.\d+)?|\.\d+"
_TOKEN = re.compile(rf"\s*({_NUMBER})\s*([a-z]+)?\s*(?:,|and|y)?\s*")
_ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")


def _normalise_number_text(text: str) -> str:
    return normalise_number_text(_word(text))  # 3,400 -> 3400 and 3,4 kg -> 3.4 kg (in English)


def _tokens(text: str) -> list[tuple[float, str | None]] | None:
    """`7 lb 8 oz` -> [(7, 'lb'), (8, 'oz')]; None when the text is not number-unit pairs."""
    s = _normalise_number_text(text)
    out: list[tuple[float, str | None]] = []
    pos = 0
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m or m.end() == pos:
            return None
        out.append((float(m.group(1)), m.group(2)))
        pos = m.end()
    return out or None


def parse_weight_g(text: str) -> float:
    """A weight in grams from `3400`, `3400 g`, `3.4 kg`, `7 lb 8 oz`, `7lb8oz`, `7 lb 8`,
    `7.5 lb` or `120 oz`. A bare number is grams. Raises InputError."""
    tokens = _tokens(text)
    bad = InputError(text, tr("I couldn't read that weight. Try, for example, 3400 g, 3.4 kg or 7 lb 8 oz."))
    if not tokens:
        raise bad
    units: list[str] = []
    for i, (_, unit) in enumerate(tokens):
        if unit is None:
            # a bare number after pounds means ounces ("7 lb 8"); alone it means grams
            if i == 0 and len(tokens) == 1:
                units.append("g")
            elif i > 0 and units[-1] == "lb" and i == len(tokens) - 1:
                units.append("oz")
            else:
                raise bad
        elif unit in _WEIGHT_UNITS:
            units.append(_WEIGHT_UNITS[unit])
        else:
            raise bad
    if len(units) > 1 and units not in (["lb", "oz"], ["kg", "g"]):
        raise bad
    return sum(n * GRAMS_PER[u] for (n, _), u in zip(tokens, units))


def parse_duration(text: str, unit: str) -> float:
    """A duration in `unit` (hour, day, week, ...) from `3`, `3 hours`, `90 min`, `2 h 30 min`,
    `3 days`, `2 weeks 3 days`, or a gestation like `38+4` (weeks + days). A bare number is in
    `unit`. Raises InputError."""
    s = _word(text)
    m = re.fullmatch(r"(\d+)\s*\+\s*(\d)", s)  # 38+4: weeks and days, as in birth notes
    if m:
        hours = int(m.group(1)) * HOURS_PER["week"] + int(m.group(2)) * HOURS_PER["day"]
        return hours / HOURS_PER[unit]
    tokens = _tokens(s)
    if not tokens:
        raise InputError(text, tr("I couldn't read that. Type a number of {units}, for example 3 or 3 {units}.").format(units=tr(unit + "s")))
    hours = 0.0
    for i, (number, word) in enumerate(tokens):
        if word is None:
            if len(tokens) > 1:
                raise InputError(text, tr("Please put a unit after each number, for example 2 weeks 3 days."))
            name = unit
        elif word in _TIME_UNITS:
            name = _TIME_UNITS[word]
        else:
            raise InputError(text, tr("I don't know the unit '{word}'. Try, for example, 3 {units}.").format(word=word, units=tr(unit + "s")))
        hours += number * HOURS_PER[name]
    return hours / HOURS_PER[unit]


def parse_age_days(text: str, today: date, *, allow_date: bool = True) -> float:
    """An age in days from `5`, `5 days`, `3 weeks`, `3 weeks 2 days`, `2 months`, or (with
    `allow_date`) a date of birth such as `2026-11-20` or `born 2026-11-20`, counted to `today`.
    Raises InputError."""
    s = re.sub(r"^(born|born on|dob|date of birth|birthday)\s*:?\s*", "", _word(text))
    m = _ISO_DATE.match(s)
    parts = (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else local_date_parts(s)
    if parts:
        if not allow_date:
            raise InputError(text, tr("Please type an age, for example 10 days or 3 weeks, not a date."))
        try:
            born = date(*parts)
        except ValueError:
            raise InputError(text, tr("That date doesn't exist. Please type it as year-month-day, for example 2026-11-20.")) from None
        if born > today:
            raise InputError(text, tr("That date is in the future. Please type the date of birth as year-month-day."))
        return float((today - born).days)
    return parse_duration(s, "day")


def parse_number(question: Question, text: str, *, today: date | None = None) -> int | float:
    """The typed answer to a numeric question, in the question's unit, checked against its
    range. Raises InputError with a message for the person."""
    if not question.is_numeric:
        raise ValueError(f"{question.id} is not a numeric question")
    if not text.strip():
        raise InputError(text, tr("Please type a number, or 'not sure'."))
    unit = question.unit
    s = _word(text)
    if unit == "g":
        value = parse_weight_g(s)
    elif unit == "days":
        value = parse_age_days(s, today or date.today(), allow_date=question.id in DATE_OF_BIRTH_FIELDS)
    elif unit in _UNIT_OF_QUESTION:
        value = parse_duration(s, _UNIT_OF_QUESTION[unit])
    else:
        tokens = _tokens(s)
        if not tokens or len(tokens) != 1 or (tokens[0][1] and not unit.startswith(tokens[0][1])):
            raise InputError(text, tr("Please type just a number, for example 8."))
        value = tokens[0][0]
    bare = re.fullmatch(_NUMBER, _normalise_number_text(s)) is not None
    typed = value
    if question.type is FieldType.integer:
        if bare and not float(value).is_integer():
            raise InputError(text, tr("Please type a whole number."))
        # a converted duration counts completed units (10 days -> 1 week; 38+4 -> 38 weeks)
        value = int(math.floor(value + 1e-9)) if unit in ("days", "weeks", "hours") else int(round(value))
    elif unit == "g":
        value = int(round(value))
    else:
        value = round(value, 2)
        if float(value).is_integer():
            value = int(value)
    _check_range(question, value, typed, text, bare)
    return value


def _check_range(question: Question, value: float, typed: float, text: str, bare: bool) -> None:
    lo, hi = question.min, question.max
    if (lo is None or value >= lo) and (hi is None or value <= hi):
        return
    shown = f"{_fmt(typed)} {tr(question.unit)}".strip()
    limits = tr("from {lo} to {hi}").format(lo=_fmt(lo), hi=f"{_fmt(hi)} {tr(question.unit)}".strip())
    hint = ""
    if question.unit == "g" and bare and lo is not None and typed < lo and typed * 1000 >= lo:
        hint = " " + tr("Did you mean {n} kg? Type the unit, for example {n} kg.").format(n=_fmt(typed))
    raise InputError(text, tr("{shown} is outside what this question takes ({limits}).").format(shown=shown, limits=limits) + hint)


def _fmt(x: float | None) -> str:
    if x is None:
        return "any"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def format_number(question: Question, value: int | float) -> str:
    """A stored number as text to edit (the default when going back)."""
    return f"{_fmt(value)} {tr(question.unit)}".strip() if question.unit in ("g", "days", "weeks", "hours") else _fmt(value)


# ------------------------------------------------------------------ what the prompts show

LABELS: dict[Audience, dict[str, str]] = Words({
    "parent": {"yes": "Yes", "no": "No", "unsure": "Not sure", "none": "None of these",
               "help": "What does this mean?", "back": "← Go back"},
    "clinical": {"yes": "Yes", "no": "No", "unsure": "Not sure", "none": "None",
                 "help": "Help", "back": "← Back"},
})

_HELP, _BACK, _QUIT, _UNSURE, _NONE = "\0help", "\0back", "\0quit", "\0unsure", NONE_OF_THESE
_CHOOSE = "\0choose"  # the line the cursor starts on: not an answer
CHOOSE_LABEL = "(↑ ↓ to choose an answer, then Enter)"

# Units as words, for the hints under number questions ("grams, 400–6500")
UNIT_WORDS = {"g": "grams", "days": "days", "weeks": "weeks", "hours": "hours"}


def unsure_value(question: Question) -> str | None:
    """What "not sure" is stored as: `unsure` where the field accepts it, else None."""
    return UNSURE if UNSURE in question.values else None


def question_text(question: Question, audience: Audience) -> str:
    if audience == "clinical":
        return f"{question.clinical} [{question.id}]"
    return question.parent


def number_hint(question: Question, audience: Audience) -> str:
    """How to type a number for this question."""
    unit = question.unit
    if audience == "clinical":
        return f"{tr(UNIT_WORDS.get(unit, unit))}, {_fmt(question.min)}–{_fmt(question.max)}".strip(", ")
    if unit == "g":
        return tr("for example 3400 g, 3.4 kg or 7 lb 8 oz")
    if unit == "days" and question.id in DATE_OF_BIRTH_FIELDS:
        return tr("for example 10 days, 3 weeks, or the date of birth as 2026-11-20")
    if unit == "days":
        return tr("for example 10 days or 3 weeks")
    if unit == "weeks" and question.min and question.min > 1:
        return tr("for example 39, or 36+5 from your notes")
    if unit == "weeks":
        return tr("a number of weeks, for example 3")
    if unit == "hours":
        return tr("a number of hours, for example 3 or 2.5")
    return tr("a number, for example 6") if unit.startswith("per ") else tr("a number")


def _choices(question: Question, audience: Audience) -> list[tuple[str, str]]:
    """(value, label) for a select: the options, with one "not sure" answer always present."""
    words = LABELS[audience]
    if question.type in (FieldType.yes_no, FieldType.yes_no_unsure):
        items = [("yes", words["yes"]), ("no", words["no"])]
    else:
        items = [(o.value, getattr(o, audience)) for o in question.options]
    if not any(v == UNSURE for v, _ in items):
        items.append((UNSURE if UNSURE in question.values else _UNSURE, words["unsure"]))
    return items


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

    items = _choices(question, audience)
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
    return None if raw == _UNSURE else raw


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
                Choice(words["unsure"], value=_UNSURE)]

    def validate(values: list[str]) -> bool | str:
        if not values:
            return tr("Tick at least one, or '{none}' or '{unsure}'.").format(none=words['none'], unsure=words['unsure'])
        special = [v for v in values if v in (_NONE, _UNSURE)]
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
    if raw == [_UNSURE]:
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
        w = _word(text)
        if w in HELP_WORDS or is_not_sure(text) or (allow_back and w in BACK_WORDS):
            return None
        try:
            parse_number(question, text, today=today)
        except InputError as exc:
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
    w = _word(raw)
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
