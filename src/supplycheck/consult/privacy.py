"""Notes must not identify the client: spot what looks like a phone number, an e-mail address or
a date of birth, so the consultant can be warned before the note is saved. Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

DetailKind = Literal["phone", "email", "date_of_birth"]

_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
# A full date: 12/03/2024, 12.3.24, 2024-03-12, 12 March 2024, March 12, 2024.
DATE = re.compile(
    r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})"
    r"|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?,?\s+\d{{2,4}}"
    rf"|(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})\b",
    re.IGNORECASE)
# Words that announce a date of birth, even without a recognisable date after them.
DOB_WORDS = re.compile(r"\b(?:d\.?\s?o\.?\s?b\.?|date\s+of\s+birth|born\s+on|birthday)\b", re.IGNORECASE)
# Seven or more digits, possibly grouped with spaces, dots, dashes or brackets, maybe a leading +.
PHONE = re.compile(r"(?<![\w.])\+?\(?\d[\d\s().-]{5,}\d(?![\w])")


@dataclass(frozen=True)
class IdentifyingDetail:
    kind: DetailKind
    text: str  # the part of the note that looks identifying

    @property
    def description(self) -> str:
        return {"phone": "a phone number", "email": "an e-mail address",
                "date_of_birth": "a date of birth"}[self.kind]


def identifying_details(text: str) -> list[IdentifyingDetail]:
    """What in `text` looks like a phone number, an e-mail address or a date of birth.

    Clinical numbers (3400 g, 8-12 feeds, 38.5 °C) are not flagged: a phone number needs seven
    digits or more, and a date needs a day, a month and a year.
    """
    found: list[IdentifyingDetail] = []
    taken: list[tuple[int, int]] = []

    def add(kind: DetailKind, m: re.Match[str]) -> None:
        if any(m.start() < end and start < m.end() for start, end in taken):
            return
        taken.append(m.span())
        found.append(IdentifyingDetail(kind, m.group(0).strip()))

    for m in EMAIL.finditer(text):
        add("email", m)
    for m in DATE.finditer(text):
        add("date_of_birth", m)
    for m in DOB_WORDS.finditer(text):
        add("date_of_birth", m)
    for m in PHONE.finditer(text):
        if sum(c.isdigit() for c in m.group(0)) >= 7:
            add("phone", m)
    order = {"phone": 0, "email": 1, "date_of_birth": 2}
    return sorted(found, key=lambda d: (order[d.kind], text.find(d.text)))


def warning_text(details: list[IdentifyingDetail]) -> str:
    """One sentence naming what was found, for the consultant."""
    by_kind: dict[str, list[str]] = {}
    for d in details:
        by_kind.setdefault(d.description, []).append(d.text)
    parts = [f"{what} ({', '.join(texts)})" for what, texts in by_kind.items()]
    listing = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
    return (f"This note looks like it holds {listing}. Notes are kept with the intake and go into "
            "letters: leave out anything that identifies the client.")
