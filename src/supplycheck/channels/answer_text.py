"""What typed answers mean, and what a question offers: pure functions, no terminal.

Numbers are typed as text and read by `parse_weight_g`, `parse_age_days`, `parse_duration` and
`parse_number`, checked against the question's range; text that cannot be used raises
`UnreadableAnswer` with a message for the person. The words people type for "not sure", help
and back are here too, and the choices, labels and hints each question shows. The prompts that
use them are in `channels/ask.py`.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Literal

from ..i18n import Words, local_date_parts, normalise_number_text, tr
from ..rulebase.models import UNSURE, FieldType, Question

Audience = Literal["parent", "clinical"]

# The contract field that holds the baby's age now: only there does a date mean a date of birth.
DATE_OF_BIRTH_FIELDS = frozenset({"infant_age_days"})

# The "not sure" choice in a field that has no `unsure` value: stored as None (asked, not known).
UNSURE_CHOICE = "\0unsure"


class UnreadableAnswer(ValueError):
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


def normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower().replace("’", "'"))


def is_not_sure(text: str) -> bool:
    return normalised(text) in NOT_SURE_WORDS


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
    return normalise_number_text(normalised(text))  # 3,400 -> 3400 and 3,4 kg -> 3.4 kg (in English)


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
    `7.5 lb` or `120 oz`. A bare number is grams. Raises UnreadableAnswer."""
    tokens = _tokens(text)
    bad = UnreadableAnswer(text, tr("I couldn't read that weight. Try, for example, 3400 g, 3.4 kg or 7 lb 8 oz."))
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
    `unit`. Raises UnreadableAnswer."""
    s = normalised(text)
    m = re.fullmatch(r"(\d+)\s*\+\s*(\d)", s)  # 38+4: weeks and days, as in birth notes
    if m:
        hours = int(m.group(1)) * HOURS_PER["week"] + int(m.group(2)) * HOURS_PER["day"]
        return hours / HOURS_PER[unit]
    tokens = _tokens(s)
    if not tokens:
        raise UnreadableAnswer(text, tr("I couldn't read that. Type a number of {units}, for example 3 or 3 {units}.").format(units=tr(unit + "s")))
    hours = 0.0
    for i, (number, word) in enumerate(tokens):
        if word is None:
            if len(tokens) > 1:
                raise UnreadableAnswer(text, tr("Please put a unit after each number, for example 2 weeks 3 days."))
            name = unit
        elif word in _TIME_UNITS:
            name = _TIME_UNITS[word]
        else:
            raise UnreadableAnswer(text, tr("I don't know the unit '{word}'. Try, for example, 3 {units}.").format(word=word, units=tr(unit + "s")))
        hours += number * HOURS_PER[name]
    return hours / HOURS_PER[unit]


def parse_age_days(text: str, today: date, *, allow_date: bool = True) -> float:
    """An age in days from `5`, `5 days`, `3 weeks`, `3 weeks 2 days`, `2 months`, or (with
    `allow_date`) a date of birth such as `2026-11-20` or `born 2026-11-20`, counted to `today`.
    Raises UnreadableAnswer."""
    s = re.sub(r"^(born|born on|dob|date of birth|birthday)\s*:?\s*", "", normalised(text))
    m = _ISO_DATE.match(s)
    parts = (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else local_date_parts(s)
    if parts:
        if not allow_date:
            raise UnreadableAnswer(text, tr("Please type an age, for example 10 days or 3 weeks, not a date."))
        try:
            born = date(*parts)
        except ValueError:
            raise UnreadableAnswer(text, tr("That date doesn't exist. Please type it as year-month-day, for example 2026-11-20.")) from None
        if born > today:
            raise UnreadableAnswer(text, tr("That date is in the future. Please type the date of birth as year-month-day."))
        return float((today - born).days)
    return parse_duration(s, "day")


def parse_number(question: Question, text: str, *, today: date | None = None) -> int | float:
    """The typed answer to a numeric question, in the question's unit, checked against its
    range. Raises UnreadableAnswer with a message for the person."""
    if not question.is_numeric:
        raise ValueError(f"{question.id} is not a numeric question")
    if not text.strip():
        raise UnreadableAnswer(text, tr("Please type a number, or 'not sure'."))
    unit = question.unit
    s = normalised(text)
    if unit == "g":
        value = parse_weight_g(s)
    elif unit == "days":
        value = parse_age_days(s, today or date.today(), allow_date=question.id in DATE_OF_BIRTH_FIELDS)
    elif unit in _UNIT_OF_QUESTION:
        value = parse_duration(s, _UNIT_OF_QUESTION[unit])
    else:
        tokens = _tokens(s)
        if not tokens or len(tokens) != 1 or (tokens[0][1] and not unit.startswith(tokens[0][1])):
            raise UnreadableAnswer(text, tr("Please type just a number, for example 8."))
        value = tokens[0][0]
    bare = re.fullmatch(_NUMBER, _normalise_number_text(s)) is not None
    typed = value
    if question.type is FieldType.integer:
        if bare and not float(value).is_integer():
            raise UnreadableAnswer(text, tr("Please type a whole number."))
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
    raise UnreadableAnswer(text, tr("{shown} is outside what this question takes ({limits}).").format(shown=shown, limits=limits) + hint)


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


def choices_of(question: Question, audience: Audience) -> list[tuple[str, str]]:
    """(value, label) for a select: the options, with one "not sure" answer always present."""
    words = LABELS[audience]
    if question.type in (FieldType.yes_no, FieldType.yes_no_unsure):
        items = [("yes", words["yes"]), ("no", words["no"])]
    else:
        items = [(o.value, getattr(o, audience)) for o in question.options]
    if not any(v == UNSURE for v, _ in items):
        items.append((UNSURE if UNSURE in question.values else UNSURE_CHOICE, words["unsure"]))
    return items
