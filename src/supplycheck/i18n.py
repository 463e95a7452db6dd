"""The interface's own words in the person's language, and numbers and dates as they write them.

The rule base's text is translated by overlays (`rulebase/locales.py`). What the Python code
itself says (prompts, buttons, headings, error messages) is looked up here: `tr("Not sure")`
returns the English as given, or its entry in the catalogue `locale/<lang>.yaml` (a plain
mapping, English -> translation; `{name}` placeholders are kept). The English string is the key,
as in gettext, so code reads naturally and a missing entry falls back to English.

The language is chosen once per command (`--lang`, else LC_ALL / LC_MESSAGES / LANG, else
English) and held in a context variable; `using(lang)` switches it for a block (a letter in
another language). Numbers and dates go through Babel with the same language.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator, Mapping

from .errors import SupplycheckError

SOURCE = "en"
CATALOGUE_DIR = Path(__file__).parent / "locale"
ENV_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")

_language: ContextVar[str] = ContextVar("supplycheck_language", default=SOURCE)


def current() -> str:
    return _language.get()


def set_language(lang: str | None) -> None:
    _language.set(lang or SOURCE)


@contextmanager
def using(lang: str | None) -> Iterator[None]:
    token = _language.set(lang or SOURCE)
    try:
        yield
    finally:
        _language.reset(token)


@functools.lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """The interface strings of `lang` (empty for English or a language without a catalogue)."""
    path = CATALOGUE_DIR / f"{lang}.yaml"
    if lang == SOURCE or not path.is_file():
        return {}
    import yaml

    data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return {str(k): str(v) for k, v in (data or {}).items() if v}


def languages() -> list[str]:
    """English and every language with an interface catalogue."""
    return [SOURCE, *sorted(p.stem for p in CATALOGUE_DIR.glob("*.yaml"))]


def tr(text: str) -> str:
    """`text` (English) in the current language."""
    lang = _language.get()
    if lang == SOURCE:
        return text
    return catalogue(lang).get(text, text)


class Words(dict):
    """A table of interface words whose values are translated when read."""

    def __getitem__(self, key: Any) -> Any:
        value = super().__getitem__(key)
        return Words(value) if isinstance(value, dict) else tr(value) if isinstance(value, str) else value

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default


# ------------------------------------------------------------------ choosing the language

def language_tag(value: str | None) -> str | None:
    """`es_ES.UTF-8` -> `es_ES`; None for empty, C and POSIX."""
    if not value:
        return None
    tag = value.split(".", 1)[0].split("@", 1)[0].replace("-", "_")
    return None if tag in ("", "C", "POSIX") else tag


def choose_language(explicit: str | None, available: list[str],
                    environ: Mapping[str, str] | None = None) -> str:
    """`explicit` (from --lang) when given, else the first of LC_ALL, LC_MESSAGES, LANG that
    names an available language, else English. An explicit language that is not available is
    an error (LanguageError); the environment's is only a preference."""
    if explicit:
        found = _match(language_tag(explicit), available)
        if found is None:
            raise LanguageError(explicit, available)
        return found
    env = os.environ if environ is None else environ
    for name in ENV_VARIABLES:
        if env.get(name):  # the first one set decides, as in POSIX (LC_ALL=C means English)
            return _match(language_tag(env[name]), available) or SOURCE
    return SOURCE


def _match(tag: str | None, available: list[str]) -> str | None:
    if not tag:
        return None
    for candidate in (tag, tag.split("_", 1)[0]):
        for lang in available:
            if lang.lower() == candidate.lower():
                return lang
    return None


class LanguageError(SupplycheckError):
    def __init__(self, given: str, available: list[str]):
        self.given = given
        self.available = available
        super().__init__(f"--lang: {given!r} is not available; choose one of: {', '.join(available)}")


# ------------------------------------------------------------------ numbers and dates (Babel)

def _babel_locale() -> str:
    return _language.get()


def normalise_number_text(text: str) -> str:
    """Typed numbers in the language's way -> Python's: thousands separators dropped, the
    decimal separator made a point ("3,3" is 3.3 in Spanish, "3.400" is 3400); a lone comma is
    read as a decimal point in every language. Accents are dropped so unit words match."""
    from babel.numbers import get_decimal_symbol, get_group_symbol

    lang = _babel_locale()
    group, decimal = get_group_symbol(lang), get_decimal_symbol(lang)
    s = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    s = re.sub(rf"(\d){re.escape(group)}(\d{{3}})(?!\d)", r"\1\2", s)
    if decimal != ".":
        s = s.replace(decimal, ".")
    return s.replace(",", ".")


_LOCAL_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def local_date_parts(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) of a date typed the language's way ("20/11/2026" in Spanish: day
    first, as Babel's short date pattern says). None for other text, and in English, whose
    countries disagree on the order (there, dates are typed year-month-day)."""
    lang = _babel_locale()
    m = _LOCAL_DATE.match(text.strip())
    if lang == SOURCE or not m:
        return None
    from babel.dates import get_date_format

    pattern = get_date_format("short", locale=lang).pattern.lower()
    first, second, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    return (year, second, first) if pattern.index("d") < pattern.index("m") else (year, first, second)


def format_number(value: float, *, digits: int = 1) -> str:
    """A number as the language writes it, with at most `digits` decimals and no thousands
    separator (a weight reads 3400 g, or 12500 g, in every language: typed back, it parses)."""
    from babel.numbers import format_decimal

    pattern = "0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_babel_locale())


def format_date(day: date | datetime, *, style: str = "long") -> str:
    """A date as the language writes it ("2 de diciembre de 2026", "2 December 2026")."""
    from babel.dates import format_date as babel_date

    if _babel_locale() == SOURCE and style == "long":
        return f"{day.day} {day:%B %Y}"  # British order, as the English letter always had
    return babel_date(day, format=style, locale=_babel_locale())


def format_datetime(moment: datetime) -> str:
    """A local date and time, short ("2 Dec 2026, 14:05" / "2 dic 2026, 14:05")."""
    from babel.dates import format_datetime as babel_datetime

    if _babel_locale() == SOURCE:
        return moment.strftime("%d %b %Y, %H:%M")
    return babel_datetime(moment, format="d MMM y, HH:mm", locale=_babel_locale())
