"""What could identify a person, for every channel (the one home of these checks):

- column names that announce identifying data (`identifying_kind`; batch refuses them),
- values that are identifying whatever their column (`value_kind`, `id_kind`; batch refuses a
  file holding one, the consultant's reference codes refuse them),
- identifying details inside free text (`identifying_details`; consultant notes get a warning).

Kinds found by value: e-mail addresses, phone numbers, NHS numbers (by their mod-11 check
digit), US social-security and record-number-like numbers, UK postcodes, US ZIP codes, full
dates (a possible date of birth), and, for `id` and unknown columns, names or free text.
Clinical numbers (3400 g, 8-12 feeds, 38.5 °C) are not flagged. Pure functions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable, Literal

from .errors import SupplycheckError

DetailKind = Literal["phone", "email", "date_of_birth", "nhs_number", "record_number", "postcode",
                     "zip_code", "name"]

DESCRIPTIONS: dict[str, str] = {
    "phone": "a phone number", "email": "an e-mail address", "date_of_birth": "a date of birth",
    "nhs_number": "an NHS number", "record_number": "a social-security or record number",
    "postcode": "a postcode", "zip_code": "a ZIP code", "name": "a name or free text",
}


class PrivacyError(SupplycheckError):
    """Input refused because it holds, or may hold, identifying data (never the value itself)."""


_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
# A full date: 12/03/2024, 12.3.24, 2024-03-12, 20240312 (whole value), 12 March 2024, March 12, 2024.
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
# Ten digits, maybe grouped 3-3-4: an NHS number when its check digit is right.
NHS = re.compile(r"(?<![\w.])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\w])")
SSN = re.compile(r"(?<![\w.-])\d{3}-\d{2}-\d{4}(?![\w-])")
# A record number announced as such (MRN 1234567, hospital no. A123456, CHI: 0101011234).
RECORD = re.compile(r"\b(?:mrn|nhs|ssn|chi|urn|nhi|hospital|patient|record|case|chart)\s*"
                    r"(?:no\.?|num(?:ber)?|id|#)?\s*[:#]?\s*[a-z]{0,3}\d{5,}\b", re.IGNORECASE)
# UK postcodes; without the space only as a whole value (AB12CD inside a code is left alone).
POSTCODE_SPACED = re.compile(r"\b(?:GIR 0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? \d[ABD-HJLNP-UW-Z]{2})\b",
                             re.IGNORECASE)
POSTCODE_WHOLE = re.compile(r"(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})",
                            re.IGNORECASE)
# US ZIP codes: ZIP+4 anywhere; five digits after a state's two capitals (IL 62704); five
# digits alone as a whole value (not for numeric fields and ids, where they are counts).
ZIP_PLUS4 = re.compile(r"(?<![\w-])\d{5}-\d{4}(?![\w-])")
ZIP_AFTER_STATE = re.compile(r"\b[A-Z]{2},?\s+\d{5}(?:-\d{4})?\b")
ZIP_WHOLE = re.compile(r"\d{5}(?:-\d{4})?")
# Eight to twenty digits in a row: a record, insurance or health-service number (a longer run
# identifies no one: it is garbage, reported as a bad value).
LONG_NUMBER = re.compile(r"(?<![\d.])\d{8,20}(?![\d.])")
# Two or more words of letters: a name or free text (in an `id` or an unknown column).
WORDS = re.compile(r"[^\W\d_]{2,}[.,']?\s+[^\W\d_]{2,}")
# Values taken as plain without a closer look (one regular expression, over a whole row at
# once). Codes and small numbers: a code, a snake_case code with two digits at most
# (`fewer_stools_after_6_weeks`, `high_dose_b6`), a number of up to four digits and two
# decimals (555.1234 is a phone); the full check finds nothing in these (a property test).
_PLAIN_CODE = (r"[A-Za-z_;]*|-?\d{1,4}(?:\.\d{1,2})?"
               r"|(?!(?:[^\d\x1f]*\d){3})[a-z]+(?:_[a-z0-9]+)+")
# And by policy, ids: a counter or short id, a word and up to seven digits (`site-0000042`),
# and a UUID, random by construction (ODK's `uuid:...` instance ids, Kobo's `_uuid`, FHIR
# resource ids): the full check would read their digit runs as a phone or record number.
_SHORT_ID = r"[A-Za-z]{0,12}[-_]?\d{1,7}"
_UUID = r"(?:urn:)?(?:uuid:)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_PLAIN_TEXT = f"{_PLAIN_CODE}|{_SHORT_ID}|{_UUID}"
_PLAIN = re.compile(_PLAIN_TEXT)


def _plain_cell(text: str) -> bool:
    """Whether one alternative of the shortcut fits `text` whole; the answer is remembered (a
    file's cells are mostly the same few codes)."""
    plain = _plain_seen.get(text)
    if plain is None:
        if len(_plain_seen) >= _PLAIN_SEEN_SIZE:
            _plain_seen.clear()
        plain = _plain_seen[text] = _PLAIN.fullmatch(text) is not None
    return plain


_plain_seen: dict[str, bool] = {}  # text -> plain, for _plain_cell
_PLAIN_SEEN_SIZE = 10_000  # texts remembered before starting again (ids are new in every record)


def all_plain(cells: list[str]) -> bool:
    """Whether no cell of a row can hold identifying data (then none needs checking)."""
    return all(map(_plain_cell, cells))


def plain_values(values: Iterable[Any]) -> bool:
    """Whether no value of a record (text, numbers, lists of text) can hold identifying data,
    each cell as in `all_plain`. False when any value needs a closer look (then each is checked
    with `value_kind`)."""
    for value in values:  # exact types (called for every record): anything else is looked at closely
        kind = type(value)
        if kind is str:
            if not _plain_cell(value):
                return False
        elif value is None or kind is bool:
            continue
        elif kind is int:
            if not -10_000 < value < 10_000 and not _plain_cell(repr(value)):  # within, it fits `-?\d{1,4}`
                return False
        elif kind is float:
            if not _plain_cell(repr(value)):
                return False
        elif kind is list:
            for item in value:
                if type(item) is not str or not _plain_cell(item):
                    return False
        else:
            return False
    return True


def nhs_check_digit_ok(digits: str) -> bool:
    """The NHS number's mod-11 check: weights 10..2 on the first nine digits."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


@dataclass(frozen=True)
class IdentifyingDetail:
    kind: DetailKind
    text: str  # the part of the text that looks identifying

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.kind]


def identifying_details(text: str) -> list[IdentifyingDetail]:
    """What in `text` looks like an e-mail address, a phone, NHS, social-security or record
    number, a postcode or ZIP code, or a date of birth.

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
    for m in NHS.finditer(text):
        if nhs_check_digit_ok("".join(m.groups())):
            add("nhs_number", m)
    for m in SSN.finditer(text):
        add("record_number", m)
    for m in RECORD.finditer(text):
        add("record_number", m)
    for m in DATE.finditer(text):
        add("date_of_birth", m)
    for m in DOB_WORDS.finditer(text):
        add("date_of_birth", m)
    for m in ZIP_PLUS4.finditer(text):
        add("zip_code", m)
    for m in ZIP_AFTER_STATE.finditer(text):
        add("zip_code", m)
    for m in POSTCODE_SPACED.finditer(text):
        add("postcode", m)
    for m in PHONE.finditer(text):
        if 7 <= sum(c.isdigit() for c in m.group(0)) <= 15:  # E.164: at most 15 digits
            add("phone", m)
    for m in LONG_NUMBER.finditer(text):
        add("record_number", m)
    order = list(DESCRIPTIONS)
    return sorted(found, key=lambda d: (order.index(d.kind), text.find(d.text)))


def warning_text(details: list[IdentifyingDetail]) -> str:
    """One sentence naming what was found, for the consultant."""
    by_kind: dict[str, list[str]] = {}
    for d in details:
        by_kind.setdefault(d.description, []).append(d.text)
    parts = [f"{what} ({', '.join(texts)})" for what, texts in by_kind.items()]
    listing = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
    return (f"This note looks like it holds {listing}. Notes are kept with the intake and go into "
            "letters: leave out anything that identifies the client.")


# ----------------------------------------------------------------------------- values


def value_kind(value: Any, *, strict: bool = False, numeric: bool = False) -> str | None:
    """The kind of identifying data one cell holds (`email`, `nhs_number`, ...), or None.

    `strict` (for `id` and columns that are not intake fields): names and free text (two words
    of letters or more) count too. `numeric` (a number field): a bare number of up to seven
    digits is a count, never a ZIP code. In `id`, a bare number of up to seven digits is a
    counter (1 ... 9999999), so a ZIP code alone is not recognised there; eight digits or more
    are refused as a possible record number.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        text = repr(value)
        if numeric or len(text) < 8:
            return None
    elif isinstance(value, str):
        text = value
    elif isinstance(value, (list, tuple)):
        for item in value:
            if (kind := value_kind(item, strict=strict, numeric=numeric)) is not None:
                return kind
        return None
    elif isinstance(value, dict):
        for key, item in value.items():
            if (kind := value_kind(key, strict=strict) or value_kind(item, strict=strict)) is not None:
                return kind
        return None
    else:
        text = str(value)
    text = text.strip()
    if not text or _PLAIN.fullmatch(text):
        return None
    return text_kind(text, strict=strict, numeric=numeric)


def text_kind(text: str, *, strict: bool = False, numeric: bool = False) -> str | None:
    """`value_kind` of stripped text, every check made (no shortcut for plain values)."""
    details = identifying_details(text)
    if details:
        return details[0].kind
    if POSTCODE_WHOLE.fullmatch(text):
        return "postcode"
    if not numeric and not strict and ZIP_WHOLE.fullmatch(text):
        return "zip_code"
    if strict and ZIP_WHOLE.fullmatch(text) and "-" in text:
        return "zip_code"
    if strict and WORDS.search(text):
        return "name"
    return None


MAX_ID_LENGTH = 64


def id_problem(value: Any) -> str | None:
    """Why an `id` cannot be echoed as the opaque identifier the contract asks for, or None:
    not text or a whole number, too long, with control characters, or not valid Unicode. (Identifying ids are
    found by `value_kind(value, strict=True)` and refuse the whole file.)"""
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return None
    if not isinstance(value, str):
        return "not text or a whole number"
    if len(value) > MAX_ID_LENGTH:
        return f"longer than {MAX_ID_LENGTH} characters"
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
        return "text with control characters (line breaks, escape codes)"
    if any("\ud800" <= c <= "\udfff" for c in value):  # from a JSON escape: no file can hold it as text
        return "not valid Unicode text (a lone surrogate)"
    return None


# Seven digits or more, however grouped: a phone, date or record number.
_MANY_DIGITS = re.compile(r"(?:\d\D{0,2}){7}")
MAX_SHOWN_VALUE = 40  # longer values are never echoed (they may be free text)


def value_may_identify(value: Any) -> bool:
    """Whether a bad value must not be echoed in an error message: long text, or something
    that looks like an e-mail address, phone number, date or record number."""
    text = value if isinstance(value, str) else repr(value)
    return (len(text) > MAX_SHOWN_VALUE or "@" in text or _MANY_DIGITS.search(text) is not None
            or value_kind(text, strict=True) is not None)


# ----------------------------------------------------------------------------- column names

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^0-9a-zA-Z]+")

# Latin look-alikes from other scripts (Cyrillic, Greek, ...): `nаme` with a Cyrillic `а` is
# `name`. NFKC already folds full-width and compatibility forms (`ｎａｍｅ`).
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "һ": "h", "ո": "n", "ɑ": "a", "ɡ": "g", "ı": "i",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w",
    "Α": "A", "Β": "B", "Ε": "E", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ζ": "Z",
})


def fold(name: str) -> str:
    """A name as plain Latin letters: NFKC, look-alikes from other scripts folded, accents and
    invisible characters (zero-width spaces, soft hyphens) removed."""
    text = unicodedata.normalize("NFKC", name).translate(_CONFUSABLES)
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if unicodedata.category(c) not in ("Mn", "Cf", "Cc"))


def normalise_column(name: str) -> str:
    """`Infant Age (days)` -> `infant_age_days`, `DateOfBirth` -> `date_of_birth`,
    `ｎａｍｅ` and `nаme` (Cyrillic а) -> `name`."""
    return _NON_WORD.sub("_", _CAMEL.sub("_", fold(name).strip())).strip("_").lower()


# (kind, whole tokens, substrings of the name without separators). Matched against the
# normalised column name; a field the rule base knows is never identifying.
_IDENTIFYING: tuple[tuple[str, frozenset[str], tuple[str, ...]], ...] = (
    ("name", frozenset({"name", "names", "initials", "nickname", "username", "mother",
                        "mum", "mom", "father", "dad", "parent", "guardian", "client", "signature"}),
     ("firstname", "lastname", "surname", "forename", "fullname", "givenname", "familyname",
      "maidenname", "middlename", "mothersname", "babysname", "patientname", "babyname", "nextofkin")),
    ("email", frozenset({"email", "mail", "emails"}), ("email", "emailaddress")),
    ("phone", frozenset({"phone", "tel", "telephone", "mobile", "cellphone", "fax", "phones", "cell"}),
     ("phone", "telephone", "mobileno", "mobilenumber", "contactnumber", "contactno", "whatsapp")),
    ("address", frozenset({"address", "addr", "street", "addresses", "city", "town", "village",
                           "county", "suburb", "locality", "house", "flat", "apartment", "residence",
                           "latitude", "longitude", "lat", "lon", "lng", "gps", "geo", "ip"}),
     ("address", "streetname", "housenumber", "addressline", "addr", "homeaddress", "coordinates",
      "geolocation", "ipaddress")),
    ("postcode", frozenset({"zip", "postcode", "postal", "eircode", "zipcode"}),
     ("postcode", "postalcode", "zipcode")),
    ("date of birth", frozenset({"dob", "birthday", "birthdate", "date", "dates", "born", "deliverydate",
                                 "dod", "edd", "admitted", "discharged"}),
     ("dateofbirth", "birthdate", "birthday", "datebirth", "deliverydate", "dateofdelivery",
      "admissiondate", "dischargedate", "visitdate", "duedate")),
    ("health-service or record number",
     frozenset({"nhs", "chi", "mrn", "ssn", "nino", "nhi", "urn", "ohip", "medicare", "medicaid",
                "passport", "hcn", "upi", "insurance", "sin", "licence", "license", "patient"}),
     ("nhsnumber", "nhsno", "nhsnum", "healthnumber", "healthcard", "healthservice", "healthid",
      "insurance", "socialsecurity", "medicalrecord", "recordnumber", "recordno", "hospitalnumber",
      "hospitalno", "hospitalid", "patientid", "patientnumber", "patientno", "patientnum",
      "casenumber", "chartnumber", "nationalid", "nationalinsurance", "mrn", "idnumber", "idno",
      "idnum", "ssn", "passport", "drivinglicen", "driverslicen", "taxid", "memberid")),
    ("free text", frozenset({"note", "notes", "comment", "comments", "remark", "remarks", "text",
                             "memo", "narrative", "description", "details", "freetext", "other",
                             "specify", "message"}),
     ("freetext", "comment", "notes", "remarks", "narrative", "othertext", "pleasespecify")),
)


def identifying_kind(column: str) -> str | None:
    """What kind of identifying data a column name suggests (`name`, `email`, ...), or None.
    The name is folded first (see `normalise_column`), so look-alike letters do not hide it."""
    norm = normalise_column(column)
    tokens = set(norm.split("_"))
    compact = norm.replace("_", "")
    for kind, whole, parts in _IDENTIFYING:
        if tokens & whole or compact in whole or any(p in compact for p in parts):
            return kind
    return None
