"""What could identify a person, for every channel: column names that announce identifying data
(batch refuses them), and values that look like a phone number, an e-mail address or a date of
birth (consultant notes get a warning; batch never echoes them). Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

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


# ----------------------------------------------------------------------------- column names

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^0-9a-zA-Z]+")

# (kind, whole tokens, substrings of the name without separators). Matched against the
# normalised column name; a field the rule base knows is never identifying.
_IDENTIFYING: tuple[tuple[str, frozenset[str], tuple[str, ...]], ...] = (
    ("name", frozenset({"name", "names", "initials", "nickname", "username"}),
     ("firstname", "lastname", "surname", "forename", "fullname", "givenname", "familyname",
      "maidenname", "middlename", "mothersname", "babysname", "patientname")),
    ("email", frozenset({"email", "mail", "emails"}), ("email", "emailaddress")),
    ("phone", frozenset({"phone", "tel", "telephone", "mobile", "cellphone", "fax", "phones"}),
     ("phone", "telephone", "mobileno", "mobilenumber", "contactnumber", "contactno")),
    ("address", frozenset({"address", "addr", "street", "addresses"}),
     ("address", "streetname", "housenumber", "addressline")),
    ("postcode", frozenset({"zip", "postcode", "postal", "eircode", "zipcode"}),
     ("postcode", "postalcode", "zipcode")),
    ("date of birth", frozenset({"dob", "birthday", "birthdate"}),
     ("dateofbirth", "birthdate", "birthday", "datebirth")),
    ("health-service or record number",
     frozenset({"nhs", "chi", "mrn", "ssn", "nino", "nhi", "urn", "ohip", "medicare", "medicaid",
                "passport", "hcn", "upi"}),
     ("nhsnumber", "nhsno", "healthnumber", "healthcard", "healthservice", "healthid",
      "insurancenumber", "insuranceno", "socialsecurity", "medicalrecord", "recordnumber",
      "recordno", "hospitalnumber", "hospitalno", "hospitalid", "patientid", "patientnumber",
      "patientno", "casenumber", "chartnumber", "nationalid", "nationalinsurance", "mrn")),
    ("free text", frozenset({"note", "notes", "comment", "comments", "remark", "remarks", "text",
                             "memo", "narrative", "description", "details", "freetext"}),
     ("freetext", "comment", "notes", "remarks", "narrative")),
)


def normalise_column(name: str) -> str:
    """`Infant Age (days)` -> `infant_age_days`, `DateOfBirth` -> `date_of_birth`."""
    return _NON_WORD.sub("_", _CAMEL.sub("_", name.strip())).strip("_").lower()


def identifying_kind(column: str) -> str | None:
    """What kind of identifying data a column name suggests (`name`, `email`, ...), or None."""
    norm = normalise_column(column)
    tokens = set(norm.split("_"))
    compact = norm.replace("_", "")
    for kind, whole, parts in _IDENTIFYING:
        if tokens & whole or compact in whole or any(p in compact for p in parts):
            return kind
    return None


# ----------------------------------------------------------------------------- values

# Seven digits or more, however grouped: a phone, date or record number.
_MANY_DIGITS = re.compile(r"(?:\d\D{0,2}){7}")
MAX_SHOWN_VALUE = 40  # longer values are never echoed (they may be free text)


def value_may_identify(value: Any) -> bool:
    """Whether a bad value must not be echoed in an error message: long text, or something
    that looks like an e-mail address, phone number, date or record number."""
    text = value if isinstance(value, str) else repr(value)
    return (len(text) > MAX_SHOWN_VALUE or "@" in text or _MANY_DIGITS.search(text) is not None
            or bool(identifying_details(text)))
