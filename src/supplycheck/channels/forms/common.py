"""What every form export shares: the answer choices of a question, with the terminal's words."""

from __future__ import annotations

from ...rulebase.models import NONE_OF_THESE, FieldType, Question
from ..ask import LABELS


def choices(q: Question, audience: str = "parent") -> list[tuple[str, str]]:
    """(code, label) of every answer a form offers: the contract's values, with "none of these"
    for a many-answer question (ticked alone, it is the known-empty list)."""
    words = LABELS[audience]
    if q.type in (FieldType.yes_no, FieldType.yes_no_unsure):
        return [(v, words[v]) for v in q.values]
    items = [(o.value, getattr(o, audience)) for o in q.options]
    if q.type is FieldType.multi:
        items.append((NONE_OF_THESE, words["none"]))
    return items


def answer_label(q: Question, code: str) -> str | None:
    return dict(choices(q)).get(code)


def number_text(value: object) -> str:
    """A number as a form tool writes it: 3400, 2.5."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_number(text: str) -> object:
    """A form tool's number cell back as a number; left as text when it is not one (then the
    intake check reports it, naming the field)."""
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return text


def codes_of(value: object) -> list[str]:
    """A many-answer value as a list of codes, whether a list or CSV-style text (`a;b`, `none`)."""
    if isinstance(value, str):
        return [c.strip() for c in value.split(";") if c.strip()]
    return list(value or ())
